"""
### cei_nightly — the consumer-environment index, every night

For one delivery date (or, when triggered with `delivery_dates`, several in order):

0. **wait_for_landing** — a scheduled night waits, without holding a worker slot, while a file of
   its delivery is still being written (temporary name, or modified in the last
   `CEI_LANDING_SETTLE_S` seconds in a folder without `_SUCCESS`), until the cut-off
   `CEI_LANDING_CUTOFF` (06:00); then goes ahead and records what was missing (`cei status`);
1. **start** — opens a run in `meta.pipeline_runs` (as-of = last delivery date 23:59:59 local);
2. **ingest**, one task per feed — loads every file of the feed from
   `<landing>/<feed>/<YYYY-MM-DD>/` into `raw`, bad rows into `quarantine`, every file and count
   into the `meta.load_files` ledger; the feeds load side by side;
3. **gate_feeds**, one task per feed — Great Expectations suites `expectations/raw_<feed>.json`
   on the batches just loaded (rows, ledger shares, volume against the trailing 7 nights), inside
   PostgreSQL;
4. **build** — `dbt build` (seeds, models, tests) with the marts written into the build schema
   `marts__build`: nothing analysts read changes yet; the marts' data tests (duplicate keys, units
   missing from a period, rates outside [0, 1], index outside [0, 100] …) fail it;
5. **gate_marts** — Great Expectations suites `expectations/marts.<table>.json` on `marts__build`
   (the review warning on 消费维权满意率 moving month over month);
6. **publish** — swaps `marts__build` in as `marts` in one transaction and re-grants the
   analysts' role: only a run whose gates passed becomes what analysts and exports read;
7. **export** — refreshes the provincial assessment export (CSV, XLSX, manifest) of every
   period the night's data touched, into `CEI_EXPORT_DIR`; a final period is never overwritten
   (a changed figure writes `assessment_<P>.rev<N>.*`);
8. **report** — writes the monthly 12315 data-analysis report (HTML and PDF, `cei.report`) of
   each month the night closes (provisional) or turns final, into `CEI_REPORT_DIR`;
9. **finish** — marks the run succeeded.

**Retries and alerts.** A lost or refused warehouse connection is retried with back-off
(`CEI_TASK_RETRIES`, first after `CEI_RETRY_DELAY_S`, then doubling); a failed gate or bad input
fails at once. A night that fails for good is recorded in `meta.alerts` (`cei status`) and
POSTed as JSON to `CEI_ALERT_WEBHOOK` when set (`cei.nightly`).

**Write–audit–publish.** A critical expectation failing in either gate fails its task with a
one-line message for the data steward (feed or mart, expectation, observed vs expected); the
tasks after it do not run, the run is marked failed in `meta.pipeline_runs`, and yesterday's
`marts` stay published and readable. Every result is in `meta.quality_results`, each suite's
outcome in `meta.quality_gates`, and the validations as Data Docs under `CEI_HOME/data_docs`;
`cei status` summarises them. A batch that failed the feeds gate is gated again every night
until the data steward withdraws it (`cei files withdraw`, README "A failed night").

**Calendar.** The build logs a warning while this or next year's official calendar is
provisional (no State Council schedule imported yet: `cei calendar import`); figures that
depend on it are marked so and their periods are not exported as final.

The scheduled run at 02:00 Asia/Shanghai on day D+1 processes delivery date D (files that
arrived during the night of D). Trigger with conf `{"landing": "...", "delivery_dates": [...]}`
to run other dates; `cei run` does exactly that through this DAG.

All work lives in the `cei` package (`plugins/cei/pipeline.py`); this file only declares the flow.
"""

from __future__ import annotations

from datetime import timedelta

from airflow.sdk import CronTriggerTimetable, Param, PokeReturnValue, dag, get_current_context, task

from cei import settings
from cei.nightly import NightFailed

LOCAL_TZ = "Asia/Shanghai"
SETTINGS = settings.load()  # environment variables only: nothing heavy at parse time


