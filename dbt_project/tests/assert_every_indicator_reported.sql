-- Every indicator of indicators.md (ref_indicators) is in mart_indicator_monthly as soon as the
-- mart has any month, and nothing else is. Fails with each missing or unknown indicator_code.

with

reported as (

    select distinct indicator_code from {{ ref('mart_indicator_monthly') }}

),

catalogue as (

    select indicator_code from {{ ref('ref_indicators') }}
    where exists (select 1 from reported)

)

select 'missing from mart_indicator_monthly' as problem, indicator_code
from catalogue
where indicator_code not in (select indicator_code from reported)

union all

select 'not in ref_indicators' as problem, indicator_code
from reported
where indicator_code not in (select indicator_code from {{ ref('ref_indicators') }})
