-- Complaints and reports per respondent enterprise, assessment unit and reporting period (month
-- '2026-03', quarter '2026Q1', year '2026': int_period_months), for the weekly question "who draws
-- the most complaints". Each figure counts as the indicator of the same thing does
-- (docs/indicators.md), so that an enterprise's rows add up to the unit's figures:
--   complaints, reports  投诉 / 举报 registered in the period (as tourism_complaints counts)
--   recovered_loss       挽回经济损失 of the work orders (any kind) closed in the period, an empty
--                        amount adding 0 (as recovered_loss_yuan: tests/assert_enterprise_complaints_add_up.sql)
-- The enterprise (identified_by):
--   uscc  a work order with a valid 统一社会信用代码; the name shown is the one that USCC's work orders
--         carry most often (ties: the one seen most recently, then the first by text)
--   name  no USCC: one line per respondent name as written (trimmed); never merged into a USCC line
--   none  neither: one line per unit and period, 未识别被诉主体, so nothing drops out of the totals
-- complaint_share: of the unit's complaints in the period. complaint_rank: competition ranking
-- (1, 1, 3) by complaints within unit and period, for identified enterprises with at least one
-- complaint; the 未识别 line and rows without a complaint have none.

with

work_orders as (

    select * from {{ ref('int_work_orders_latest') }}

),

period_months as (

    select * from {{ ref('int_period_months') }}

),

respondents as (

    select
        work_order_id,
        unit_code,
        kind,
        registered_at,
        registered_at_local,
        closed_at_local,
        recovered_loss,
        respondent_uscc,
        nullif(btrim(respondent_name), '') as respondent_name
    from work_orders

),

-- one name per USCC, over every work order as of the run: the same on every period's line
uscc_names as (

    select respondent_uscc, respondent_name
    from (
        select
            respondent_uscc,
            respondent_name,
            row_number() over (
                partition by respondent_uscc
                order by count(*) desc, max(registered_at) desc, respondent_name
            ) as name_rank
        from respondents
        where respondent_uscc is not null
            and respondent_name is not null
        group by respondent_uscc, respondent_name
    ) as named
    where name_rank = 1

),

identified as (

    select
        respondents.*,
        case
            when respondents.respondent_uscc is not null then 'uscc'
            when respondents.respondent_name is not null then 'name'
            else 'none'
        end as identified_by
    from respondents

),

-- a line per work order and the month each figure counts in
events as (

    select
        unit_code,
        identified_by,
        respondent_uscc,
        respondent_name,
        cast(date_trunc('month', registered_at_local) as date) as month,
        case when kind = '投诉' then 1 else 0 end as complaints,
        case when kind = '举报' then 1 else 0 end as reports,
        0 as recovered_loss
    from identified
    where kind in ('投诉', '举报')

    union all

    select
        unit_code,
        identified_by,
        respondent_uscc,
        respondent_name,
        cast(date_trunc('month', closed_at_local) as date) as month,
        0 as complaints,
        0 as reports,
        recovered_loss
    from identified
    where closed_at_local is not null
        and recovered_loss is not null

),

-- summed per month first: each month then joins its quarter and year as one row, not one per
-- work order
per_month as (

    select
        unit_code,
        identified_by,
        respondent_uscc,
        -- a USCC's line is named once, below
        case when identified_by = 'name' then respondent_name end as respondent_name,
        month,
        sum(complaints) as complaints,
        sum(reports) as reports,
        sum(recovered_loss) as recovered_loss
    from events
    group by 1, 2, 3, 4, 5

),

per_period as (

    select
        period_months.period,
        period_months.period_type,
        period_months.period_start,
        period_months.period_end,
        per_month.unit_code,
        per_month.identified_by,
        per_month.respondent_uscc,
        per_month.respondent_name,
        sum(per_month.complaints) as complaints,
        sum(per_month.reports) as reports,
        sum(per_month.recovered_loss) as recovered_loss
    from per_month
    inner join period_months
        on period_months.month = per_month.month
    group by 1, 2, 3, 4, 5, 6, 7, 8

),

ranked as (

    select
        per_period.*,
        sum(complaints) over (partition by period, unit_code) as unit_complaints,
        case when identified_by <> 'none' and complaints > 0 then
            rank() over (
                partition by period, unit_code, (identified_by <> 'none' and complaints > 0)
                order by complaints desc
            )
        end as complaint_rank
    from per_period

),

final as (

    select
        ranked.period,
        ranked.period_type,
        ranked.period_start,
        ranked.period_end,
        ranked.unit_code,
        units.unit_name,
        ranked.identified_by,
        ranked.respondent_uscc,
        case ranked.identified_by
            when 'uscc' then uscc_names.respondent_name
            when 'name' then ranked.respondent_name
            else '未识别被诉主体'
        end as respondent_name,
        ranked.complaints,
        ranked.reports,
        ranked.recovered_loss,
        round(ranked.complaints::numeric / nullif(ranked.unit_complaints, 0), 6) as complaint_share,
        ranked.complaint_rank
    from ranked
    left join {{ ref('dim_unit') }} as units
        on units.unit_code = ranked.unit_code
    left join uscc_names
        on uscc_names.respondent_uscc = ranked.respondent_uscc

)

select * from final
