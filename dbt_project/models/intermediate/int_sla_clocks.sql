-- Every statutory clock of every item, judged at the run's as-of (var as_of, never the wall
-- clock): one row per (clock_code, item_id). The deadline comes from int_working_day_deadlines
-- (the one place the working-day rule lives); every SLA indicator counts from here.
--
--   clock_code        item                                    starts          stops at                N
--   complaint_accept  投诉                                      登记时间         受理时间 (受理 or 不予受理)  deadline_complaint_accept_days (7)
--   complaint_close   accepted 投诉 (受理时间 set, not 不予受理)   受理时间         办结时间                  deadline_complaint_mediation_days (45)
--   report_verify     举报                                      登记时间         办结时间                  deadline_report_verify_days (15)
--   odr_handle        ODR dispute                              filed_at        closed_at (closed status) deadline_odr_days (10)
--
-- sla_status:
--   met           stopped at or before the deadline (a whole second: 23:59:59 is on time,
--                 00:00:00 the next day is late) by the event the clock waits for
--   missed        stopped after the deadline; or stopped by another event (a 举报 closed with
--                 neither 已立案 nor 不予立案); or still open at as-of with the deadline at or before as-of
--   pending       still open at as-of and the deadline after as-of: not judged yet
--   undetermined  the judgement needs working days the calendar does not have (the start
--                 day, or a deadline and the stop/as-of, outside its years). Never guessed:
--                 tests/assert_sla_judgements_within_calendar.sql fails the build.
-- A deadline after the calendar's last day (deadline_beyond_calendar, null deadline) is still
-- judged exactly when the stop (or, if open, the as-of) is within the calendar: the deadline is
-- then certainly later.
--
-- calendar_status: 'provisional' when the deadline was counted over days of a provisional year
-- (int_working_day_deadlines.provisional_from) and the clock is open or stopped on or after the
-- first of them; else 'official' — a clock stopped before it met a deadline that lies after it,
-- whatever that year's schedule. An open clock is provisional whatever the as-of, so that its
-- status never changes without a new version (the build re-judges what a version touches).
--
-- Incremental (macros/incremental/newest_versions.sql): a build re-judges the clocks of the work orders and
-- disputes a night touched, and the open clocks whose judgement the as-of turns (their deadline
-- between the last build's as-of and this one, or beyond the calendar: macros/incremental/sla_clocks.sql);
-- every clock when the SQL, the region mapping, the deadlines or an upstream model's inputs changed.
--
-- A new column reaches an existing table (on_schema_change): the model's SQL changed, so that
-- build rejudges every clock and fills it. A removed or retyped column needs --full-refresh.

{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['item_id', 'clock_code'],
    on_schema_change='append_new_columns',
    meta={'incremental_inputs': ['int_working_day_deadlines']},
    pre_hook=[
        "{{ newest_versions_forget_touched(ref('stg_hotline__work_orders'), ['work_order_id'], columns=['item_id'], where=\"clock_code <> 'odr_handle'\") }}",
        "{{ newest_versions_forget_touched(ref('stg_odr__disputes'), ['dispute_id'], columns=['item_id'], where=\"clock_code = 'odr_handle'\") }}",
    ],
    post_hook=[
        "{{ newest_versions_save_watermark([ref('stg_hotline__work_orders'), ref('stg_odr__disputes')], ['item_id', 'clock_code'], lineage=false,
                                           indexes=['start_month', 'stop_month', 'deadline_month', 'built_through_file_id']) }}",
        "{% if not is_incremental() %}create index on {{ this }} (deadline_at_local) where is_open{% endif %}",
    ],
) }}

with

work_orders as (

    select * from {{ ref('int_work_orders_latest') }}
    where {{ newest_versions_touched(ref('stg_hotline__work_orders'), ['work_order_id'],
                                     also=sla_clocks_turning("clock_code <> 'odr_handle'")) }}

),

disputes as (

    select * from {{ ref('int_odr_disputes_latest') }}
    where {{ newest_versions_touched(ref('stg_odr__disputes'), ['dispute_id'],
                                     also=sla_clocks_turning("clock_code = 'odr_handle'")) }}
),

deadlines as (

    select * from {{ ref('int_working_day_deadlines') }}

),

calendar_bounds as (

    select
        min(start_date) as first_day,
        max(start_date) as last_day
    from deadlines

),

