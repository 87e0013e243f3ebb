-- mart_enterprise_complaints loses nothing: per unit and period, its enterprises' recovered loss
-- adds up to the indicator recovered_loss_yuan (mart_indicator_period), whose count it repeats
-- (work orders closed in the period), and its complaints to every 投诉 registered in the unit in
-- the period. A work order naming no enterprise is on the 未识别被诉主体 line, so it counts too.

with

enterprises as (

    select
        period,
        unit_code,
        sum(recovered_loss) as recovered_loss,
        sum(complaints) as complaints
    from {{ ref('mart_enterprise_complaints') }}
    group by period, unit_code

),

indicator as (

    select period, unit_code, value as recovered_loss
    from {{ ref('mart_indicator_period') }}
    where indicator_code = 'recovered_loss_yuan'

),

registered as (

    select
        period_months.period,
        work_orders.unit_code,
        count(*) as complaints
    from {{ ref('int_work_orders_latest') }} as work_orders
    inner join {{ ref('int_period_months') }} as period_months
        on period_months.month = cast(date_trunc('month', work_orders.registered_at_local) as date)
    where work_orders.kind = '投诉'
    group by period_months.period, work_orders.unit_code

),

compared as (

    select
        coalesce(indicator.period, enterprises.period) as period,
        coalesce(indicator.unit_code, enterprises.unit_code) as unit_code,
        coalesce(indicator.recovered_loss, 0) as indicator_recovered_loss,
        coalesce(enterprises.recovered_loss, 0) as enterprises_recovered_loss,
        coalesce(registered.complaints, 0) as registered_complaints,
        coalesce(enterprises.complaints, 0) as enterprises_complaints
    from indicator
    full outer join enterprises
        on enterprises.period = indicator.period
        and enterprises.unit_code = indicator.unit_code
    left join registered
        on registered.period = coalesce(indicator.period, enterprises.period)
        and registered.unit_code = coalesce(indicator.unit_code, enterprises.unit_code)

)

select * from compared
where indicator_recovered_loss <> enterprises_recovered_loss
    or registered_complaints <> enterprises_complaints
