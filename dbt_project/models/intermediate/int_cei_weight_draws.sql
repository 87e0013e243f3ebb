-- The weights of the consumer-environment index (seeds/cei_weights.csv, which the bureau edits)
-- for draw 0 (as published) and for each of the var cei_mc_draws (1,000) Monte Carlo draws of the
-- rank-uncertainty analysis (indicators.md, OECD/JRC composite-indicator practice): in draw d
-- every weight at both levels — each sub-index in the index, each indicator in its sub-index —
-- is multiplied by its own factor uniform on [cei_mc_factor_min, cei_mc_factor_max] (0.75–1.25).
--
-- The factor is hash_uniform(seed, draw, weight's code): deterministic, so a rerun gives the same
-- bands; independent across draws and weights; changing var cei_mc_seed gives a fresh sample.
-- One row per (draw, component_code).

with

weights as (

    select * from {{ ref('cei_weights') }}

),

draws as (

    select cast(draw as integer) as draw
    from generate_series(0, {{ var('cei_mc_draws') | int }}) as series (draw)

),

final as (

    select
        draws.draw,
        weights.parent_code,
        weights.component_code,
        cast(weights.weight as numeric) as base_weight,
        case
            when draws.draw = 0 then cast(1 as numeric)
            else round(
                {{ var('cei_mc_factor_min') }}
                + ({{ var('cei_mc_factor_max') }} - {{ var('cei_mc_factor_min') }})
                * {{ hash_uniform(["'" ~ var('cei_mc_seed') ~ "'", 'draws.draw', 'weights.component_code']) }},
                10
            )
        end as factor
    from draws
    cross join weights

)

select
    draw,
    parent_code,
    component_code,
    base_weight,
    factor,
    base_weight * factor as weight
from final
