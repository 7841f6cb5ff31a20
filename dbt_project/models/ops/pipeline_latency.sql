-- Gold pipeline latency: per bronze table, the p50 and p95 seconds of each stage a batch goes
-- through, over its newest 1,000 published batches: landed → bronze (the loader), bronze →
-- the start of the build that published it (the settle window, a build running, retries),
-- that build → published (dbt and the Delta commits), and the whole way. `lakehouse status`
-- shows this table.
with

recent as (

    select *
    from {{ source('lakehouse', 'batches') }}
    where published_at is not null and loaded_at is not null
    qualify
        row_number() over (partition by table_name order by published_at desc) <= 1000

),

stages as (

    select
        table_name,
        epoch(loaded_at - landed_at) as to_bronze_s,
        epoch(build_started_at - loaded_at) as queued_s,
        epoch(published_at - build_started_at) as building_s,
        epoch(published_at - landed_at) as total_s
    from recent

),

final as (

    select
        table_name,
        cast(count(*) as bigint) as batches,
        quantile_cont(to_bronze_s, 0.5) as to_bronze_p50_s,
        quantile_cont(to_bronze_s, 0.95) as to_bronze_p95_s,
        quantile_cont(queued_s, 0.5) as queued_p50_s,
        quantile_cont(queued_s, 0.95) as queued_p95_s,
        quantile_cont(building_s, 0.5) as building_p50_s,
        quantile_cont(building_s, 0.95) as building_p95_s,
        quantile_cont(total_s, 0.5) as total_p50_s,
        quantile_cont(total_s, 0.95) as total_p95_s
    from stages
    group by table_name

)

select * from final
