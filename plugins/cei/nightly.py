"""What the nightly DAG's tasks run, as Airflow needs it: which night a run is, whether its
delivery is complete, the pipeline's steps with their failures sorted for Airflow's retries, and
the notifier that alerts on a failed night.

- A scheduled run at 02:00 on day D+1 processes delivery date D from CEI_LANDING; a triggered
  run (UI, REST API, `cei run`) the `landing` and `delivery_dates` of its conf.
- `poke_landing`, the sensor before `start`: a scheduled night waits (reschedule mode: no worker
  slot held) while a file of its delivery is still being written (cei.landing), until the
  cut-off `CEI_LANDING_CUTOFF` (06:00 local on the run's day); then it goes ahead with what is
  there. Its note — feeds without files, files still being written — is kept with the run
  (`meta.pipeline_runs.landing_note`, `cei status`). A triggered night does not wait.

- A lost or refused warehouse connection (`WarehouseError`: a server restarting, a terminated
  session) is transient: the task fails and Airflow retries it with back-off (the DAG's
  `retries`, `retry_delay`, `retry_exponential_backoff`); every step is safe to run again.
- Any other `CeiError` — a failed quality gate, bad input, a missing landing folder — would fail
  the same way again: `AirflowFailException`, no retry.
- `NightFailed`, the tasks' `on_failure_callback`, is called once a task has failed for good (not
  retried, or retried out): it records the alert in `meta.alerts` (`cei status` lists them) and,
  with `CEI_ALERT_WEBHOOK` set, POSTs one JSON object (dag_id, airflow_run_id, cei_run, task,
  try_number, reason, log_url, raised_at).
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import BaseNotifier, PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException

from cei import landing
from cei import settings as cfg
from cei.errors import CeiError, WarehouseError

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_S = 10


def night(context: Any) -> tuple[str, list[str]]:
    """The landing folder and delivery dates of a run: its conf, else CEI_LANDING and the day
    before the run's (local) date."""
    params = context["params"]
    run_day = (context.get("logical_date") or datetime.now(cfg.LOCAL_TZ)).astimezone(cfg.LOCAL_TZ).date()
    dates = params["delivery_dates"] or [(run_day - timedelta(days=1)).isoformat()]
    return params["landing"] or str(cfg.load().landing), dates


def poke_landing(context: Any) -> PokeReturnValue:
    """Done when no file of the night's delivery is still being written, or at the cut-off; the
    note on what is missing is the sensor's XCom value (see the module's docstring)."""
    s = cfg.load()
    folder, dates = night(context)
    now = datetime.now(cfg.LOCAL_TZ)
    scheduled = str(context["dag_run"].run_type).lower().endswith("scheduled")
    found = landing.deliveries(Path(folder), [date.fromisoformat(d) for d in dates], now,
                               s.landing_settle_s if scheduled else 0)
    note = landing.summary(found)
    if scheduled and any(d.writing for d in found):
        cutoff = datetime.combine(context["logical_date"].astimezone(cfg.LOCAL_TZ).date(), s.landing_cutoff,
                                  cfg.LOCAL_TZ)
        if now < cutoff:
            log.info("waiting for the delivery (until %s): %s", cutoff.strftime("%H:%M"), note)
            return PokeReturnValue(is_done=False)
        note = f"went ahead at the cut-off {cutoff:%H:%M}: {note}"
    if note:
        log.warning("landing: %s", note)
    return PokeReturnValue(is_done=True, xcom_value=note)


def run_step(step: Callable[..., Any], *args: Any) -> Any:
    """`step(*args)` (a function of cei.pipeline), its failure classified for Airflow."""
    try:
        return step(*args)
    except WarehouseError:
        raise  # transient: retried
    except CeiError as exc:
        raise AirflowFailException(str(exc)) from exc


def one_line(error: BaseException | str | None) -> str:
    text = error if isinstance(error, str) else (str(error) or type(error).__name__) if error else "unknown"
    return " ".join(text.split())[:1000]


class NightFailed(BaseNotifier):
    """The failed night's alert: a row of meta.alerts, and the webhook's POST when one is set."""

    def notify(self, context: Any) -> None:
        ti = context["ti"]
        cei_run = None
        try:
            cei_run = ti.xcom_pull(task_ids="start")
        except Exception:  # the alert goes out whatever the XCom store says
            log.warning("no cei run id for the alert of %s", ti.run_id)
        alert = {
            "dag_id": ti.dag_id,
            "airflow_run_id": ti.run_id,
            "cei_run": cei_run if isinstance(cei_run, int) else None,
            "task": ti.task_id,
            "try_number": ti.try_number,
            "reason": one_line(context.get("exception")),
            "log_url": ti.log_url,
            "raised_at": datetime.now(cfg.LOCAL_TZ).isoformat(timespec="seconds"),
        }
        answer = post(cfg.load().alert_webhook, alert)
        record(alert, answer)


def post(url: str | None, alert: dict) -> str | None:
    """POST the alert as JSON; the answer (HTTP status, or the error), None without a webhook."""
    if not url:
        return None
    req = urllib.request.Request(url, data=json.dumps(alert, ensure_ascii=False).encode(), method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(req, timeout=WEBHOOK_TIMEOUT_S) as resp:
            return f"HTTP {resp.status}"
    except (OSError, urllib.error.URLError) as exc:
        log.error("the alert webhook refused the alert: %s", exc)
        return one_line(f"error: {exc}")


def record(alert: dict, webhook: str | None) -> None:
    from cei import warehouse

    try:
        with warehouse.connect(autocommit=True) as conn:
            warehouse.ensure_schema(conn)
            conn.execute(
                "insert into meta.alerts (run_id, airflow_run_id, task, try_number, reason, log_url, webhook)"
                " values (%s, %s, %s, %s, %s, %s, %s)",
                (alert["cei_run"], alert["airflow_run_id"], alert["task"], alert["try_number"], alert["reason"],
                 alert["log_url"], webhook),
            )
    except CeiError as exc:  # the warehouse itself may be what failed: the webhook still went out
        log.error("could not record the alert in meta.alerts: %s", exc)
