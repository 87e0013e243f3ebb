-- The grid every monthly indicator is reported on: every assessment unit × every local month
-- from the first month with any closed work order up to the as-of month. A unit with no data in
-- a month still gets its row (a rate 0/0 → null, a count 0), so the mart is complete and a
-- missing unit is never mistaken for a missing figure. Empty when no work order is closed yet.
-- When a family with other sources is added, extend `first_months` with its first month.

with

units as (

    select unit_code from {{ ref('ref_units') }}

),

work_orders as (

    select * from {{ ref('int_work_orders_latest') }}

),

first_months as (

    select cast(date_trunc('month', min(closed_at_local)) as date) as first_month
    from work_orders
    where closed_at_local is not null

),

bounds as (

    select
        min(first_month) as first_month,
        {{ as_of_month() }} as last_month
    from first_months

),

months as (

    select cast(series.month_start as date) as month
    from bounds
    cross join lateral generate_series(
        cast(bounds.first_month as timestamp),
        cast(bounds.last_month as timestamp),
        interval '1 month'
    ) as series (month_start)

),

final as (

    select
        units.unit_code,
        months.month
    from units
    cross join months

)

select * from final
