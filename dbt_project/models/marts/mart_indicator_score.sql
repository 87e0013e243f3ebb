-- The scored indicators' normalised scores per period and unit (the index, step 1): for every
-- indicator that carries a weight in seeds/cei_weights.csv, min–max to 0–100 over the units that
-- have enough data for it in the period —
--   higher is better  100·(x − min)/(max − min)
--   lower is better   100·(max − x)/(max − min)      (inspection_fail_rate; ref_indicators.direction)
--   max = min         every scored unit scores 100 (so does a single scored unit)
--   no score          a null value, or a denominator below the indicator's minimum
--                     (mart_indicator_period.note = 'insufficient_data'; seeds/cei_rules.csv)
-- — and the unit's rank on that score: 1 = highest; equal scores to 2 decimals share the best
-- rank (competition ranking 1, 2, 2, 4); no rank without a score, nor when fewer units than
-- min_ranked_units have one (note 'too_few_units'). Unrounded; round for display only.

{{ config(pre_hook=without_jit()) }}

with

period_values as (

    select * from {{ ref('mart_indicator_period') }}

),

indicators as (

    select * from {{ ref('ref_indicators') }}

),

min_ranked_units as (

    select threshold from {{ ref('cei_rules') }} where rule_code = 'min_ranked_units'

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
        period_values.value,
        period_values.note,
        -- only the units with enough data set the range and get a score
        case when period_values.note is null then period_values.value end as scored_value
    from period_values
    inner join scored_indicators
        on scored_indicators.indicator_code = period_values.indicator_code

),

ranges as (

    select
        *,
        min(scored_value) over (partition by period, indicator_code) as min_value,
        max(scored_value) over (partition by period, indicator_code) as max_value
    from scored_values

),

scored as (

    select
        *,
        case
            when scored_value is null then null
            when max_value = min_value then cast(100 as numeric)
            when direction = 'lower' then 100 * (max_value - scored_value) / (max_value - min_value)
            else 100 * (scored_value - min_value) / (max_value - min_value)
        end as score
    from ranges

),

counted as (

    select
        *,
        count(score) over (partition by period, indicator_code) as scored_units
    from scored

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
            when score is not null and scored_units >= (select threshold from min_ranked_units)
                then cast(rank() over (
                    partition by period, indicator_code, score is null
                    order by round(score, 2) desc
                ) as integer)
        end as rank,
        case
            when note is not null then note
            when score is not null and scored_units < (select threshold from min_ranked_units)
                then 'too_few_units'
        end as note
    from counted

)

select * from final