clocks as (

    select
        'complaint_accept' as clock_code,
        work_order_id as item_id,
        unit_code,
        registered_at_local as started_at_local,
        {{ var('deadline_complaint_accept_days') | int }} as working_days,
        accepted_at_local as stopped_at_local,
        true as stop_qualifies
    from work_orders
    where kind = '投诉'

    union all

    select
        'complaint_close' as clock_code,
        work_order_id as item_id,
        unit_code,
        accepted_at_local as started_at_local,
        {{ var('deadline_complaint_mediation_days') | int }} as working_days,
        closed_at_local as stopped_at_local,
        true as stop_qualifies
    from work_orders
    where kind = '投诉'
        and accepted_at_local is not null
        and outcome is distinct from '不予受理'

    union all

    select
        'report_verify' as clock_code,
        work_order_id as item_id,
        unit_code,
        registered_at_local as started_at_local,
        {{ var('deadline_report_verify_days') | int }} as working_days,
        closed_at_local as stopped_at_local,
        coalesce(outcome in ('已立案', '不予立案'), false) as stop_qualifies
    from work_orders
    where kind = '举报'

    union all

    -- A dispute is closed when it has a closing time and a closing status (和解成功, 和解失败,
    -- 转行政调解); 处理中 with a closing time, or a closing status without one, is still open.
    select
        'odr_handle' as clock_code,
        dispute_id as item_id,
        unit_code,
        filed_at_local as started_at_local,
        {{ var('deadline_odr_days') | int }} as working_days,
        case when status <> '处理中' then closed_at_local end as stopped_at_local,
        true as stop_qualifies
    from disputes

),

with_deadlines as (

    select
        clocks.*,
        deadlines.deadline_at_local,
        deadlines.deadline_date,
        coalesce(deadlines.deadline_beyond_calendar, true) as deadline_beyond_calendar,
        deadlines.provisional_from,
        cast(clocks.started_at_local as date) between calendar_bounds.first_day and calendar_bounds.last_day
            as start_in_calendar,
        -- the instant the calendar ends: the first moment of the day after its last day
        cast(calendar_bounds.last_day + 1 as timestamp) as calendar_end_local
    from clocks
    cross join calendar_bounds
    left join deadlines
        on deadlines.start_date = cast(clocks.started_at_local as date)
        and deadlines.working_days = clocks.working_days

),

judged as (

    select
        *,
        case
            when stopped_at_local is not null and not stop_qualifies then 'missed'
            when not coalesce(start_in_calendar, false) then 'undetermined'
            when deadline_date is not null then
                case
                    -- on time: before the first moment of the day after the deadline day, i.e. at
                    -- or before its 23:59:59
                    when stopped_at_local is not null and stopped_at_local < cast(deadline_date + 1 as timestamp)
                        then 'met'
                    when stopped_at_local is not null then 'missed'
                    when deadline_at_local > {{ as_of_local() }} then 'pending'
                    else 'missed'
                end
            -- the deadline lies after the calendar's end: known to be later than any moment in it
            when stopped_at_local is not null and stopped_at_local < calendar_end_local then 'met'
            when stopped_at_local is null and {{ as_of_local() }} < calendar_end_local then 'pending'
            else 'undetermined'
        end as sla_status
    from with_deadlines

),

final as (

    select
        clock_code,
        item_id,
        unit_code,
        started_at_local,
        cast(date_trunc('month', started_at_local) as date) as start_month,
        working_days,
        deadline_at_local,
        cast(date_trunc('month', deadline_at_local) as date) as deadline_month,
        deadline_beyond_calendar,
        stopped_at_local,
        cast(date_trunc('month', stopped_at_local) as date) as stop_month,
        stop_qualifies,
        stopped_at_local is null as is_open,
        sla_status,
        case
            when provisional_from is not null
                and (stopped_at_local is null or stopped_at_local >= cast(provisional_from as timestamp))
                then 'provisional'
            else 'official'
        end as calendar_status,
        -- build lineage: this model has no version lineage, and a build also rewrites clocks
        -- no new version touched (the as-of turned them); its tests read those it rewrote
        {{ newest_versions_through([ref('stg_hotline__work_orders'), ref('stg_odr__disputes')]) }}
            as built_through_file_id
    from judged

)

select * from final
