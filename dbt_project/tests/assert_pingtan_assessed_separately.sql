-- feeds.md "Assessment units": region 350128 (平潭县, administratively under 福州市) belongs to unit
-- 350128 平潭综合实验区 and not to 350100 福州市; 平潭综合实验区 is one of the 10 units.
-- Fails with a row describing what is wrong.

with

pingtan as (

    select * from {{ ref('dim_region') }}
    where region_code = '350128'

),

problems as (

    select 'region 350128 is missing from dim_region' as problem
    where not exists (select 1 from pingtan)

    union all

    select 'region 350128 counts under unit ' || unit_code || ' instead of 350128' as problem
    from pingtan
    where unit_code <> '350128'

    union all

    select 'unit 350128 平潭综合实验区 is missing from dim_unit' as problem
    where not exists (select 1 from {{ ref('dim_unit') }} where unit_code = '350128')

)

select * from problems
