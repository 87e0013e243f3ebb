-- Every valid region code (the 84 county-level divisions and the 9 prefecture codes, feeds.md
-- "Reference data") with the assessment unit it is assessed under. The one place the mapping is
-- made; every latest-state model takes its unit_code from here.
--
-- A region that is itself an assessment unit is assessed as itself: 350128 平潭县 belongs to unit
-- 350128 平潭综合实验区, NOT to 350100 福州市 although its city_code is 350100. Every other
-- county belongs to its prefecture city; a prefecture code to itself. Data-driven from
-- ref_units, so no code is hard-wired here.

with

regions as (

    select * from {{ ref('ref_regions') }}

),

units as (

    select * from {{ ref('ref_units') }}

),

counties as (

    select
        region_code,
        region_name,
        'county' as region_level,
        city_code,
        city_name
    from regions

),

prefectures as (

    select distinct
        city_code as region_code,
        city_name as region_name,
        'prefecture' as region_level,
        city_code,
        city_name
    from regions

),

all_regions as (

    select * from counties
    union all
    select * from prefectures

),

final as (

    select
        all_regions.region_code,
        all_regions.region_name,
        all_regions.region_level,
        all_regions.city_code,
        all_regions.city_name,
        coalesce(own_unit.unit_code, city_unit.unit_code) as unit_code,
        coalesce(own_unit.unit_name, city_unit.unit_name) as unit_name
    from all_regions
    left join units as own_unit
        on own_unit.unit_code = all_regions.region_code
    left join units as city_unit
        on city_unit.unit_code = all_regions.city_code

)

select * from final