@dag(
    dag_id="cei_nightly",
    # No start date: the service's first run is the coming 02:00, not a surprise run of last
    # night on the day it is started (trigger that one by hand, or `cei run`). run_immediately=0:
    # Airflow's default would still run last night when started within 2.4 h (a tenth of a day).
    schedule=CronTriggerTimetable("0 2 * * *", timezone=LOCAL_TZ, run_immediately=timedelta(0)),
    catchup=False,
    max_active_runs=1,  # nights run one after another, never interleaved
    doc_md=__doc__,
    tags=["cei", "nightly", "consumer-protection"],
    default_args={
        "owner": "consumer-protection-data",
        # a transient warehouse failure is retried with back-off; a failed gate or bad input is
        # not (cei.nightly.run_step); a task failed for good raises the night's alert
        "retries": SETTINGS.task_retries,
        "retry_delay": timedelta(seconds=SETTINGS.retry_delay_s),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
        "on_failure_callback": NightFailed(),
    },
    params={
        "landing": Param(None, type=["null", "string"], description="landing folder; default CEI_LANDING"),
        "delivery_dates": Param([], type="array", description="YYYY-MM-DD dates; default: the night before"),
    },
)
def cei_nightly():
    @task.sensor(poke_interval=60, mode="reschedule", timeout=timedelta(hours=20))
    def wait_for_landing() -> PokeReturnValue:
        from cei import nightly

        return nightly.poke_landing(get_current_context())

    @task
    def start(landing_note: str | None) -> int:
        from cei import nightly, pipeline

        ctx = get_current_context()
        landing, dates = nightly.night(ctx)
        return nightly.run_step(pipeline.start, landing, dates, ctx["run_id"], landing_note)

    @task
    def ingest(cei_run: int, feed: str) -> dict:
        from cei import nightly, pipeline

        return nightly.run_step(pipeline.ingest, cei_run, feed)

    @task
    def gate_feeds(cei_run: int, feed: str) -> dict:
        from cei import nightly, pipeline

        return nightly.run_step(pipeline.gate_feeds, cei_run, feed)

    @task
    def build(cei_run: int) -> dict:
        from cei import nightly, pipeline

        return nightly.run_step(pipeline.build, cei_run)

    @task
    def gate_marts(cei_run: int) -> dict:
        from cei import nightly, pipeline

        return nightly.run_step(pipeline.gate_marts, cei_run)

    @task
    def publish(cei_run: int) -> dict:
        from cei import nightly, pipeline

        return nightly.run_step(pipeline.publish, cei_run)

    @task
    def export(cei_run: int) -> dict:
        from cei import nightly, pipeline

        return nightly.run_step(pipeline.export, cei_run)

    @task
    def report(cei_run: int) -> dict:
        from cei import nightly, pipeline

        return nightly.run_step(pipeline.report, cei_run)

    @task
    def finish(cei_run: int) -> dict:
        from cei import nightly, pipeline

        return nightly.run_step(pipeline.finish, cei_run)

    # `cei_run` is the warehouse's run id (meta.pipeline_runs); Airflow reserves `run_id`.
    # Every task depends on the one before (default trigger rule all_success): a failed gate
    # leaves everything after it unrun.
    cei_run = start(wait_for_landing())
    # one task per feed (dynamic task mapping): the feeds load and are gated side by side, on
    # as many workers as there are (CeleryExecutor)
    loaded = ingest.partial(cei_run=cei_run).expand(feed=list(settings.FEED_NAMES))
    gated = gate_feeds.partial(cei_run=cei_run).expand(feed=list(settings.FEED_NAMES))
    built = build(cei_run)
    audited = gate_marts(cei_run)
    published = publish(cei_run)
    exported = export(cei_run)  # reads the published marts only
    reported = report(cei_run)  # reads the published marts only
    done = finish(cei_run)
    loaded >> gated >> built >> audited >> published >> exported >> reported >> done


cei_nightly()
