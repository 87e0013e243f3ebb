-- The data-sufficiency rules in force (seeds/cei_rules.csv, which the bureau edits): published
-- with the marts so that analysts and the export read the rules the figures were built under.

with

rules as (

    select * from {{ ref('cei_rules') }}

),

indicators as (

    select * from {{ ref('ref_indicators') }}

),

final as (

    select
        rules.rule_code,
        rules.indicator_code,
        indicators.indicator_name,
        rules.threshold,
        rules.description
    from rules
    left join indicators
        on indicators.indicator_code = rules.indicator_code

)

select * from final
