-- ODR disputes (在线消费纠纷), one row per dispute_id in its latest state as of the run, with its
-- assessment unit.
--
-- Per dispute, its handling deadline and its judgement at the run's as-of, taken from the
-- odr_handle clock of int_sla_clocks (the working-day rule is not repeated here): is_open /
-- is_overdue, and handled_on_time as ODR按时处理率 counts it (true = met, false = missed, null =
-- pending or undetermined); tests/assert_fact_flags_match_indicators.sql sums it to the figure.

-- Incremental: each build rewrites the rows of the keys new versions touch, and of the disputes
-- whose clock the as-of turned (pending → missed without a new version: the same keys
-- int_sla_clocks re-judged; macros/incremental/newest_versions.sql, sla_clocks.sql); the build
-- schema is kept from one publication to the next. Analysts filter `where is_overdue`: a partial
-- index holds only those rows.

{{ config(**newest_versions_config('stg_odr__disputes', ['dispute_id'],
                                   on_schema_change='append_new_columns',
                                   post_hook=['create index if not exists {{ this.identifier }}__overdue_ix'
                                              ~ ' on {{ this }} (unit_code) where is_overdue'])) }}

{%- set clocks_turned = sla_clocks_turning("clock_code = 'odr_handle'", clocks=ref('int_sla_clocks')) %}

with

disputes as (

    select * from {{ ref('int_odr_disputes_latest') }}
    where {{ newest_versions_touched(ref('stg_odr__disputes'), ['dispute_id'], also=clocks_turned) }}

),

clocks as (

    select * from {{ ref('int_sla_clocks') }}
    where clock_code = 'odr_handle'
        and {{ newest_versions_touched(ref('stg_odr__disputes'), ['dispute_id'], columns=['item_id'],
                                       also=clocks_turned) }}

),

final as (

    select
        disputes.dispute_id,
        disputes.enterprise_uscc,
        disputes.enterprise_name,
        disputes.region_code,
        disputes.unit_code,
        disputes.status,
        disputes.disputed_amount,
        disputes.filed_at,
        disputes.filed_at_local,
        disputes.closed_at,
        disputes.closed_at_local,
        disputes.updated_at,
        disputes.field_warnings,
        disputes.version_count,
        disputes.load_file_id,
        disputes.delivery_date,
        disputes.source_row,
        clocks.deadline_at_local as handle_deadline_at_local,
        clocks.deadline_beyond_calendar,
        clocks.calendar_status,
        -- every dispute has its clock (not_null tests); closed = a closing time with a closing
        -- status, where the clock stops (处理中 with a closing time is still open)
        clocks.is_open,
        clocks.is_open and clocks.sla_status = 'missed' as is_overdue,
        -- as ODR按时处理率 counts the clock: met → true, missed → false, pending or undetermined → null
        case clocks.sla_status when 'met' then true when 'missed' then false end as handled_on_time
    from disputes
    left join clocks
        on clocks.item_id = disputes.dispute_id

)

select * from final
