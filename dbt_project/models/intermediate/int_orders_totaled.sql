-- One row per order with its lines and payments totalled: the base of every revenue mart.
-- Incremental on bronze: each run recomputes only the orders whose order, lines or payments
-- changed in silver since this model last read them (changed_keys), each from all of its rows,
-- and merges those that changed by order_id. `_ingested_at` is the newest of those rows'.
{{
    config(
        materialized='incremental',
        unique_key='order_id',
    )
}}

with

{% if is_incremental() %}
    changed as (

        {{ changed_keys([
            ref('stg_shop__orders'),
            ref('stg_shop__order_lines'),
            ref('stg_shop__payments'),
        ], 'order_id') }}

    ),
{% endif %}

orders as (

    select * from {{ ref('stg_shop__orders') }}
    {% if is_incremental() %}
        where order_id in (select changed.order_id from changed)
    {% endif %}

),

order_lines as (

    select * from {{ ref('stg_shop__order_lines') }}
    {% if is_incremental() %}
        where order_id in (select changed.order_id from changed)
    {% endif %}

),

payments as (

    select * from {{ ref('stg_shop__payments') }}
    {% if is_incremental() %}
        where order_id in (select changed.order_id from changed)
    {% endif %}

),

line_totals as (

    select
        order_id,
        count(*) as lines_count,
        sum(quantity) as items_count,
        sum(unit_price * quantity) as merchandise_amount,
        sum(discount_amount) as discount_amount,
        max(_ingested_at) as _ingested_at
    from order_lines
    group by order_id

),

payment_totals as (

    select
        order_id,
        sum(case when payment_status = 'succeeded' then amount else 0 end) as paid_amount,
        sum(case when payment_status = 'refunded' then amount else 0 end) as refunded_amount,
        max(_ingested_at) as _ingested_at
    from payments
    group by order_id

),

totaled as (

    select
        orders.order_id,
        orders.customer_id,
        orders.order_status,
        orders.ordered_at,
        cast(timezone('UTC', orders.ordered_at) as date) as order_date,
        orders.order_status not in ('cancelled', 'returned') as is_revenue,
        cast(coalesce(line_totals.lines_count, 0) as bigint) as lines_count,
        cast(coalesce(line_totals.items_count, 0) as bigint) as items_count,
        cast(coalesce(line_totals.merchandise_amount, 0) as decimal(18, 2)) as merchandise_amount,
        cast(coalesce(line_totals.discount_amount, 0) as decimal(18, 2)) as discount_amount,
        orders.shipping_amount,
        cast(
            coalesce(line_totals.merchandise_amount, 0)
            - coalesce(line_totals.discount_amount, 0)
            + orders.shipping_amount
            as decimal(18, 2)
        ) as order_total,
        cast(coalesce(payment_totals.paid_amount, 0) as decimal(18, 2)) as paid_amount,
        cast(coalesce(payment_totals.refunded_amount, 0) as decimal(18, 2)) as refunded_amount,
        greatest(
            orders._ingested_at, line_totals._ingested_at, payment_totals._ingested_at
        ) as _ingested_at
    from orders
    left join line_totals on orders.order_id = line_totals.order_id
    left join payment_totals on orders.order_id = payment_totals.order_id

)

{{ changed_rows('totaled') }}
