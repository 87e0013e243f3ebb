-- Personal data never reaches the analysts' schema (feeds.md "Personal data"): no column of any
-- table or view in `marts` is a consumer's name or phone, not even hashed.
-- depends_on: {{ ref('fct_work_orders') }}
-- depends_on: {{ ref('fct_odr_disputes') }}
-- depends_on: {{ ref('fct_return_reports') }}
-- depends_on: {{ ref('fct_inspection_samples') }}
-- depends_on: {{ ref('mart_indicator_monthly') }}
-- depends_on: {{ ref('dim_region') }}
-- depends_on: {{ ref('dim_unit') }}
-- depends_on: {{ ref('dim_date') }}
-- depends_on: {{ ref('dim_indicator') }}
-- depends_on: {{ ref('mart_indicator_period') }}
-- depends_on: {{ ref('mart_indicator_score') }}
-- depends_on: {{ ref('mart_cei') }}
-- depends_on: {{ ref('dim_category') }}
-- depends_on: {{ ref('mart_enterprise_complaints') }}
-- depends_on: {{ ref('mart_repeat_complainants') }}
-- mart_repeat_complainants counts by `complainant_key`, a pseudonym derived from the phone's keyed
-- HMAC (int_work_order_complainants): deliberately named so that none of the patterns below
-- matches it, while a phone, a consumer's anything or an HMAC copied into a mart still fails here.

select
    table_name,
    column_name
from information_schema.columns
where table_schema = '{{ ref("fct_work_orders").schema }}'
    and (
        column_name ilike '%phone%'
        or column_name ilike '%consumer%'
        or column_name ilike '%hmac%'
        or column_name ilike '%mobile%'
    )
