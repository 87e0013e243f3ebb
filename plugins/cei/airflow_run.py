"""Runs the `cei_nightly` DAG through Airflow (`dag.test`), as `cei run` and `make demo` do.

The DAG runs in a child process whose Airflow home is under CEI_HOME (a SQLite metadata
database, migrated once): Airflow's logging and global state stay out of the caller, and the
full log is kept in a file for the operator. The caller learns the outcome from the warehouse's
`meta.pipeline_runs`, which the DAG's tasks write.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from importlib import metadata
from pathlib import Path

from cei import settings as cfg
from cei.errors import CeiError

DAG_ID = "cei_nightly"


def airflow_env(s: cfg.Settings) -> dict[str, str]:
    return {
        **os.environ,
        "CEI_HOME": str(s.home),
        "AIRFLOW_HOME": str(s.airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(cfg.DAGS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    }


def _ensure_metadata_db(s: cfg.Settings, env: dict[str, str]) -> None:
    # Airflow itself is imported only in the child: importing it here would reconfigure this
    # process's logging.
    stamp = s.airflow_home / f".migrated-{metadata.version('apache-airflow')}"
    if stamp.exists():
        return
    s.airflow_home.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [str(Path(sys.executable).with_name("airflow")), "db", "migrate"],
        env=env, capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise CeiError(f"cannot prepare Airflow's metadata database in {s.airflow_home}: {last}")
    stamp.touch()


def run_nightly(landing: Path, delivery_dates: list[str], s: cfg.Settings | None = None) -> tuple[str, Path]:
    """Run the DAG for these dates; returns (Airflow's run id, log file)."""
    s = s or cfg.load()
    env = airflow_env(s)
    _ensure_metadata_db(s, env)
    logs = s.home / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%dT%H%M%S%f")
    log_file, result_file = logs / f"run-{stamp}.log", logs / f"run-{stamp}.json"
    conf = {"landing": str(landing.resolve()), "delivery_dates": delivery_dates}
    with log_file.open("w") as out:
        subprocess.run(
            [sys.executable, "-m", "cei.airflow_run", json.dumps(conf), str(result_file)],
            env=env, stdout=out, stderr=subprocess.STDOUT, check=False,
        )
    if not result_file.exists():
        raise CeiError(f"the Airflow run did not complete; see {log_file}")
    result = json.loads(result_file.read_text())
    result_file.unlink()
    return result["airflow_run_id"], log_file


def _child(conf_json: str, result_path: str) -> None:
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(cfg.DAGS_DIR))
    if bag.import_errors:
        raise SystemExit(f"DAG import errors: {bag.import_errors}")
    dag_run = bag.get_dag(DAG_ID).test(run_conf=json.loads(conf_json))
    Path(result_path).write_text(json.dumps({"airflow_run_id": dag_run.run_id, "state": str(dag_run.state)}))


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2])
