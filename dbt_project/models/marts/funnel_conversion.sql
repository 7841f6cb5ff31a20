-- Gold funnel conversion per UTC day and device. A strict funnel: a session counts at a step only
-- if it also reached every step before it (viewed a product, then added to the cart, then
-- started checkout, then placed the order). Rates are shares of the previous step (null when the
-- previous step has no sessions).
with

sessions as (

    select * from {{ ref('int_sessions_aggregated') }}

),

steps as (

    select
        session_date,
        device,
        has_product_view as reached_product_view,
        has_product_view and has_add_to_cart as reached_add_to_cart,
        has_product_view and has_add_to_cart and has_checkout_started as reached_checkout,
        has_product_view
        and has_add_to_cart
        and has_checkout_started
        and has_order_placed as reached_order
    from sessions

),

counted as (

    select
        session_date,
        device,
        count(*) as sessions_count,
        count(*) filter (where reached_product_view) as product_view_sessions,
        count(*) filter (where reached_add_to_cart) as add_to_cart_sessions,
        count(*) filter (where reached_checkout) as checkout_sessions,
        count(*) filter (where reached_order) as order_sessions
    from steps
    group by session_date, device

),

final as (

    select
        session_date,
        device,
        cast(sessions_count as bigint) as sessions_count,
        cast(product_view_sessions as bigint) as product_view_sessions,
        cast(add_to_cart_sessions as bigint) as add_to_cart_sessions,
        cast(checkout_sessions as bigint) as checkout_sessions,
        cast(order_sessions as bigint) as order_sessions,
        cast(product_view_sessions / nullif(sessions_count, 0) as double) as product_view_rate,
        cast(
            add_to_cart_sessions / nullif(product_view_sessions, 0) as double
        ) as add_to_cart_rate,
        cast(checkout_sessions / nullif(add_to_cart_sessions, 0) as double) as checkout_rate,
        cast(order_sessions / nullif(checkout_sessions, 0) as double) as order_rate,
        cast(order_sessions / nullif(sessions_count, 0) as double) as conversion_rate
    from counted

)

select * from final
