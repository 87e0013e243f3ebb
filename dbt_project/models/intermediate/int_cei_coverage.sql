-- Each unit's coverage per period: the share of the index's total weight carried by the
-- indicators it has a score for (mart_indicator_score), at the published weights —
--   Σ over those indicators of (sub-index weight × indicator weight ÷ the sum of the indicator
--   weights of its sub-index) ÷ the sum of the sub-index weights
-- — and whether that earns it an index: has_index when coverage ≥ min_coverage (seeds/cei_rules.csv,
-- 0.65 by default, the JRC's usual threshold). A unit without an index has no sub-index and no
-- rank either (int_cei_scores, mart_cei).

with

scores as (

    select * from {{ ref('mart_indicator_score') }}

),

weights as (

    select * from {{ ref('cei_weights') }}

),

min_coverage as (

    select threshold from {{ ref('cei_rules') }} where rule_code = 'min_coverage'

),

sub_index_shares as (

    select
        component_code as sub_index_code,
        weight / sum(weight) over () as share
    from weights
    where parent_code = 'cei'

),

indicator_shares as (

    select
        weights.component_code as indicator_code,
        sub_index_shares.share * weights.weight / sum(weights.weight) over (partition by weights.parent_code)
            as index_share
    from weights
    inner join sub_index_shares
        on sub_index_shares.sub_index_code = weights.parent_code

),

coverage as (

    select
        scores.period,
        scores.period_type,
        scores.unit_code,
        coalesce(sum(indicator_shares.index_share) filter (where scores.score is not null), 0) as coverage
    from scores
    inner join indicator_shares
        on indicator_shares.indicator_code = scores.indicator_code
    group by 1, 2, 3

),

final as (

    select
        period,
        period_type,
        unit_code,
        -- rounded: weights such as 1/3 must not miss the threshold by a last digit
        trim_scale(round(coverage, 10)) as coverage,
        round(coverage, 10) >= (select threshold from min_coverage) as has_index
    from coverage

)

select * from final
