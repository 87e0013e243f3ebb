-- Every indicator per assessment unit and reporting period — month '2026-03', quarter '2026Q1',
-- year '2026' (int_period_months) — rolled up as indicators.md prescribes:
--   rate            sum of the months' numerators ÷ sum of their denominators (never an average
--                   of monthly rates); null when the summed denominator is 0
--   count, sum      sum of the months' figures; denominator null
--   distinct_count  distinct members over the whole period (int_indicator_distinct_members),
--                   never a sum of monthly counts; denominator null
-- A month period equals mart_indicator_monthly's month (tests/assert_period_months_match_monthly.sql).
-- calendar_status: 'provisional' when any month's figure is (a deadline it counts was reckoned on
-- a provisional year's days), else 'official'.
-- note: 'insufficient_data' when the index scores the indicator (seeds/cei_weights.csv) and the
-- period's denominator is below its minimum (seeds/cei_rules.csv, rule min_denominator): the value
-- is published, but mart_indicator_score gives it no score.

{{ config(pre_hook=without_jit()) }}

with

monthly as (

    select * from {{ ref('mart_indicator_monthly') }}

),

period_months as (

    select * from {{ ref('int_period_months') }}

),

indicators as (

    select * from {{ ref('ref_indicators') }}

),

members as (

    select * from {{ ref('int_indicator_distinct_members') }}

),

min_denominators as (

    select indicator_code, threshold as min_denominator
    from {{ ref('cei_rules') }}
    where rule_code = 'min_denominator'

),

units as (

    select * from {{ ref('dim_unit') }}

),

periods as (

    select distinct period, period_type, period_start, period_end
    from period_months

),

additive as (

    select
        period_months.period,
        monthly.unit_code,
        monthly.indicator_code,
        sum(monthly.numerator) as numerator,
        sum(monthly.denominator) as denominator,
        bool_or(monthly.calendar_status = 'provisional') as provisional_calendar
    from monthly
    inner join period_months
        on period_months.month = monthly.month
    inner join indicators
        on indicators.indicator_code = monthly.indicator_code
    where indicators.measure <> 'distinct_count'
    group by 1, 2, 3

),

distinct_counts as (

    select
        period_months.period,
        members.unit_code,
        members.indicator_code,
        count(distinct members.member_id) as members
    from members
    inner join period_months
        on period_months.month = members.month
    group by 1, 2, 3

),

grid as (

    select
        periods.period,
        periods.period_type,
        periods.period_start,
        periods.period_end,
        units.unit_code,
        units.unit_name,
        indicators.indicator_code,
        indicators.measure,
        min_denominators.min_denominator
    from periods
    cross join units
    cross join indicators
    left join min_denominators
        on min_denominators.indicator_code = indicators.indicator_code

),

final as (

    select
        grid.period,
        grid.period_type,
        grid.unit_code,
        grid.unit_name,
        grid.indicator_code,
        cast(case
            when grid.measure = 'distinct_count' then coalesce(distinct_counts.members, 0)
            else additive.numerator
        end as numeric) as numerator,
        cast(case when grid.measure = 'rate' then additive.denominator end as numeric) as denominator,
        cast(case
            when grid.measure = 'rate' then {{ safe_ratio('additive.numerator', 'additive.denominator') }}
            when grid.measure = 'distinct_count' then coalesce(distinct_counts.members, 0)
            else additive.numerator
        end as numeric) as value,
        grid.period_start,
        grid.period_end,
        case when coalesce(additive.provisional_calendar, false) then 'provisional' else 'official' end
            as calendar_status,
        case
            when coalesce(additive.denominator, 0) < grid.min_denominator then 'insufficient_data'
        end as note
    from grid
    left join additive
        on additive.period = grid.period
        and additive.unit_code = grid.unit_code
        and additive.indicator_code = grid.indicator_code
    left join distinct_counts
        on distinct_counts.period = grid.period
        and distinct_counts.unit_code = grid.unit_code
        and distinct_counts.indicator_code = grid.indicator_code

)

select * from final
