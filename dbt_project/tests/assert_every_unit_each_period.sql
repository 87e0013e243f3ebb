-- Every assessment unit has its row in every period of mart_indicator_period (per indicator) and
-- of mart_cei (per index component): for each (period, indicator_code) and (period,
-- component_code) present, every unit of dim_unit. A unit without data has a row with a null
-- value or score and a note, never no row: a missing unit would drop out of the ranking and the
-- export silently, and min–max normalisation would run over the units left. (The monthly grid is
-- the generic test every_unit_each_month on mart_indicator_monthly.) A singular test because it
-- reads the whole tables. Fails with each missing (mart, period, code, unit_code).

with

units as (

    select unit_code from {{ ref('dim_unit') }}

),

period_indicators as (

    select distinct period, indicator_code as code from {{ ref('mart_indicator_period') }}

),

period_components as (

    select distinct period, component_code as code from {{ ref('mart_cei') }}

),

missing_from_period as (

    select 'mart_indicator_period' as mart, expected.period, expected.code, units.unit_code
    from period_indicators as expected
    cross join units
    where not exists (
        select 1 from {{ ref('mart_indicator_period') }} as actual
        where actual.period = expected.period
            and actual.indicator_code = expected.code
            and actual.unit_code = units.unit_code
    )

),

missing_from_cei as (

    select 'mart_cei' as mart, expected.period, expected.code, units.unit_code
    from period_components as expected
    cross join units
    where not exists (
        select 1 from {{ ref('mart_cei') }} as actual
        where actual.period = expected.period
            and actual.component_code = expected.code
            and actual.unit_code = units.unit_code
    )

)

select * from missing_from_period
union all
select * from missing_from_cei
