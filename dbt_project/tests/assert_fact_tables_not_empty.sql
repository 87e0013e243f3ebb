-- Each fact table has rows. A warning, not a stop: a fact table is empty before its feed's first
-- delivery; once the feed has delivered it never shrinks to nothing (raw keeps every version), so
-- an empty one after that is worth a look (every indicator it feeds is then zero). It reads the
-- whole table, not the rows this build wrote (a night without a delivery writes none), hence a
-- singular test. Fails with each empty fact table.
{{ config(severity='warn') }}

with

facts as (

    select 'fct_work_orders' as fact_table, exists (select 1 from {{ ref('fct_work_orders') }}) as has_rows
    union all
    select 'fct_odr_disputes', exists (select 1 from {{ ref('fct_odr_disputes') }})
    union all
    select 'fct_return_reports', exists (select 1 from {{ ref('fct_return_reports') }})
    union all
    select 'fct_inspection_samples', exists (select 1 from {{ ref('fct_inspection_samples') }})

)

select fact_table, 'no rows' as problem
from facts
where not has_rows
