"""
### cei_nightly — the consumer-environment index, every night

For one delivery date (or, when triggered with `delivery_dates`, several in order):

1. **start** — opens a run in `meta.pipeline_runs` (as-of = last delivery date 23:59:59 local);
2. **ingest** — loads every file of the four feeds from `<landing>/<feed>/<YYYY-MM-DD>/`
   into `raw`, bad rows into `quarantine`, every file and count into the `meta.load_files` ledger;
3. **gate_feeds** — Great Expectations suites in `expectations/` on the batches just loaded;
   a critical failure stops here, so nothing downstream runs on bad data;
4. **build** — `dbt build` (seeds, models, tests) up to the analysts' `marts`;
5. **finish** — marks the run succeeded.

The scheduled run at 02:00 Asia/Shanghai on day D+1 processes delivery date D (files that
arrived during the night of D). Trigger with conf `{"landing": "...", "delivery_dates": [...]}`
to run other dates; `cei run` does exactly that through this DAG.

All work lives in the `cei` package (`plugins/cei/pipeline.py`); this file only declares the flow.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task

LOCAL_TZ = "Asia/Shanghai"


@dag(
    dag_id="cei_nightly",
    schedule=CronTriggerTimetable("0 2 * * *", timezone=LOCAL_TZ),
    start_date=pendulum.datetime(2026, 1, 1, tz=LOCAL_TZ),
    catchup=False,
    max_active_runs=1,  # nights run one after another, never interleaved
    doc_md=__doc__,
    tags=["cei", "nightly", "consumer-protection"],
    default_args={"owner": "consumer-protection-data", "retries": 0},
    params={
        "landing": Param(None, type=["null", "string"], description="landing folder; default CEI_LANDING"),
        "delivery_dates": Param([], type="array", description="YYYY-MM-DD dates; default: the night before"),
    },
)
def cei_nightly():
    @task
    def start() -> int:
        from cei import pipeline, settings

        ctx = get_current_context()
        params = ctx["params"]
        triggered_at = ctx.get("logical_date") or pendulum.now(LOCAL_TZ)
        dates = params["delivery_dates"] or [
            (triggered_at.in_timezone(LOCAL_TZ).date() - pendulum.duration(days=1)).isoformat()
        ]
        landing = params["landing"] or str(settings.load().landing)
        return pipeline.start(landing, dates, airflow_run_id=ctx["run_id"])

    @task
    def ingest(cei_run: int) -> dict:
        from cei import pipeline

        return pipeline.ingest(cei_run)

    @task
    def gate_feeds(cei_run: int) -> dict:
        from cei import pipeline

        return pipeline.gate_feeds(cei_run)

    @task
    def build(cei_run: int) -> dict:
        from cei import pipeline

        return pipeline.build(cei_run)

    @task
    def finish(cei_run: int) -> dict:
        from cei import pipeline

        return pipeline.finish(cei_run)

    # `cei_run` is the warehouse's run id (meta.pipeline_runs); Airflow reserves `run_id`.
    cei_run = start()
    loaded = ingest(cei_run)
    gated = gate_feeds(cei_run)
    built = build(cei_run)
    done = finish(cei_run)
    loaded >> gated >> built >> done


cei_nightly()
