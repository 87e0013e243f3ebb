"""DAG integrity: every DAG file imports cleanly and declares what an operator needs.

After Mozilla's telemetry-airflow: load the DagBag from `dags/` and fail on any import error.
"""

import ast
import os
import subprocess
import sys
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from cei.settings import DAGS_DIR

DAG_FILES = sorted(DAGS_DIR.glob("*.py"))


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory):
    os.environ.setdefault("AIRFLOW_HOME", str(tmp_path_factory.mktemp("airflow_home")))
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert len(dagbag.dags) == len(DAG_FILES) >= 1


def test_every_dag_has_docs_tags_owner(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.doc_md and len(dag.doc_md) > 200, dag_id
        assert dag.tags, dag_id
        assert all(t.owner and t.owner != "airflow" for t in dag.tasks), dag_id


def test_nightly_schedule_and_flow(dagbag):
    dag = dagbag.dags["cei_nightly"]
    assert dag.timetable.expression == "0 2 * * *"
    assert str(dag.timetable.timezone) == "Asia/Shanghai"
    # a service started after 02:00 waits for the next night instead of running the last at once
    assert dag.timetable.run_immediately == timedelta(0)
    assert dag.max_active_runs == 1
    order = ["wait_for_landing", "start", "ingest", "gate_feeds", "build", "gate_marts", "publish", "export",
             "report", "finish"]
    for upstream, downstream in pairwise(order):
        assert downstream in dag.get_task(upstream).downstream_task_ids
    # Write–audit–publish: nothing after a gate runs unless everything before it succeeded, and
    # publish has no way around the marts gate.
    assert all(t.trigger_rule == "all_success" for t in dag.tasks)
    assert dag.get_task("publish").upstream_task_ids == {"start", "gate_marts"}  # start: the run id
    assert dag.get_task("gate_marts").upstream_task_ids == {"start", "build"}
    # a DAG with a cycle cannot be built by the DagBag at all; topological order must exist
    assert next(t.task_id for t in dag.topological_sort()) == "wait_for_landing"
    # the sensor waits in reschedule mode: no worker slot held while a delivery is written
    sensor = dag.get_task("wait_for_landing")
    assert sensor.mode == "reschedule" and sensor.poke_interval <= 300


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_dag_files_stay_thin_and_use_airflow3_idioms(path: Path):
    source = path.read_text()
    for banned in ("airflow.decorators", "airflow.operators", "schedule_interval", "execution_date"):
        assert banned not in source, banned
    tree = ast.parse(source)
    top_level_imports = {
        alias.name.split(".")[0]
        for node in tree.body
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
    }
    # nothing heavy at parse time: of the platform only its settings and the failure notifier;
    # dbt, GX and the warehouse are imported inside tasks only (test_parsing_imports_nothing_heavy)
    assert top_level_imports <= {"__future__", "datetime", "pendulum", "airflow", "cei"}, top_level_imports
    platform = {node.module for node in tree.body if isinstance(node, ast.ImportFrom)
                and (node.module or "").startswith("cei")}
    platform |= {f"cei.{a.name}" for node in tree.body if isinstance(node, ast.ImportFrom) and node.module == "cei"
                 for a in node.names}
    assert platform <= {"cei", "cei.settings", "cei.nightly"}, platform


def test_parsing_imports_nothing_heavy(tmp_path):
    code = (
        "import sys, runpy\n"
        f"runpy.run_path({str(DAGS_DIR / 'cei_nightly.py')!r})\n"
        "heavy = {'dbt', 'great_expectations', 'psycopg', 'pandas', 'cei.pipeline', 'cei.warehouse'}\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr
