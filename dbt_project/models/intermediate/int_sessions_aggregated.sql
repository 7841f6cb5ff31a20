-- One row per clickstream session: when and where it happened and which funnel steps it reached.
with

events as (

    select * from {{ ref('stg_shop__events') }}

),

aggregated as (

    select
        session_id,
        max(customer_id) as customer_id,
        min(occurred_at) as started_at,
        cast(timezone('UTC', min(occurred_at)) as date) as session_date,
        arg_min(device, occurred_at) as device,
        cast(count(*) as bigint) as events_count,
        bool_or(event_type = 'page_view') as has_page_view,
        bool_or(event_type = 'product_view') as has_product_view,
        bool_or(event_type = 'add_to_cart') as has_add_to_cart,
        bool_or(event_type = 'checkout_started') as has_checkout_started,
        bool_or(event_type = 'order_placed') as has_order_placed
    from events
    group by session_id

)

select * from aggregated
