-- seeds/cei_rules.csv is complete: a minimum denominator for every indicator the index weights,
-- and exactly one min_coverage and one min_ranked_units rule. Returns what is missing or doubled.

with

rules as (

    select * from {{ ref('cei_rules') }}

),

scored_indicators as (

    select component_code as indicator_code
    from {{ ref('cei_weights') }}
    where parent_code <> 'cei'

),

missing_denominators as (

    select 'min_denominator' as rule_code, scored_indicators.indicator_code, 0 as rules_found
    from scored_indicators
    where not exists (
        select from rules
        where rules.rule_code = 'min_denominator' and rules.indicator_code = scored_indicators.indicator_code
    )

),

single_rules as (

    select required.rule_code, cast(null as text) as indicator_code, count(rules.rule_code) as rules_found
    from (values ('min_coverage'), ('min_ranked_units')) as required (rule_code)
    left join rules
        on rules.rule_code = required.rule_code
    group by required.rule_code
    having count(rules.rule_code) <> 1

)

select * from missing_denominators
union all
select * from single_rules
