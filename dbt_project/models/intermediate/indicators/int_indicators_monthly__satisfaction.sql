-- Indicator family "satisfaction" (indicators.md), per unit and local month, in the long
-- format of mart_indicator_monthly:
--
--   satisfaction_rate 消费维权满意率
--     numerator   = work orders (latest state) closed in the month with callback 满意 or 基本满意
--     denominator = work orders closed in the month with callback 满意, 基本满意 or 不满意
--     (无法联系 and no callback are in neither); value = numerator / denominator, null when 0.
--
-- "Closed in the month" is the local (Asia/Shanghai) month of 办结时间.

-- Incremental by month: a build recomputes the months a change can reach (macros/incremental/indicator_months.sql).

{{ config(**indicator_months_config()) }}

with

unit_months as (

    select * from {{ ref('int_unit_months') }}

),

closed_work_orders as (

    select
        unit_code,
        cast(date_trunc('month', closed_at_local) as date) as month,
        callback
    from {{ ref('int_work_orders_latest') }}
    where closed_at_local is not null
        and {{ indicator_months_since('closed_at_local') }}

),

monthly as (

    select
        unit_code,
        month,
        count(*) filter (where callback in ('满意', '基本满意')) as satisfied,
        count(*) filter (where callback in ('满意', '基本满意', '不满意')) as rated
    from closed_work_orders
    group by unit_code, month

),

final as (

    select
        unit_months.unit_code,
        unit_months.month,
        'satisfaction_rate' as indicator_code,
        cast(coalesce(monthly.satisfied, 0) as numeric) as numerator,
        cast(coalesce(monthly.rated, 0) as numeric) as denominator,
        {{ safe_ratio('coalesce(monthly.satisfied, 0)', 'coalesce(monthly.rated, 0)') }} as value,
        'official' as calendar_status  -- no deadline in it
    from unit_months
    left join monthly
        on monthly.unit_code = unit_months.unit_code
        and monthly.month = unit_months.month
    where {{ indicator_months_since('unit_months.month') }}

)

select * from final
