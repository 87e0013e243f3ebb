-- Indicator family "hotline totals" (indicators.md), per unit and local month, in the long
-- format of mart_indicator_monthly. Sums and counts: value = numerator = the figure,
-- denominator null.
--
--   recovered_loss_yuan 挽回经济损失（元）  sum of 挽回经济损失 of work orders (any kind) closed in the
--                                          month (an empty amount adds nothing)
--   tourism_complaints  旅游投诉件数        投诉 registered in the month with 是否涉旅 = 是

-- Incremental by month: a build recomputes the months a change can reach (macros/incremental/indicator_months.sql).

{{ config(**indicator_months_config()) }}

with

-- not materialized: read twice below, PostgreSQL would otherwise materialise every row of the
-- table before the month filters apply (a night read all of history)
work_orders as not materialized (

    select * from {{ ref('int_work_orders_latest') }}

),

recovered_loss as (

    select
        'recovered_loss_yuan' as indicator_code,
        unit_code,
        cast(date_trunc('month', closed_at_local) as date) as month,
        sum(coalesce(recovered_loss, 0)) as numerator,
        cast(null as numeric) as denominator
    from work_orders
    where closed_at_local is not null
        and {{ indicator_months_since('closed_at_local') }}
    group by 1, 2, 3

),

tourism_complaints as (

    select
        'tourism_complaints' as indicator_code,
        unit_code,
        cast(date_trunc('month', registered_at_local) as date) as month,
        count(*) as numerator,
        cast(null as numeric) as denominator
    from work_orders
    where kind = '投诉'
        and is_tourism
        and {{ indicator_months_since('registered_at_local') }}
    group by 1, 2, 3

),

figures as (

    select indicator_code, unit_code, month, numerator, denominator from recovered_loss
    union all
    select indicator_code, unit_code, month, numerator, denominator from tourism_complaints

),

final as (

    {{ indicator_family_rows('hotline_totals') }}

)

select * from final
