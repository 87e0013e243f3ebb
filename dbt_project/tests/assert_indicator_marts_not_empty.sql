-- The published figures are never replaced by nothing: once any fact table has a row,
-- mart_indicator_monthly (its grid runs from the first month with data to the as-of month),
-- mart_indicator_period (every month, quarter and year of that grid) and mart_cei (the index for
-- each of those periods) each have rows. Only a warehouse without any data may build them empty.
-- A singular test because it reads whole tables. Fails with each empty mart.

with

facts as (

    select exists (select 1 from {{ ref('fct_work_orders') }})
        or exists (select 1 from {{ ref('fct_odr_disputes') }})
        or exists (select 1 from {{ ref('fct_return_reports') }})
        or exists (select 1 from {{ ref('fct_inspection_samples') }}) as any_rows

),

marts as (

    select 'mart_indicator_monthly' as mart, exists (select 1 from {{ ref('mart_indicator_monthly') }}) as has_rows
    union all
    select 'mart_indicator_period', exists (select 1 from {{ ref('mart_indicator_period') }})
    union all
    select 'mart_cei', exists (select 1 from {{ ref('mart_cei') }})

)

select marts.mart, 'empty although the fact tables have rows' as problem
from marts
cross join facts
where facts.any_rows and not marts.has_rows
