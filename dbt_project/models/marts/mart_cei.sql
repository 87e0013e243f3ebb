-- The consumer-environment index 消费环境指数 (code cei) and its four sub-indices per reporting
-- period and unit, with rank and Monte Carlo rank band (computed in int_cei_scores):
--
--   sub-index  weighted mean of the unit's indicator scores (mart_indicator_score), the weights
--              (seeds/cei_weights.csv) renormalised over the indicators the unit has a score for;
--              null when it has none
--   index      weighted mean of the unit's sub-indices, renormalised over those present
--   rank       1 = highest; equal scores to 2 decimals share the best rank (1, 2, 2, 4); the
--              sub-indices are ranked the same way; no score, no rank
--   band       rank_p05 / rank_p50 / rank_p95: the 5th, 50th and 95th percentile (nearest rank)
--              of the unit's rank over the Monte Carlo draws of int_cei_weight_draws (1,000 draws,
--              every weight at both levels times an independent U[0.75, 1.25] factor, fixed seed)
--   coverage   the share of the index's weight the unit's scored indicators carry (int_cei_coverage)
--   note       why a score or rank is empty: 'insufficient_coverage' (coverage below min_coverage:
--              no index, sub-index or rank), 'insufficient_data' (none of the sub-index's
--              indicators has enough data), 'too_few_units' (a score, but fewer units than
--              min_ranked_units have one, so nobody is ranked on it)
--
-- Computed in int_cei_scores (for the units with a score); here every period × unit × component
-- (seeds/ref_cei_components.csv: the index and its sub-indices, with their names).

with

scores as (

    select * from {{ ref('int_cei_scores') }}

),

periods as (

    select distinct period, period_type from {{ ref('mart_indicator_score') }}

),

-- an index ranks every unit against the others: provisional when any figure of its period is
period_calendar as (

    select
        period,
        case when bool_or(calendar_status = 'provisional') then 'provisional' else 'official' end
            as calendar_status
    from {{ ref('mart_indicator_period') }}
    group by period

),

components as (

    select
        component_code,
        component_name
    from {{ ref('ref_cei_components') }}

),

grid as (

    select
        periods.period,
        periods.period_type,
        units.unit_code,
        units.unit_name,
        components.component_code,
        components.component_name
    from periods
    cross join {{ ref('dim_unit') }} as units
    cross join components

),

final as (

    select
        grid.period,
        grid.period_type,
        grid.unit_code,
        grid.unit_name,
        grid.component_code,
        grid.component_name,
        scores.score,
        scores.rank,
        scores.rank_p05,
        scores.rank_p50,
        scores.rank_p95,
        coverage.coverage,
        case
            when not coalesce(coverage.has_index, false) then 'insufficient_coverage'
            when scores.score is null then 'insufficient_data'
            when scores.rank is null then 'too_few_units'
        end as note,
        coalesce(period_calendar.calendar_status, 'official') as calendar_status
    from grid
    left join period_calendar
        on period_calendar.period = grid.period
    left join {{ ref('int_cei_coverage') }} as coverage
        on coverage.period = grid.period
        and coverage.unit_code = grid.unit_code
    left join scores
        on scores.period = grid.period
        and scores.unit_code = grid.unit_code
        and scores.component_code = grid.component_code

)

select * from final
