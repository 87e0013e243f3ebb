-- A month period of mart_indicator_period is that month of mart_indicator_monthly exactly (same
-- rows, numerators, denominators and values) — including the distinct-enterprise counts, which
-- the period mart recounts from the members. Fails with each differing row.

with

monthly as (

    select
        to_char(month, 'YYYY-MM') as period,
        unit_code,
        indicator_code,
        numerator,
        denominator,
        value
    from {{ ref('mart_indicator_monthly') }}

),

period_months as (

    select
        period,
        unit_code,
        indicator_code,
        numerator,
        denominator,
        value
    from {{ ref('mart_indicator_period') }}
    where period_type = 'month'

),

only_monthly as (

    select 'only in mart_indicator_monthly' as problem, * from monthly
    except
    select 'only in mart_indicator_monthly' as problem, * from period_months

),

only_period as (

    select 'only in mart_indicator_period' as problem, * from period_months
    except
    select 'only in mart_indicator_period' as problem, * from monthly

)

select * from only_monthly
union all
select * from only_period
