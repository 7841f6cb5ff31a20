-- Gold orders: one row per order, with money totals, payment state and the customer's country.
-- Incremental on bronze: each run takes the orders int_orders_totaled changed, and those of
-- customers that changed, since this model last read them (input_since, changed_keys), and
-- merges those that changed by order_id.
{{
    config(
        materialized='incremental',
        unique_key='order_id',
    )
}}

with

{% if is_incremental() %}
    changed_customers as (

        {{ changed_keys([ref('stg_shop__customers')], 'customer_id') }}

    ),
{% endif %}

orders as (

    select * from {{ ref('int_orders_totaled') }}
    {% if is_incremental() %}
        where
            _ingested_at >= {{ input_since(ref('int_orders_totaled')) }}
            or customer_id in (select changed_customers.customer_id from changed_customers)
    {% endif %}

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
        orders.paid_amount >= orders.order_total as is_fully_paid,
        greatest(orders._ingested_at, customers._ingested_at) as _ingested_at
    from orders
    left join customers on orders.customer_id = customers.customer_id

)

{{ changed_rows('final') }}
