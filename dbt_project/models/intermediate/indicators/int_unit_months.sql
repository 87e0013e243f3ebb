-- The grid every monthly indicator is reported on: every assessment unit × every local month
-- from the first month any indicator has something to count (a work order registered or closed,
-- an ODR dispute filed or closed, a returns report's month, a sampled batch) up to the as-of
-- month. A unit with no data in a month still gets its row (a rate 0/0 → null, a count 0), so
-- the mart is complete and a missing unit is never mistaken for a missing figure. Empty while
-- there is no data at all. Every deadline falls after its item's start, so a start month bounds
-- the deadline months too.

with

units as (

    select unit_code from {{ ref('ref_units') }}

),

first_months as (

    -- a closing time is never before the registration (filing): such a row is quarantined
    -- (feeds.md), so the first registration is the first moment, read off its index
    select min(registered_at_local) as first_moment
    from {{ ref('int_work_orders_latest') }}

    union all

    select min(filed_at_local) as first_moment
    from {{ ref('int_odr_disputes_latest') }}

    union all

    select cast(min(report_month) as timestamp) as first_moment
    from {{ ref('int_return_reports_latest') }}

    union all

    select cast(min(sampled_on) as timestamp) as first_moment
    from {{ ref('int_inspection_samples_latest') }}

),

bounds as (

    select
        cast(date_trunc('month', min(first_moment)) as date) as first_month,
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
