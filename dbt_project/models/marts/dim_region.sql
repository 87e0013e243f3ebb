-- Every region code a feed may carry (84 county-level divisions and 9 prefecture codes) with its
-- prefecture city and the assessment unit it counts under (350128 平潭 → unit 350128).

with

region_units as (

    select * from {{ ref('int_region_units') }}

),

final as (

    select
        region_code,
        region_name,
        region_level,
        city_code,
        city_name,
        unit_code,
        unit_name
    from region_units

)

select * from final
