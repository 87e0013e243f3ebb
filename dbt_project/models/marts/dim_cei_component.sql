-- The consumer-environment index 消费环境指数 (cei) and its sub-indices (ref_cei_components: names,
-- definitions, order) with each sub-index's weight in the index (seeds/cei_weights.csv).

with

components as (

    select * from {{ ref('ref_cei_components') }}

),

weights as (

    select * from {{ ref('cei_weights') }}
    where parent_code = 'cei'

),

final as (

    select
        components.component_code,
        components.component_name,
        components.direction,
        components.definition,
        components.sort_order,
        weights.parent_code,
        cast(weights.weight as numeric) as weight_in_index
    from components
    left join weights
        on weights.component_code = components.component_code

)

select * from final
