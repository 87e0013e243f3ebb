-- The reporting periods (indicators.md) and the months each is made of: every month of the
-- month grid (int_unit_months: first month with data … as-of month) as a month '2026-03', and
-- every quarter '2026Q1' and year '2026' that contains one of those months. A quarter or year
-- still in progress at as-of, or starting before the first month with data, is included with
-- the grid months it has (the months before the first month with data have nothing to count;
-- the months after as-of have not happened). One row per (period, month).

with

months as (

    select distinct month from {{ ref('int_unit_months') }}

),

periods as (

    select
        to_char(month, 'YYYY-MM') as period,
        'month' as period_type,
        month as period_start,
        cast(month + interval '1 month' - interval '1 day' as date) as period_end,
        month
    from months

    union all

    select
        to_char(month, 'YYYY"Q"Q') as period,
        'quarter' as period_type,
        cast(date_trunc('quarter', month) as date) as period_start,
        cast(date_trunc('quarter', month) + interval '3 months' - interval '1 day' as date) as period_end,
        month
    from months

    union all

    select
        to_char(month, 'YYYY') as period,
        'year' as period_type,
        cast(date_trunc('year', month) as date) as period_start,
        cast(date_trunc('year', month) + interval '1 year' - interval '1 day' as date) as period_end,
        month
    from months

),

final as (

    select * from periods

)

select * from final
