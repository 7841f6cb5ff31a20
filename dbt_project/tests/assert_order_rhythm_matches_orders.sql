-- customer_order_rhythm (a Python model) agrees with the orders it reads: the same customers and
-- order counts, and a streak between 1 and the number of distinct weeks with an order.
with

expected as (

    select
        customer_id,
        count(*) as orders_count,
        count(distinct date_trunc('week', ordered_at)) as weeks
    from {{ ref('stg_shop__orders') }}
    where order_status <> 'cancelled'
    group by customer_id

),

actual as (

    select * from {{ ref('customer_order_rhythm') }}

)

select
    coalesce(expected.customer_id, actual.customer_id) as customer_id,
    expected.orders_count as expected_orders,
    actual.orders_count as actual_orders,
    actual.longest_weekly_streak
from expected
full outer join actual on expected.customer_id = actual.customer_id
where
    expected.customer_id is null
    or actual.customer_id is null
    or expected.orders_count <> actual.orders_count
    or actual.longest_weekly_streak not between 1 and expected.weeks
