"""What the nightly DAG's tasks run, as Airflow needs it: the pipeline's steps with their failures
sorted for Airflow's retries, and the notifier that alerts on a failed night.

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
from datetime import datetime
from typing import Any

from airflow.sdk import BaseNotifier
from airflow.sdk.exceptions import AirflowFailException

from cei import settings as cfg
from cei.errors import CeiError, WarehouseError

log = logging.getLogger(__name__)

WEBHOOK_TIMEOUT_S = 10


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
