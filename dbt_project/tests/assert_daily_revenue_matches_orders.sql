-- Daily revenue adds up to the revenue of the orders mart, day by day.
with

orders as (

    select
        order_date,
        sum(order_total) as net_revenue
    from {{ ref('orders') }}
    where is_revenue
    group by order_date

),

daily_revenue as (

    select * from {{ ref('daily_revenue') }}

)

select
    daily_revenue.order_date,
    daily_revenue.net_revenue,
    orders.net_revenue as orders_net_revenue
from daily_revenue
left join orders on daily_revenue.order_date = orders.order_date
where daily_revenue.net_revenue != coalesce(orders.net_revenue, 0)
