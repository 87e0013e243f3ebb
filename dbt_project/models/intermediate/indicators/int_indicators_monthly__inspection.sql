-- Indicator family "product quality" (商品质量, indicators.md), per unit and local month of
-- 抽样日期, in the long format of mart_indicator_monthly. Each batch in its latest state as of
-- the run (a re-test may overturn a result). Lower is better.
--
--   inspection_fail_rate          抽检不合格率       batches sampled in the month with 不合格 / batches sampled in the month
--   inspection_fail_rate_online   网络抽检不合格率   the same over channel 网络平台
--   inspection_fail_rate_offline  实体店抽检不合格率 the same over channel 实体店

-- Incremental by month: a build recomputes the months a change can reach (macros/incremental/indicator_months.sql).

{{ config(**indicator_months_config()) }}

with

samples as (

    select * from {{ ref('int_inspection_samples_latest') }}

),

by_channel as (

    select
        unit_code,
        cast(date_trunc('month', sampled_on) as date) as month,
        sales_channel,
        count(*) filter (where inspection_result = '不合格') as failed,
        count(*) as sampled
    from samples
    where {{ indicator_months_since('sampled_on') }}
    group by 1, 2, 3

),

figures as (

    select
        'inspection_fail_rate' as indicator_code,
        unit_code,
        month,
        sum(failed) as numerator,
        sum(sampled) as denominator
    from by_channel
    group by 1, 2, 3

    union all

    select
        case sales_channel
            when '网络平台' then 'inspection_fail_rate_online'
            when '实体店' then 'inspection_fail_rate_offline'
        end as indicator_code,
        unit_code,
        month,
        sum(failed) as numerator,
        sum(sampled) as denominator
    from by_channel
    where sales_channel in ('网络平台', '实体店')
    group by 1, 2, 3

),

final as (

    {{ indicator_family_rows('inspection') }}

)

select * from final
