-- The 10 assessment units (考核单位) of the provincial assessment: the 9 prefecture cities and
-- 平潭综合实验区, in the bureau's reporting order (ref_units).

with

units as (

    select * from {{ ref('ref_units') }}

),

region_units as (

    select * from {{ ref('int_region_units') }}

),

county_counts as (

    select
        unit_code,
        count(*) as county_count
    from region_units
    where region_level = 'county'
    group by unit_code

),

final as (

    select
        units.unit_code,
        units.unit_name,
        units.sort_order,
        coalesce(county_counts.county_count, 0) as county_count
    from units
    left join county_counts
        on county_counts.unit_code = units.unit_code

)

select * from final
