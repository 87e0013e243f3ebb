-- The consumer-environment index 消费环境指数 (code cei) and its four sub-indices per reporting
-- period for the units that earn an index (int_cei_coverage.has_index: enough of the index's weight
-- scored), with rank and Monte Carlo rank band; mart_cei publishes them on the grid of every
-- period × unit × component:
--
--   sub-index  weighted mean of the unit's indicator scores (mart_indicator_score), the weights
--              (seeds/cei_weights.csv) renormalised over the indicators the unit has a score for;
--              null when it has none
--   index      weighted mean of the unit's sub-indices, renormalised over those present
--   rank       1 = highest; equal scores to 2 decimals share the best rank (1, 2, 2, 4); the
--              sub-indices are ranked the same way; no score, no rank; and no ranks at all in a
--              ranking of fewer units than min_ranked_units (seeds/cei_rules.csv)
--   band       rank_p05 / rank_p95: the 5th and 95th percentile of the unit's rank over the
--              Monte Carlo draws of int_cei_weight_draws (1,000 draws, every weight at both levels
--              times an independent U[0.75, 1.25] factor, fixed seed). Percentile = nearest rank
--              (percentile_disc): the smallest rank r with at least 5% (95%) of the draws at or
--              better than r, so the band is always a pair of ranks a unit actually took;
--              rank_p50 the median the same way (COINr shows the median rank with the band).
--
-- Draw 0 of int_cei_weight_draws carries the published weights (factor 1): the score and rank
-- columns are draw 0, computed by exactly the same code as the draws.
--
-- Incremental by period: the Monte Carlo is most of a night's build, and a night changes the
-- scores of a few periods only. Each row keeps the fingerprint of what its period was computed
-- from (inputs_md5: the period's indicator scores, the weights of every draw, this model's SQL);
-- a build deletes the periods whose fingerprint changed or that are gone (pre-hook) and computes
-- the periods it has no rows for (macros/incremental/cei_period_inputs.sql).

{#- A new column comes with new SQL, whose fingerprint makes the pre-hook forget every period:
    the column is appended and every row recomputed. -#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='append_new_columns',
    pre_hook=[without_jit(), "{{ cei_forget_stale_periods() }}"],
) }}

with

period_inputs as (

    {{ cei_period_inputs() }}

),

-- the periods to score: every one on a full build; else those without rows (new, or whose
-- stale rows the pre-hook deleted)
periods_to_score as (

    select * from period_inputs
    {%- if is_incremental() %}
    where period not in (select period from {{ this }})
    {%- endif %}

),

indicator_scores as (

    select scores.*
    from {{ ref('mart_indicator_score') }} as scores
    inner join periods_to_score
        on periods_to_score.period = scores.period
    inner join {{ ref('int_cei_coverage') }} as coverage
        on coverage.period = scores.period
        and coverage.unit_code = scores.unit_code
    where scores.score is not null
        and coverage.has_index

),

min_ranked_units as (

    select threshold from {{ ref('cei_rules') }} where rule_code = 'min_ranked_units'

),

draws as (

    select * from {{ ref('int_cei_weight_draws') }}

),

sub_index_weights as (

    select draw, component_code as sub_index_code, weight
    from draws
    where parent_code = 'cei'

),

indicator_weights as (

    select draw, parent_code as sub_index_code, component_code as indicator_code, weight
    from draws
    where parent_code <> 'cei'

),

sub_index_scores as (

    select
        indicator_scores.period,
        indicator_scores.unit_code,
        indicator_weights.sub_index_code as component_code,
        indicator_weights.draw,
        sum(indicator_weights.weight * indicator_scores.score) / sum(indicator_weights.weight) as score
    from indicator_scores
    inner join indicator_weights
        on indicator_weights.indicator_code = indicator_scores.indicator_code
    group by 1, 2, 3, 4

),

index_scores as (

    select
        sub_index_scores.period,
        sub_index_scores.unit_code,
        'cei' as component_code,
        sub_index_scores.draw,
        sum(sub_index_weights.weight * sub_index_scores.score) / sum(sub_index_weights.weight) as score
    from sub_index_scores
    inner join sub_index_weights
        on sub_index_weights.draw = sub_index_scores.draw
        and sub_index_weights.sub_index_code = sub_index_scores.component_code
    group by 1, 2, 3, 4

),

all_scores as (

    select * from sub_index_scores
    union all
    select * from index_scores

),

ranked as (

    select
        *,
        case when count(*) over (partition by period, component_code, draw) >= (select threshold from min_ranked_units)
            then rank() over (partition by period, component_code, draw order by round(score, 2) desc)
        end as rank
    from all_scores

),

published as (

    select period, unit_code, component_code, score, rank
    from ranked
    where draw = 0

),

bands as (

    select
        period,
        unit_code,
        component_code,
        percentile_disc(0.05) within group (order by rank) as rank_p05,
        percentile_disc(0.50) within group (order by rank) as rank_p50,
        percentile_disc(0.95) within group (order by rank) as rank_p95
    from ranked
    where draw > 0 and rank is not null
    group by 1, 2, 3

),

final as (

    select
        published.period,
        published.unit_code,
        published.component_code,
        trim_scale(published.score) as score,
        cast(published.rank as integer) as rank,
        cast(bands.rank_p05 as integer) as rank_p05,
        cast(bands.rank_p50 as integer) as rank_p50,
        cast(bands.rank_p95 as integer) as rank_p95,
        periods_to_score.inputs_md5
    from published
    inner join periods_to_score
        on periods_to_score.period = published.period
    left join bands
        on bands.period = published.period
        and bands.unit_code = published.unit_code
        and bands.component_code = published.component_code

)

select * from final
