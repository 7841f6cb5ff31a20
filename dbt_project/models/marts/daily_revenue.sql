-- Gold daily revenue, by the UTC day orders were placed. Revenue counts orders that are neither
-- cancelled nor returned; a day with orders but no revenue has a null average order value.
with

orders as (

    select * from {{ ref('int_orders_totaled') }}

),

daily as (

    select
        order_date,
        count(*) as orders_count,
        count(*) filter (where is_revenue) as revenue_orders_count,
        count(*) filter (where order_status = 'cancelled') as cancelled_orders_count,
        count(*) filter (where order_status = 'returned') as returned_orders_count,
        sum(items_count) filter (where is_revenue) as items_sold,
        sum(merchandise_amount) filter (where is_revenue) as merchandise_amount,
        sum(discount_amount) filter (where is_revenue) as discount_amount,
        sum(shipping_amount) filter (where is_revenue) as shipping_amount,
        sum(order_total) filter (where is_revenue) as net_revenue,
        sum(paid_amount) as paid_amount,
        sum(refunded_amount) as refunded_amount
    from orders
    group by order_date

),

final as (

    select
        order_date,
        cast(orders_count as bigint) as orders_count,
        cast(revenue_orders_count as bigint) as revenue_orders_count,
        cast(cancelled_orders_count as bigint) as cancelled_orders_count,
        cast(returned_orders_count as bigint) as returned_orders_count,
        cast(coalesce(items_sold, 0) as bigint) as items_sold,
        cast(coalesce(merchandise_amount, 0) as decimal(18, 2)) as merchandise_amount,
        cast(coalesce(discount_amount, 0) as decimal(18, 2)) as discount_amount,
        cast(coalesce(shipping_amount, 0) as decimal(18, 2)) as shipping_amount,
        cast(coalesce(net_revenue, 0) as decimal(18, 2)) as net_revenue,
        cast(
            net_revenue / nullif(revenue_orders_count, 0) as decimal(18, 2)
        ) as average_order_value,
        cast(paid_amount as decimal(18, 2)) as paid_amount,
        cast(refunded_amount as decimal(18, 2)) as refunded_amount
    from daily

)

select * from final
