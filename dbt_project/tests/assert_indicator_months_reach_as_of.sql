-- Each indicator's months in mart_indicator_monthly run without a gap from its first month to
-- the as-of month (var as_of): a month with no data is a row of zeros, never a missing month.
-- Fails with each indicator whose months are not exactly that range.

with

months as (

    select
        indicator_code,
        min(month) as first_month,
        max(month) as last_month,
        count(distinct month) as months_present
    from {{ ref('mart_indicator_monthly') }}
    group by indicator_code

),

checked as (

    select
        *,
        {{ as_of_month() }} as as_of_month,
        (
            (extract(year from {{ as_of_month() }}) - extract(year from first_month)) * 12
            + extract(month from {{ as_of_month() }}) - extract(month from first_month) + 1
        ) as months_expected
    from months

)

select *
from checked
where last_month <> as_of_month
    or months_present <> months_expected
