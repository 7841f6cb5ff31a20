-- A strict funnel only narrows: each step has at most as many sessions as the one before.
select *
from {{ ref('funnel_conversion') }}
where
    product_view_sessions > sessions_count
    or add_to_cart_sessions > product_view_sessions
    or checkout_sessions > add_to_cart_sessions
    or order_sessions > checkout_sessions
