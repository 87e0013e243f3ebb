-- THE deadline rule (indicators.md), in one place: for every calendar day and every statutory
-- working-day count N (vars deadline_*_days, passed from plugins/cei/settings.py), the deadline
-- of "N working days after a timestamp on that day":
--
--   the start day does not count; count N working days from the next day on; the deadline is
--   the end (23:59:59 local) of the N-th. Registered Friday 2025-09-26 10:00, N = 7 → Sep 28
--   (make-up Sunday), 29, 30, Oct 9, 10, 11 (make-up Saturday), 13 → 2025-10-13 23:59:59.
--
-- Every SLA clock (int_sla_clocks) looks its deadline up here by (local start date, N). When the
-- N-th working day lies after the calendar's last day the deadline is null and
-- deadline_beyond_calendar is true: never extrapolated. deadline_provisional: the count went
-- over a day of a provisional year (after the start day, up to the deadline or, beyond the
-- calendar, its end), so the deadline may move once that year's schedule is imported;
-- provisional_from is then the first such day (before it, the deadline is certainly later).

{%- set working_day_counts = [
    var('deadline_complaint_accept_days'),
    var('deadline_complaint_mediation_days'),
    var('deadline_report_verify_days'),
    var('deadline_odr_days'),
] | map('int') | unique | list %}

with

days as (

    select * from {{ ref('int_calendar_days') }}

),

working_day_counts as (

    select cast(working_days as integer) as working_days
    from (values {% for n in working_day_counts %}({{ n }}){% if not loop.last %}, {% endif %}{% endfor %}) as counts (working_days)

),

starts as (

    select
        days.calendar_date as start_date,
        working_day_counts.working_days,
        days.workday_ordinal + working_day_counts.working_days as deadline_ordinal,
        days.provisional_ordinal as start_provisional_ordinal,
        days.next_provisional_date
    from days
    cross join working_day_counts

),

working_days as (

    select
        calendar_date,
        workday_ordinal,
        provisional_ordinal
    from days
    where is_workday

),

calendar_end as (

    select max(provisional_ordinal) as provisional_ordinal
    from days

),

final as (

    select
        starts.start_date,
        starts.working_days,
        working_days.calendar_date as deadline_date,
        working_days.calendar_date + time '23:59:59' as deadline_at_local,
        working_days.calendar_date is null as deadline_beyond_calendar,
        coalesce(working_days.provisional_ordinal, calendar_end.provisional_ordinal)
            > starts.start_provisional_ordinal as deadline_provisional,
        case
            when coalesce(working_days.provisional_ordinal, calendar_end.provisional_ordinal)
                > starts.start_provisional_ordinal
                then starts.next_provisional_date
        end as provisional_from
    from starts
    cross join calendar_end
    left join working_days
        on working_days.workday_ordinal = starts.deadline_ordinal

)

select * from final
