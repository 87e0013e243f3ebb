"""Airflow as a service, started for real: `cei airflow start` on a fresh CEI_HOME (embedded
warehouse, Airflow's metadata in PostgreSQL), a night triggered through the REST API, the same
warehouse as `cei run` of that date, the next scheduled run at the coming 02:00 Asia/Shanghai,
and `cei airflow stop` leaving no component running.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import socket
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote, urlparse

import psutil
import psycopg
import pytest

from cei import airflow_service, cli, settings, synthetic, warehouse
from cei.settings import LOCAL_TZ

pytestmark = pytest.mark.slow

COMPARED = ["marts.fct_work_orders", "marts.fct_odr_disputes", "marts.mart_indicator_monthly",
            "marts.mart_indicator_period", "marts.mart_cei"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _snapshot(url: str) -> dict[str, tuple]:
    """Count and digest of each compared table; a row's load file by name, not by id (the service
    loads the feeds side by side, so the ids are given in another order)."""
    out = {}
    with psycopg.connect(url) as conn:
        for t in COMPARED:
            schema, table = t.split(".")
            lineage = conn.execute(
                "select count(*) from information_schema.columns where table_schema = %s and table_name = %s"
                " and column_name = 'load_file_id'", (schema, table)).fetchone()[0]
            row = ("to_jsonb(t) - 'load_file_id' || jsonb_build_object('file', f.feed || '/' || f.file_name)"
                   if lineage else "to_jsonb(t)")
            join = "join meta.load_files f on f.file_id = t.load_file_id" if lineage else ""
            out[t] = conn.execute(f"select count(*), md5(string_agg(r::text, '|' order by r::text))"
                                  f" from (select {row} as r from {t} t {join}) rows").fetchone()
    return out


def _wait(s: settings.Settings, run_id: str, timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = airflow_service.api(s, "GET", f"/api/v2/dags/cei_nightly/dagRuns/{run_id}")
        if run["state"] in ("success", "failed"):
            return run
        time.sleep(2)
    raise AssertionError(f"run {run_id} did not finish in {timeout} s")


def _family(pids: list[int]) -> set[psutil.Process]:
    out = set()
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            out |= {proc, *proc.children(recursive=True)}
        except psutil.NoSuchProcess:
            pass
    return out


def _ui_shows_the_run(s: settings.Settings, chromium, password: str, run_id: str, instances: int) -> str:
    """Log in to the UI in headless Chromium, open the DAG's grid and the run; the page's text
    (a screenshot of each is kept in tests/artifacts/)."""
    from playwright.sync_api import sync_playwright

    base = airflow_service.api_url(s)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium.path, args=chromium.args)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(base + "/")
            page.fill("input[name=username]", "admin")
            page.fill("input[name=password]", password)
            page.keyboard.press("Enter")
            page.wait_for_url(base + "/")
            page.goto(f"{base}/dags/cei_nightly")
            page.get_by_text("finish").first.wait_for()
            page.screenshot(path=chromium.artifacts / "airflow-ui-dag.png")
            page.goto(f"{base}/dags/cei_nightly/runs/{quote(run_id)}")
            page.get_by_text(f"{instances} Task Instances").wait_for()
            page.screenshot(path=chromium.artifacts / "airflow-ui-run.png")
            return page.inner_text("body")
        finally:
            browser.close()


def test_the_service_runs_a_night_as_cei_run_does(warehouse_url, tmp_path, monkeypatch, capsys, chromium):
    landing = tmp_path / "landing"
    synthetic.generate(landing, scale=300, days=2, defect_rate=0.01)
    day = sorted(p.name for p in (landing / "hotline").iterdir())[0]

    # The reference: `cei run` of that date, in a warehouse of its own.
    monkeypatch.setenv("CEI_HOME", str(tmp_path / "reference"))
    monkeypatch.setenv("CEI_EXPORT_DIR", str(tmp_path / "reference-exports"))
    assert cli.main(["run", "--landing", str(landing), "--date", day]) == 0, capsys.readouterr().err
    reference = _snapshot(warehouse_url)

    # The service on a fresh CEI_HOME with its embedded warehouse.
    home = tmp_path / "service"
    monkeypatch.setenv("CEI_HOME", str(home))
    monkeypatch.delenv("CEI_DATABASE_URL")
    monkeypatch.setenv("CEI_EXPORT_DIR", str(tmp_path / "service-exports"))
    monkeypatch.setenv("CEI_AIRFLOW_PORT", str(_free_port()))
    s = settings.load()
    pids: list[int] = []
    try:
        assert cli.main(["airflow", "start"]) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        password_file = home / "airflow-service" / "simple_auth_manager_passwords.json"
        password = json.loads(password_file.read_text())["admin"]
        assert f"admin password (shown once; kept in {password_file}, mode 0600): {password}" in out
        assert password_file.stat().st_mode & 0o777 == 0o600 and len(password) >= 16

        assert cli.main(["airflow", "status", "--json"]) == 0
        state = json.loads(capsys.readouterr().out)
        pids = [c["pid"] for c in state["components"].values()]
        assert {n: c["state"] for n, c in state["components"].items()} == dict.fromkeys(
            airflow_service.COMPONENTS, "running")
        assert state["executor"] == "LocalExecutor" and state["api_url"] == f"http://127.0.0.1:{s.airflow_port}"
        assert (state["username"], state["password_file"]) == ("admin", str(password_file))
        now = datetime.now(LOCAL_TZ)
        coming = (now + timedelta(days=1 if now.hour >= 2 else 0)).replace(hour=2, minute=0, second=0,
                                                                             microsecond=0)
        assert datetime.fromisoformat(state["next_run"]) == coming
        # the DAG is unpaused, and a second start is refused
        assert airflow_service.api(s, "GET", "/api/v2/dags/cei_nightly")["is_paused"] is False
        assert cli.main(["airflow", "start"]) == 1
        assert "already running" in capsys.readouterr().err

        run = airflow_service.api(s, "POST", "/api/v2/dags/cei_nightly/dagRuns",
                                  {"logical_date": None, "conf": {"landing": str(landing), "delivery_dates": [day]}})
        assert _wait(s, run["dag_run_id"])["state"] == "success"
        service_url = warehouse.database_url(s)
        assert _snapshot(service_url) == reference
        for export in (tmp_path / "reference-exports").glob("*.csv"):
            assert (tmp_path / "service-exports" / export.name).read_bytes() == export.read_bytes()

        tis = airflow_service.api(s, "GET", f"/api/v2/dags/cei_nightly/dagRuns/{run['dag_run_id']}/taskInstances")
        tasks = {t["task_id"] for t in tis["task_instances"]}
        shown = _ui_shows_the_run(s, chromium, password, run["dag_run_id"], len(tis["task_instances"]))
        table = shown.split(f"{len(tis['task_instances'])} Task Instances", 1)[1]
        assert table.count("Success") == len(tis["task_instances"]) and "Failed" not in table
        assert all(task in table for task in tasks), tasks
    finally:
        family = _family(pids)
        assert cli.main(["airflow", "stop"]) == 0
        warehouse.stop_embedded(s)
    assert "stopped api-server" in capsys.readouterr().out
    assert family and not [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not (home / "airflow-service" / "service.json").exists()
    assert Path(airflow_service.status(s)["password_file"]).exists()  # kept for the next start


class _Hook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def _task_states(s: settings.Settings, run_id: str) -> dict[str, tuple[str, int]]:
    """Task (a mapped one as `task[i]`) → (state, try number)."""
    tis = airflow_service.api(s, "GET", f"/api/v2/dags/cei_nightly/dagRuns/{run_id}/taskInstances")
    return {t["task_id"] + (f"[{t['map_index']}]" if t["map_index"] >= 0 else ""): (t["state"], t["try_number"])
            for t in tis["task_instances"]}


def _alerts(airflow_run_id: str) -> list[dict]:
    return [a for a in _Hook.received if a["airflow_run_id"] == airflow_run_id]


def _trigger(s: settings.Settings, landing: Path, day: str) -> str:
    return airflow_service.api(s, "POST", "/api/v2/dags/cei_nightly/dagRuns", {
        "logical_date": None, "conf": {"landing": str(landing), "delivery_dates": [day]}})["dag_run_id"]


def test_a_transient_failure_is_retried_and_a_failed_gate_alerts_once(tmp_path, monkeypatch, capsys):
    landing = tmp_path / "landing"
    synthetic.generate(landing, scale=300, days=2, defect_rate=0.0)
    first, second = sorted(p.name for p in (landing / "hotline").iterdir())
    for path in (landing / "hotline" / second).glob("*.csv"):  # every work order of the second night:
        text = path.read_bytes().decode("gb18030")                # an unknown region (the gate stops it)
        path.write_bytes(re.sub(r",35\d{4},", ",990000,", text).encode("gb18030"))

    hook = http.server.HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    _Hook.received.clear()
    home = tmp_path / "service"
    monkeypatch.setenv("CEI_HOME", str(home))
    monkeypatch.delenv("CEI_DATABASE_URL", raising=False)
    monkeypatch.setenv("CEI_AIRFLOW_PORT", str(_free_port()))
    monkeypatch.setenv("CEI_RETRY_DELAY_S", "2")
    monkeypatch.setenv("CEI_ALERT_WEBHOOK", f"http://127.0.0.1:{hook.server_port}/alerts")
    s = settings.load()
    try:
        assert cli.main(["airflow", "start"]) == 0, capsys.readouterr().err
        warehouse.database_url(s)  # the warehouse database, created on first use
        admin = warehouse.embedded_database(s, "postgres")
        with psycopg.connect(admin, autocommit=True) as conn:  # the warehouse refuses connections
            conn.execute("alter database cei with allow_connections false")
        run = _trigger(s, landing, first)
        deadline = time.monotonic() + 300
        while _task_states(s, run).get("start", ("", 0))[0] != "up_for_retry":
            assert time.monotonic() < deadline, _task_states(s, run)
            time.sleep(0.5)
        with psycopg.connect(admin, autocommit=True) as conn:  # … and is back
            conn.execute("alter database cei with allow_connections true")
        assert _wait(s, run)["state"] == "success"
        assert _task_states(s, run)["start"][1] >= 2  # retried
        # Only this test's runs count (a scheduled night, were one due, would alert too).
        assert _alerts(run) == []  # a retried night that succeeds raises no alert

        run = _trigger(s, landing, second)
        assert _wait(s, run)["state"] == "failed"
        states = _task_states(s, run)
        assert states["gate_feeds[0]"] == ("failed", 1)  # hotline's; not retried: it would fail the same way
        assert states["gate_feeds[1]"][0] == "success"  # odr's
        assert states["build"][0] == "upstream_failed"
        time.sleep(2)
        assert len(_alerts(run)) == 1, _Hook.received
        alert = _alerts(run)[0]
        assert (alert["task"], alert["airflow_run_id"], alert["dag_id"]) == ("gate_feeds", run, "cei_nightly")
        assert isinstance(alert["cei_run"], int) and "unknown_region" in alert["reason"]
        assert "\n" not in alert["reason"] and alert["log_url"].startswith(airflow_service.api_url(s))
        assert cli.main(["status"]) == 0
        shown = capsys.readouterr().out.split("Alerts (failed nights)")[1]
        assert "gate_feeds" in shown and "HTTP 204" in shown
    finally:
        cli.main(["airflow", "stop"])
        warehouse.stop_embedded(s)
        hook.shutdown()


def _broker() -> str | None:
    """CEI_CELERY_BROKER_URL, else the Redis on 127.0.0.1:6379 (database 15, kept apart) if it
    answers; None where no broker answers."""
    url = os.environ.get("CEI_CELERY_BROKER_URL") or "redis://127.0.0.1:6379/15"
    p = urlparse(url)
    try:
        socket.create_connection((p.hostname, p.port or 6379), timeout=3).close()
    except OSError:
        return None
    return url


def test_celery_workers_share_the_feeds_of_a_night(tmp_path, monkeypatch, capsys):
    broker = _broker()
    if broker is None:
        pytest.skip("no Celery broker answers (CEI_CELERY_BROKER_URL, or Redis on 127.0.0.1:6379): the"
                    " CeleryExecutor needs one; the embedded default never does")
    landing = tmp_path / "landing"
    synthetic.generate(landing, scale=300, days=1, defect_rate=0.0)
    day = sorted(p.name for p in (landing / "hotline").iterdir())[0]
    home = tmp_path / "service"
    monkeypatch.setenv("CEI_HOME", str(home))
    monkeypatch.delenv("CEI_DATABASE_URL", raising=False)
    monkeypatch.setenv("CEI_AIRFLOW_PORT", str(_free_port()))
    monkeypatch.setenv("CEI_AIRFLOW_EXECUTOR", "celery")
    monkeypatch.setenv("CEI_CELERY_BROKER_URL", broker)
    s = settings.load()
    try:
        assert cli.main(["airflow", "start"]) == 0, capsys.readouterr().err
        for name in ("w1", "w2"):
            assert cli.main(["airflow", "worker", "--name", name]) == 0, capsys.readouterr().err
        state = airflow_service.status(s)
        assert state["executor"] == "CeleryExecutor"
        assert {n: c["state"] for n, c in state["components"].items()} == dict.fromkeys(
            [*airflow_service.COMPONENTS, "w1", "w2"], "running")
        run = _trigger(s, landing, day)
        assert _wait(s, run)["state"] == "success"
        tis = airflow_service.api(s, "GET", f"/api/v2/dags/cei_nightly/dagRuns/{run}/taskInstances")
        feed_tasks = [t for t in tis["task_instances"] if t["task_id"] in ("ingest", "gate_feeds")]
        assert sorted(t["map_index"] for t in feed_tasks) == [0, 0, 1, 1, 2, 2, 3, 3]
        workers = {t["hostname"].rsplit("/", 1)[-1] for t in feed_tasks}
        assert workers == {"w1", "w2"}, [t["hostname"] for t in feed_tasks]
        with psycopg.connect(warehouse.database_url(s)) as conn:
            assert conn.execute("select count(distinct feed) from meta.load_files where status = 'loaded'"
                                ).fetchone()[0] >= 3
    finally:
        cli.main(["airflow", "stop"])
        warehouse.stop_embedded(s)
    assert "w1" in capsys.readouterr().out
