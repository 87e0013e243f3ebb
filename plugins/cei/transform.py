"""Runs dbt on the warehouse and summarises `run_results.json`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from cei import calendar, processes, warehouse
from cei import settings as cfg
from cei.errors import CeiError


def dbt_env(s: cfg.Settings) -> dict[str, str]:
    """The environment dbt's profiles.yml reads (everything through env_var())."""
    p = warehouse.libpq_params(warehouse.database_url(s))
    return {
        **os.environ,
        "CEI_PG_HOST": p["host"],
        "CEI_PG_PORT": p["port"],
        "CEI_PG_USER": p["user"],
        "CEI_PG_PASSWORD": p["password"],
        "CEI_PG_DBNAME": p["dbname"],
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def dbt_vars(s: cfg.Settings, as_of: datetime | None = None) -> dict[str, str | int]:
    """The project's vars from the settings: the statutory day counts, and the run's as-of."""
    out: dict[str, str | int] = {
        "deadline_complaint_accept_days": s.deadline_complaint_accept_days,
        "deadline_complaint_mediation_days": s.deadline_complaint_mediation_days,
        "deadline_report_verify_days": s.deadline_report_verify_days,
        "deadline_odr_days": s.deadline_odr_days,
    }
    if as_of is not None:
        out["as_of"] = as_of.astimezone(cfg.LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S")
    return out


def run_dbt(
    command: list[str],
    *,
    as_of: datetime | None = None,
    marts_schema: str | None = None,
    s: cfg.Settings | None = None,
) -> dict:
    """`dbt <command>` in a child process; raises CeiError naming the first failed node.

    `marts_schema` redirects the marts models (write–audit–publish builds into a build schema;
    dbt's generate_schema_name reads CEI_MARTS_SCHEMA)."""
    s = s or cfg.load()
    target = s.dbt_target_dir
    args = [
        str(Path(sys.executable).with_name("dbt")), *command,
        "--project-dir", str(cfg.DBT_PROJECT_DIR),
        "--profiles-dir", str(cfg.DBT_PROJECT_DIR),
        "--target-path", str(target),
        "--log-path", str(target.parent / "logs"),
    ]
    args += ["--vars", json.dumps(dbt_vars(s, as_of))]
    # The working-day calendar dbt reads (reference.calendar_days): imported schedules, the
    # library, provisional years up to the as-of's next year; its warnings go to the run's log.
    with warehouse.connect(s, autocommit=True) as conn:
        calendar.refresh_calendar(conn, as_of)
    results_file = target / "run_results.json"
    results_file.unlink(missing_ok=True)  # never read a previous invocation's results
    env = dbt_env(s)
    if marts_schema:
        env["CEI_MARTS_SCHEMA"] = marts_schema
    proc = subprocess.run(args, env=env, capture_output=True, text=True, check=False,
                          preexec_fn=processes.preexec_exit_with_me())
    if not results_file.exists():
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["no output"]
        raise CeiError(f"dbt {command[0]} did not run: {tail[0]}")
    summary = summarise(json.loads(results_file.read_text()))
    if proc.returncode != 0 or summary["failed"]:
        tail = " ".join(proc.stdout[-300:].split())
        first = summary["failed"][0] if summary["failed"] else {"node": "dbt", "message": tail}
        raise CeiError(
            f"dbt {command[0]} failed ({len(summary['failed'])} node(s)); first: "
            f"{first['node']}: {first['message']}"
        )
    return summary


def summarise(run_results: dict) -> dict:
    """Counts by status and the failed nodes, small enough for XCom and the run log."""
    counts: dict[str, int] = {}
    failed = []
    for r in run_results.get("results", []):
        counts[r["status"]] = counts.get(r["status"], 0) + 1
        if r["status"] in ("error", "fail", "runtime error"):
            message = " ".join((r.get("message") or "").split())[:300]
            failed.append({"node": r["unique_id"], "message": message})
    return {"counts": counts, "failed": failed, "elapsed_s": round(run_results.get("elapsed_time", 0.0), 1)}
