-- Gold orders: one row per order, with money totals, payment state and the customer's country.
with

orders as (

    select * from {{ ref('int_orders_totaled') }}

),

customers as (

    select * from {{ ref('stg_shop__customers') }}

),

final as (

    select
        orders.order_id,
        orders.customer_id,
        customers.country_code,
        orders.order_status,
        orders.ordered_at,
        orders.order_date,
        orders.is_revenue,
        orders.lines_count,
        orders.items_count,
        orders.merchandise_amount,
        orders.discount_amount,
        orders.shipping_amount,
        orders.order_total,
        orders.paid_amount,
        orders.refunded_amount,
        orders.paid_amount >= orders.order_total as is_fully_paid
    from orders
    left join customers on orders.customer_id = customers.customer_id

)

select * from final
