-- 12315 / 12345 work orders (工单), one row per work_order_id in its latest state as of the run,
-- with its assessment unit. No personal data: the consumer's name is never stored and the
-- phone hash stays in staging.
--
-- Per case, its statutory deadlines and their judgement at the run's as-of, taken from
-- int_sla_clocks (the working-day rule is not repeated here): the deadlines that apply, is_open /
-- is_overdue, and the on-time flags the indicators count (true = met, false = missed, null =
-- pending, not applicable or undetermined), so that summing them gives the efficiency figures
-- (tests/assert_fact_flags_match_indicators.sql).

-- Incremental: each build rewrites the rows of the keys new versions touch, and of the work
-- orders whose clocks the as-of turned (pending → missed without a new version: the same keys
-- int_sla_clocks re-judged; macros/incremental/newest_versions.sql, sla_clocks.sql); the build
-- schema is kept from one publication to the next. Analysts filter `where is_overdue`: a partial
-- index holds only those rows.

{{ config(**newest_versions_config('stg_hotline__work_orders', ['work_order_id'],
                                   on_schema_change='append_new_columns',
                                   post_hook=['create index if not exists {{ this.identifier }}__overdue_ix'
                                              ~ ' on {{ this }} (unit_code) where is_overdue'])) }}

-- The 12315 category of the text (int_category_texts): a change of the map recomputes every key.
{{ config(meta={'incremental_inputs': ['int_category_texts']}) }}

{%- set clocks_turned = sla_clocks_turning("clock_code <> 'odr_handle'", clocks=ref('int_sla_clocks')) %}

with

work_orders as (

    select * from {{ ref('int_work_orders_latest') }}
    where {{ newest_versions_touched(ref('stg_hotline__work_orders'), ['work_order_id'], also=clocks_turned) }}

),

clocks as (

    select
        *,
        -- as the on-time indicators count a clock: met → true, missed → false, pending or
        -- undetermined (not judged) → null
        case sla_status when 'met' then true when 'missed' then false end as on_time
    from {{ ref('int_sla_clocks') }}
    where clock_code in ('complaint_accept', 'complaint_close', 'report_verify')
        and {{ newest_versions_touched(ref('stg_hotline__work_orders'), ['work_order_id'], columns=['item_id'],
                                       also=clocks_turned) }}

),

category_texts as (

    select * from {{ ref('int_category_texts') }}

),

-- one row per work order: its clocks side by side (at most one of each code)
clocks_by_work_order as (

    select
        item_id as work_order_id,
        max(deadline_at_local) filter (where clock_code = 'complaint_accept') as accept_deadline_at_local,
        max(deadline_at_local) filter (where clock_code = 'complaint_close') as close_deadline_at_local,
        max(deadline_at_local) filter (where clock_code = 'report_verify') as verify_deadline_at_local,
        bool_or(deadline_beyond_calendar) as deadline_beyond_calendar,
        bool_or(calendar_status = 'provisional') as provisional_calendar,
        -- a statutory step still awaited at as-of whose deadline has passed
        bool_or(is_open and sla_status = 'missed') as awaits_overdue_step,
        bool_or(on_time) filter (where clock_code = 'complaint_accept') as accepted_on_time,
        bool_or(on_time) filter (where clock_code = 'complaint_close') as closed_on_time,
        bool_or(on_time) filter (where clock_code = 'report_verify') as verified_on_time
    from clocks
    group by item_id

),

final as (

    select
        work_orders.work_order_id,
        work_orders.kind,
        work_orders.channel,
        work_orders.region_code,
        work_orders.unit_code,
        work_orders.handling_unit,
        work_orders.respondent_name,
        work_orders.respondent_uscc,
        work_orders.category,
        work_orders.is_tourism,
        work_orders.disputed_amount,
        work_orders.recovered_loss,
        work_orders.outcome,
        work_orders.callback,
        work_orders.registered_at,
        work_orders.registered_at_local,
        work_orders.accepted_at,
        work_orders.accepted_at_local,
        work_orders.closed_at,
        work_orders.closed_at_local,
        work_orders.updated_at,
        work_orders.field_warnings,
        work_orders.version_count,
        work_orders.load_file_id,
        work_orders.delivery_date,
        work_orders.source_row,
        clocks_by_work_order.accept_deadline_at_local,
        clocks_by_work_order.close_deadline_at_local,
        clocks_by_work_order.verify_deadline_at_local,
        coalesce(clocks_by_work_order.deadline_beyond_calendar, false) as deadline_beyond_calendar,
        case when clocks_by_work_order.provisional_calendar then 'provisional' else 'official' end
            as calendar_status,
        work_orders.closed_at_local is null as is_open,
        -- open and past a deadline: a closed order never is, even if a clock of it still runs
        -- (a complaint closed with no acceptance decision: accepted_on_time says it was missed)
        work_orders.closed_at_local is null and coalesce(clocks_by_work_order.awaits_overdue_step, false)
            as is_overdue,
        clocks_by_work_order.accepted_on_time,
        clocks_by_work_order.closed_on_time,
        clocks_by_work_order.verified_on_time,
        -- empty for a text the map does not know (the marts gate lists those) or no text
        category_texts.category_code,
        category_texts.category_level1_code
    from work_orders
    left join clocks_by_work_order
        on clocks_by_work_order.work_order_id = work_orders.work_order_id
    left join category_texts
        on category_texts.category_text = work_orders.category

)

select * from final
