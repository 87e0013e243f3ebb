-- The indicators of indicators.md (ref_indicators: names, roll-up, direction, what numerator and
-- denominator count, direction and unit in Chinese) with where each enters the consumer-environment index
-- (seeds/cei_weights.csv): its sub-index and weight inside it, or none (reported, not scored).

with

indicators as (

    select * from {{ ref('ref_indicators') }}

),

weights as (

    select * from {{ ref('cei_weights') }}

),

final as (

    select
        indicators.indicator_code,
        indicators.indicator_name,
        indicators.family,
        indicators.measure,
        indicators.value_unit,
        indicators.direction,
        indicators.sort_order,
        weights.parent_code as component_code,
        cast(weights.weight as numeric) as weight_in_component,
        indicators.numerator_definition,
        indicators.denominator_definition,
        indicators.direction_name,
        indicators.value_unit_name
    from indicators
    left join weights
        on weights.component_code = indicators.indicator_code
        and weights.parent_code <> 'cei'

)

select * from final
