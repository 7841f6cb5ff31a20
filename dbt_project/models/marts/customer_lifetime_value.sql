-- Gold customer lifetime value: every customer, with the revenue of their orders so far and a
-- segment by revenue orders (0 prospect, 1 one_time, 2-4 repeat, 5+ loyal).
with

customers as (

    select * from {{ ref('stg_shop__customers') }}

),

orders as (

    select * from {{ ref('int_orders_totaled') }}

),

customer_orders as (

    select
        customer_id,
        min(ordered_at) as first_ordered_at,
        max(ordered_at) as last_ordered_at,
        count(*) as orders_count,
        count(*) filter (where is_revenue) as revenue_orders_count,
        sum(order_total) filter (where is_revenue) as lifetime_value
    from orders
    group by customer_id

),

final as (

    select
        customers.customer_id,
        customers.country_code,
        customers.created_at as customer_since,
        customer_orders.first_ordered_at,
        customer_orders.last_ordered_at,
        cast(coalesce(customer_orders.orders_count, 0) as bigint) as orders_count,
        cast(coalesce(customer_orders.revenue_orders_count, 0) as bigint) as revenue_orders_count,
        cast(coalesce(customer_orders.lifetime_value, 0) as decimal(18, 2)) as lifetime_value,
        cast(
            customer_orders.lifetime_value / nullif(customer_orders.revenue_orders_count, 0)
            as decimal(18, 2)
        ) as average_order_value,
        case
            when coalesce(customer_orders.revenue_orders_count, 0) = 0 then 'prospect'
            when customer_orders.revenue_orders_count = 1 then 'one_time'
            when customer_orders.revenue_orders_count < 5 then 'repeat'
            else 'loyal'
        end as customer_segment
    from customers
    left join customer_orders on customers.customer_id = customer_orders.customer_id

)

select * from final
