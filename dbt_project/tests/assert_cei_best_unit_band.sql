-- A unit that is best on every indicator has the band [1, 1]. For every period whose index is
-- ranked, a unit with an index whose score is 100 (the best) on every indicator scored in that
-- period — and that has a score on each — must rank 1 on the index in every draw: rank 1,
-- rank_p05 = rank_p95 = 1. (The data-sufficiency rules may leave it without an index — note
-- 'insufficient_coverage' — or the period without ranks — 'too_few_units'.) Fails with each such
-- unit whose index rank or band is otherwise.

with

scores as (

    select * from {{ ref('mart_indicator_score') }}

),

scored_indicators as (

    select period, count(distinct indicator_code) as indicators
    from scores
    where score is not null
    group by period

),

best_everywhere as (

    select scores.period, scores.unit_code
    from scores
    inner join scored_indicators
        on scored_indicators.period = scores.period
    group by scores.period, scores.unit_code, scored_indicators.indicators
    having count(*) filter (where scores.score = 100) = scored_indicators.indicators

)

select
    cei.period,
    cei.unit_code,
    cei.score,
    cei.rank,
    cei.rank_p05,
    cei.rank_p95
from best_everywhere
inner join {{ ref('mart_cei') }} as cei
    on cei.period = best_everywhere.period
    and cei.unit_code = best_everywhere.unit_code
    and cei.component_code = 'cei'
where cei.note is null
    and (
        cei.rank is distinct from 1
        or cei.rank_p05 is distinct from 1
        or cei.rank_p95 is distinct from 1
    )
