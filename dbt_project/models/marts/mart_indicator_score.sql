-- The scored indicators' normalised scores per period and unit (indicators.md, the index step 1):
-- for every indicator that carries a weight in seeds/cei_weights.csv, min–max over the 10 units
-- in the period to 0–100 —
--   higher is better  100·(x − min)/(max − min)
--   lower is better   100·(max − x)/(max − min)      (inspection_fail_rate; ref_indicators.direction)
--   max = min         every unit with a value scores 100
--   null value        no score (and min/max are over the units that have a value)
-- — and the unit's rank on that score: 1 = highest; equal scores to 2 decimals share the best
-- rank (competition ranking 1, 2, 2, 4); no score, no rank. Unrounded; round for display only.

{{ config(pre_hook=without_jit()) }}

with

period_values as (

    select * from {{ ref('mart_indicator_period') }}

),

indicators as (

    select * from {{ ref('ref_indicators') }}

),

scored_indicators as (

    select
        weights.component_code as indicator_code,
        weights.parent_code as sub_index_code,
        indicators.direction
    from {{ ref('cei_weights') }} as weights
    inner join indicators
        on indicators.indicator_code = weights.component_code

),

scored_values as (

    select
        period_values.period,
        period_values.period_type,
        period_values.unit_code,
        period_values.unit_name,
        period_values.indicator_code,
        scored_indicators.sub_index_code,
        scored_indicators.direction,
        period_values.value
    from period_values
    inner join scored_indicators
        on scored_indicators.indicator_code = period_values.indicator_code

),

ranges as (

    select
        *,
        min(value) over (partition by period, indicator_code) as min_value,
        max(value) over (partition by period, indicator_code) as max_value
    from scored_values

),

scored as (

    select
        *,
        case
            when value is null then null
            when max_value = min_value then cast(100 as numeric)
            when direction = 'lower' then 100 * (max_value - value) / (max_value - min_value)
            else 100 * (value - min_value) / (max_value - min_value)
        end as score
    from ranges

),

final as (

    select
        period,
        period_type,
        unit_code,
        unit_name,
        indicator_code,
        sub_index_code as component_code,
        value,
        trim_scale(score) as score,
        case
            when score is not null then cast(rank() over (
                partition by period, indicator_code, score is null
                order by round(score, 2) desc
            ) as integer)
        end as rank
    from scored

)

select * from final
