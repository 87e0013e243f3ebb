"""Faults a real night brings: a process killed in the middle of loading or building or exporting, a
second run at once, the warehouse restarting or ending sessions mid-run."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import psutil
import psycopg
import pytest
from builders import PII_SECRET, csv_bytes, platform_database, row, run_night
from psycopg import sql

from cei import pipeline, synthetic, warehouse
from cei import settings as cfg
from cei.errors import RunLocked


def write_orders(path: Path, n: int) -> None:
    rows = (
        row("hotline", work_order_id=f"GD{i:08d}", kind="投诉", channel="12315热线", registered_at="2026-07-01 09:00",
            accepted_at="", closed_at="", updated_at=f"2026-07-01 09:{i % 60:02d}",
            region_code="350128" if i % 7 == 0 else "350102", handling_unit="局", respondent_name="某店",
            respondent_uscc="", category="食品", disputed_amount="1,000.00", recovered_loss="", outcome="",
            callback="", consumer_name="王某", consumer_phone_hmac=f"1390000{i % 10000:04d}")
        for i in range(n)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_bytes("hotline", rows, encoding="gb18030"))


def _copy_progress(conn) -> int:
    row = conn.execute("select coalesce(max(tuples_processed), 0) from pg_stat_progress_copy").fetchone()
    return row[0]


INGEST = "from cei import pipeline; pipeline.ingest(pipeline.start({landing!r}, ['2026-07-01']))"


def test_killed_during_copy_leaves_nothing_and_rerun_is_complete(warehouse_url, tmp_path):
    n = 60_000
    write_orders(tmp_path / "hotline" / "2026-07-01" / "orders.csv", n)
    child = subprocess.Popen([sys.executable, "-c", INGEST.format(landing=str(tmp_path))], env=os.environ.copy())
    try:
        with warehouse.connect(autocommit=True) as conn:
            deadline = time.monotonic() + 60
            while _copy_progress(conn) < 2_000:
                assert child.poll() is None, "the load finished before it could be interrupted"
                assert time.monotonic() < deadline, "COPY never started"
                time.sleep(0.05)
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
            # the server notices the dead client and rolls its transaction back
            copying = "select count(*) from pg_stat_activity where query ilike 'copy %%raw%%'"
            while conn.execute(copying).fetchone()[0]:
                time.sleep(0.05)
            assert conn.execute("select count(*) from raw.hotline_work_orders").fetchone()[0] == 0
            assert conn.execute("select count(*) from meta.load_files").fetchone()[0] == 0
    finally:
        if child.poll() is None:
            child.kill()

    summary = pipeline.ingest(pipeline.start(str(tmp_path), ["2026-07-01"]))
    assert summary["per_feed"]["hotline"]["rows_loaded"] == n
    with warehouse.connect() as conn:
        assert conn.execute(
            "select count(*), count(distinct work_order_id) from raw.hotline_work_orders"
        ).fetchone() == (n, n)
        assert conn.execute("select status, rows_read, rows_loaded from meta.load_files").fetchall() == [
            ("loaded", n, n)
        ]


def test_a_second_writer_is_refused_not_interleaved(warehouse_url, tmp_path):
    write_orders(tmp_path / "hotline" / "2026-07-01" / "orders.csv", 10)
    run_id = pipeline.start(str(tmp_path), ["2026-07-01"])
    with (
        warehouse.connect(autocommit=True) as holder,
        warehouse.exclusive(holder, "test holder"),
        pytest.raises(RunLocked, match="another cei run"),
    ):
        pipeline.ingest(run_id)
    with warehouse.connect() as conn:
        assert (
            conn.execute("select status from meta.pipeline_runs where run_id = %s", (run_id,)).fetchone()[0] == "failed"
        )
        assert conn.execute("select count(*) from meta.load_files").fetchone()[0] == 0
    assert pipeline.ingest(pipeline.start(str(tmp_path), ["2026-07-01"]))["per_feed"]["hotline"]["rows_loaded"] == 10


PEAK = (
    "import resource as r; from cei import pipeline; pipeline.ingest(pipeline.start({landing!r}, ['2026-07-01']));"
    " print(max(r.getrusage(r.RUSAGE_SELF).ru_maxrss, r.getrusage(r.RUSAGE_CHILDREN).ru_maxrss))"  # parse workers
)


def _peak_rss_kib(landing: Path) -> int:
    out = subprocess.run(
        [sys.executable, "-c", PEAK.format(landing=str(landing))], env=os.environ.copy(), capture_output=True,
        text=True, check=True,
    )
    return int(out.stdout.split()[-1])


def test_memory_stays_bounded_as_a_file_grows(warehouse_url, tmp_path):
    """Records stream from the file into COPY: a file 20x larger must not cost 20x the memory."""
    write_orders(tmp_path / "small" / "hotline" / "2026-07-01" / "orders.csv", 5_000)
    write_orders(tmp_path / "large" / "hotline" / "2026-07-01" / "orders.csv", 100_000)
    small = _peak_rss_kib(tmp_path / "small")
    large_file_kib = (tmp_path / "large" / "hotline" / "2026-07-01" / "orders.csv").stat().st_size // 1024
    large = _peak_rss_kib(tmp_path / "large")
    # the large file alone is ~17 MiB; reading it whole would add at least that much
    print(f"peak RSS {small} KiB (5k rows) vs {large} KiB (100k rows, file {large_file_kib} KiB)")
    assert large - small < large_file_kib / 4, (small, large, large_file_kib)


# ---------------------------------------------------------------------------------------------
# A night interrupted (warehouse restarted or sessions ended, process killed during dbt or the
# export), then run again, must end exactly where a clean run of the same deliveries ends.

@dataclass(frozen=True)
class Deliveries:
    landing: Path
    nights: tuple[list[str], ...]  # delivery dates of each night, in order


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory: pytest.TempPathFactory) -> Deliveries:
    landing = tmp_path_factory.mktemp("fault_landing")
    synthetic.generate(landing, scale=100, days=5, defect_rate=0.02)
    dates = sorted(p.name for p in (landing / "hotline").iterdir())
    # one large file, so that loading can be caught in the middle of its COPY; on night A's last
    # date, since a night far smaller than the nights before it fails the volume gate
    write_orders(landing / "hotline" / dates[-2] / "zz_bulk.csv", 40_000)
    return Deliveries(landing, (dates[:-1], dates[-1:]))


def _table_digests(conn: psycopg.Connection, schema: str) -> dict[str, tuple]:
    """count and md5 of every table of `schema`, lineage ids left out (sequences skip numbers
    that a rolled-back load drew, so ids differ between equal states)."""
    out = {}
    tables = conn.execute(
        "select table_name from information_schema.tables where table_schema = %s and table_type = 'BASE TABLE'",
        (schema,),
    ).fetchall()
    for (table,) in tables:
        cols = [
            sql.Identifier(c)
            for (c,) in conn.execute(
                "select column_name from information_schema.columns where table_schema = %s and table_name = %s"
                " and column_name <> 'load_file_id' order by ordinal_position",
                (schema, table),
            )
        ]
        out[f"{schema}.{table}"] = conn.execute(
            sql.SQL("select count(*), md5(string_agg(r, '|' order by r)) from (select row({})::text r from {}) t")
            .format(sql.SQL(", ").join(cols), sql.Identifier(schema, table))
        ).fetchone()
    return out


def state(conn: psycopg.Connection, export_dir: Path) -> dict:
    """What a night leaves behind: raw, quarantine, the ledger, the published marts, the schemas,
    and the export folder (CSV bytes; the workbook and manifest name the run, which differs)."""
    out: dict = {"schemas": sorted(r[0] for r in conn.execute(
        "select nspname from pg_namespace where nspname not like 'pg\\_%' and nspname <> 'information_schema'"))}
    for schema in (cfg.RAW, cfg.QUARANTINE, cfg.MARTS):
        out.update(_table_digests(conn, schema))
    out["meta.load_files"] = conn.execute(
        "select f.feed, f.delivery_date, f.file_name, f.sha256, f.status, f.reason, d.file_name, f.rows_read,"
        " f.rows_loaded, f.rows_quarantined, f.rows_duplicate, f.rows_warned"
        " from meta.load_files f left join meta.load_files d on d.file_id = f.duplicate_of order by 1, 2, 3, 4"
    ).fetchall()
    files = sorted(p.name for p in export_dir.iterdir()) if export_dir.exists() else []
    out["export files"] = files
    out["export csv"] = {n: hashlib.sha256((export_dir / n).read_bytes()).hexdigest()
                         for n in files if n.endswith(".csv")}
    return out


def marts_state(conn: psycopg.Connection) -> dict:
    return _table_digests(conn, cfg.MARTS)


@pytest.fixture(scope="module")
def clean_state(deliveries: Deliveries, server_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Every night run once, without faults, in a database of its own."""
    exports = tmp_path_factory.mktemp("clean_exports")
    with platform_database(server_url, "cei_faults", CEI_EXPORT_DIR=str(exports)):
        for night in deliveries.nights:
            run_night(deliveries.landing, night)
        with warehouse.connect() as conn:
            return state(conn, exports)


# A pipeline step in a child process, so that it can be interrupted or killed. A CeiError (what
# the CLI prints as one line) ends it with status 3 and the error as JSON on its last line.
STEP = """
import json, sys
from cei import pipeline
from cei.errors import CeiError
try:
    getattr(pipeline, sys.argv[1])(int(sys.argv[2]))
except CeiError as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}), file=sys.stderr)
    sys.exit(3)
"""


def _child_step(step: str, run_id: int, script: str = STEP, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", script, step, str(run_id), *args], env=os.environ.copy(),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def _wait_for(condition: Callable[[], bool], child: subprocess.Popen, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert child.poll() is None, f"the step ended before {what}: {child.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _query(sql_text: str) -> int:
    """One number from a fresh connection (the server may just have restarted)."""
    with warehouse.connect(autocommit=True) as conn:
        return conn.execute(sql_text).fetchone()[0]


def _copying_bulk() -> int | None:
    """The session copying the bulk file, once it is well into it (no other file is this large)."""
    return _query("select max(pid) from pg_stat_progress_copy where tuples_processed >= 5000")


@contextmanager
def _held_before_commit(pid: int, child: subprocess.Popen) -> Iterator[None]:
    """The bulk file's transaction held open: its statement after the COPY (the quarantine's COPY)
    waits on a lock this session takes, so a fault lands before the file commits however fast the
    machine copies. Should the file commit first, waiting for it to block times out, saying so."""
    holder = warehouse.connect()
    try:
        holder.execute("lock table quarantine.quarantined_rows in share mode")
        waiting = f"select count(*) from pg_stat_activity where pid = {pid} and wait_event_type = 'Lock'"
        _wait_for(lambda: _query(waiting) > 0, child, "the bulk file's load to wait before committing", timeout=60)
        yield
    finally:
        with suppress(psycopg.Error):
            holder.close()


def _building() -> bool:
    return _query("select count(*) from pg_tables where schemaname = 'marts__build'") > 0


def _terminate_sessions() -> None:
    with warehouse.connect(autocommit=True) as conn:
        ended = conn.execute(
            "select count(*) filter (where pg_terminate_backend(pid)) from pg_stat_activity"
            " where datname = current_database() and pid <> pg_backend_pid()"
        ).fetchone()[0]
    assert ended > 0


def _restart_embedded() -> None:
    """`cei warehouse stop` (a fast shutdown), then started as any command starts it; the
    interrupted step may start it first when it reconnects to record its failure."""
    warehouse.stop_embedded()
    warehouse.connect().close()


def _interrupted(child: subprocess.Popen, interrupt: Callable[[], None]) -> dict:
    """Interrupt the warehouse under a running step; the step must fail with one clear line."""
    interrupt()
    _, err = child.communicate(timeout=300)
    assert child.returncode == 3, f"not a CeiError (exit {child.returncode}): {err[-3000:]}"
    failure = json.loads(err.strip().splitlines()[-1])
    assert "\n" not in failure["message"], failure
    return failure


@pytest.fixture
def private_embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An embedded server of this test's own, which it may restart without disturbing others."""
    monkeypatch.setenv("CEI_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CEI_DATABASE_URL", raising=False)
    monkeypatch.setenv("CEI_PII_SECRET", PII_SECRET)
    monkeypatch.setenv("CEI_EXPORT_DIR", str(tmp_path / "exports"))
    try:
        yield tmp_path / "exports"
    finally:
        warehouse.stop_embedded()


@pytest.mark.slow
@pytest.mark.parametrize("interrupt", ["sessions terminated", "server restarted"])
def test_warehouse_interrupted_mid_run_fails_clearly_and_rerun_equals_clean_run(
    interrupt, deliveries, clean_state, server_url, tmp_path, request
):
    if interrupt == "server restarted":
        exports = request.getfixturevalue("private_embedded")
        fault, context = _restart_embedded, nullcontext()
    else:
        exports = tmp_path / "exports"
        fault, context = _terminate_sessions, platform_database(server_url, "cei_faults", CEI_EXPORT_DIR=str(exports))
    with context:
        night_a, night_b = deliveries.nights
        # night A: the warehouse goes away while the bulk file is being copied
        run_a = pipeline.start(str(deliveries.landing), night_a)
        child = _child_step("ingest", run_a)
        _wait_for(_copying_bulk, child, "the bulk file's COPY")
        with _held_before_commit(_copying_bulk(), child):
            failure = _interrupted(child, fault)
        assert failure["error"] == "WarehouseError"
        assert failure["message"].startswith("lost the connection to the warehouse: "), failure
        with warehouse.connect() as conn:
            status, message = conn.execute(
                "select status, message from meta.pipeline_runs where run_id = %s", (run_a,)).fetchone()
            assert (status, message) == ("failed", "ingest: " + failure["message"])
            # whole files only: the file being copied left nothing behind
            bulk = conn.execute("select count(*) from meta.load_files where file_name = 'zz_bulk.csv'").fetchone()
            assert bulk == (0,)
        run_night(deliveries.landing, night_a)

        # night B: it goes away in the middle of the dbt build; yesterday's marts stay published
        with warehouse.connect() as conn:
            published = marts_state(conn)
        run_b = pipeline.start(str(deliveries.landing), night_b)
        for step in ("ingest", "gate_feeds"):
            getattr(pipeline, step)(run_b)
        child = _child_step("build", run_b)
        _wait_for(_building, child, "dbt built a table")
        failure = _interrupted(child, fault)
        # dbt names its first failed node; or, when dbt's own sessions were between nodes (it opens
        # fresh ones) and it finished, the step's lock-holding session reports the loss
        assert failure["message"].startswith(("dbt build ", "lost the connection to the warehouse: ")), failure
        with warehouse.connect() as conn:
            assert marts_state(conn) == published
        run_night(deliveries.landing, night_b)

        with warehouse.connect() as conn:
            assert state(conn, exports) == clean_state


# The export step in a child that stops (for the test to kill it) at a chosen point of writing
# its files: "writing" — the first file is written under its temporary name, nothing renamed yet;
# "renaming" — the first file has just been renamed into place, the others not.
PAUSED_EXPORT = """
import os, sys, time
from pathlib import Path
from cei import pipeline
flag, where = Path(sys.argv[3]), sys.argv[4]
real_fsync, real_replace = os.fsync, os.replace
def pause():
    flag.write_text("paused")
    time.sleep(600)
def fsync(fd):
    real_fsync(fd)
    if where == "writing":
        pause()
def replace(src, dst):
    real_replace(src, dst)
    if where == "renaming":
        pause()
os.fsync, os.replace = fsync, replace
pipeline.export(int(sys.argv[2]))
"""


def _complete(path: Path) -> None:
    """The file under its final name is whole: it parses to the end."""
    data = path.read_bytes()
    if path.suffix == ".csv":
        assert data.startswith(b"\xef\xbb\xbf") and data.endswith(b"\r\n"), path
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
        assert rows[0][0] == "period" and all(len(r) == len(rows[0]) for r in rows), path
    elif path.suffix == ".json":
        assert json.loads(data)["files"], path
    else:
        assert openpyxl.load_workbook(io.BytesIO(data), read_only=True).sheetnames, path


def _no_other_sessions() -> bool:
    return _query("select count(*) from pg_stat_activity where datname = current_database()"
                  " and pid <> pg_backend_pid()") == 0


@pytest.mark.slow
def test_killed_during_build_or_export_leaves_marts_and_exports_whole(deliveries, clean_state, server_url, tmp_path):
    exports = tmp_path / "exports"
    with platform_database(server_url, "cei_faults", CEI_EXPORT_DIR=str(exports)):
        night_a, night_b = deliveries.nights
        run_night(deliveries.landing, night_a)
        with warehouse.connect() as conn:
            published = marts_state(conn)
        before = {p.name: p.read_bytes() for p in exports.iterdir()}

        # killed in the middle of the dbt build: marts untouched, dbt gone with its run
        run_b = pipeline.start(str(deliveries.landing), night_b)
        for step in ("ingest", "gate_feeds"):
            getattr(pipeline, step)(run_b)
        child = _child_step("build", run_b)
        _wait_for(_building, child, "dbt built a table")
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        deadline = time.monotonic() + 30
        while not _no_other_sessions():  # an orphaned dbt would keep writing marts__build
            assert time.monotonic() < deadline, "dbt outlived the killed run"
            time.sleep(0.2)
        with warehouse.connect() as conn:
            assert marts_state(conn) == published
        assert {p.name: p.read_bytes() for p in exports.iterdir()} == before

        # the night again; its export killed twice: while writing, then between two renames
        run_b = run_night(deliveries.landing, night_b, ("ingest", "gate_feeds", "build", "gate_marts", "publish"))
        with warehouse.connect() as conn:
            published = marts_state(conn)
        for where in ("writing", "renaming"):
            flag = tmp_path / f"paused-{where}"
            child = _child_step("export", run_b, PAUSED_EXPORT, str(flag), where)
            _wait_for(flag.exists, child, f"the export paused while {where}", timeout=120)
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
            final = sorted(p for p in exports.iterdir() if not p.name.startswith("."))
            for path in final:
                _complete(path)
            if where == "writing":  # the file in flight has only its temporary name
                assert [p.name for p in final] == sorted(before)
                assert {p.name: p.read_bytes() for p in final} == before
                assert list(exports.glob(".*.tmp"))
            with warehouse.connect() as conn:
                assert marts_state(conn) == published
        pipeline.export(run_b)  # what a retry of the task does
        pipeline.finish(run_b)

        assert not list(exports.glob(".*")), "temporary files left behind"
        with warehouse.connect() as conn:
            assert state(conn, exports) == clean_state


# ---------------------------------------------------------------------------------------------
# The embedded warehouse's folder already exists from an older run.

KEEP = (
    "from cei import warehouse\n"
    "with warehouse.connect() as c:\n"
    "    c.execute('create table if not exists kept (n int)')\n"
    "    c.execute('insert into kept select 1 from generate_series(1, 3) where not exists (select from kept)')\n"
    "    c.commit()\n"
    "    print(c.execute('select count(*) from kept').fetchone()[0])\n"
)


def _embedded_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CEI_DATABASE_URL"}
    return {**env, "CEI_HOME": str(home)}


def _in_child(code: str, home: Path) -> str:
    out = subprocess.run([sys.executable, "-c", code], env=_embedded_env(home), capture_output=True, text=True,
                         timeout=180)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout.strip()


def _postmaster(pgdata: Path) -> psutil.Process:
    return psutil.Process(int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0]))


def _kill_server(pgdata: Path) -> None:
    """SIGKILL the postmaster, as an OOM killer or a container stop would; its postmaster.pid stays."""
    postmaster = _postmaster(pgdata)
    children = postmaster.children()
    postmaster.kill()
    psutil.wait_procs([postmaster, *children], timeout=60)  # the backends follow their postmaster
    assert (pgdata / "postmaster.pid").exists()


def test_embedded_folder_left_by_a_killed_server_is_reused(tmp_path):
    home = tmp_path / "home"
    pgdata = home / "pgdata"
    squatter = None
    try:
        assert _in_child(KEEP, home).split()[0] == "3"
        first = _postmaster(pgdata).pid

        _kill_server(pgdata)  # a stale postmaster.pid naming a dead process
        assert _in_child(KEEP, home).split()[0] == "3"
        second = _postmaster(pgdata).pid
        assert second != first

        # the stale file names a PID that now belongs to another live process (PIDs are reused)
        _kill_server(pgdata)
        squatter = subprocess.Popen(["sleep", "600"])
        lines = (pgdata / "postmaster.pid").read_text().split("\n")
        (pgdata / "postmaster.pid").write_text("\n".join([str(squatter.pid), *lines[1:]]))
        assert _in_child(KEEP, home).split()[0] == "3"  # the same data, on a server started afresh
        assert _postmaster(pgdata).pid not in (first, second, squatter.pid)
        assert squatter.poll() is None  # the process that owns the PID now is left alone

        # and a folder from an earlier, cleanly stopped run is simply reused
        _in_child("from cei import warehouse; warehouse.stop_embedded()", home)
        assert not (pgdata / "postmaster.pid").exists()
        assert _in_child(KEEP, home).split()[0] == "3"
    finally:
        if squatter is not None:
            squatter.kill()
            squatter.wait()
        if (pgdata / "postmaster.pid").exists():
            subprocess.run([sys.executable, "-c", "from cei import warehouse; warehouse.stop_embedded()"],
                           env=_embedded_env(home), capture_output=True, timeout=120)


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"notes.txt": "not a database"}, "holds no PostgreSQL data (no PG_VERSION): it was left alone"),
        ({"PG_VERSION": "9.6\n", "base/1/1259": "old"}, "holds PostgreSQL 9.6 data but the embedded server is"),
    ],
    ids=["not a data folder", "another major version"],
)
def test_embedded_folder_that_cannot_be_used_is_refused_untouched(tmp_path, content, message):
    pgdata = tmp_path / "home" / "pgdata"
    for name, text in content.items():
        (pgdata / name).parent.mkdir(parents=True, exist_ok=True)
        (pgdata / name).write_text(text)
    before = _tree(pgdata)
    out = subprocess.run([sys.executable, "-m", "cei.cli", "status"], env=_embedded_env(tmp_path / "home"),
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 1
    assert out.stderr.startswith("cei: error: ") and out.stderr.count("\n") == 1, out.stderr
    assert message in out.stderr and str(pgdata) in out.stderr
    assert _tree(pgdata) == before


def test_a_script_without_a_main_guard_ingests(warehouse_url, tmp_path):
    """Spawned workers do not re-import the caller's main script (cei.ingest.load): a script
    without the `if __name__ == '__main__':` guard, like Airflow's task runner, ingests once."""
    write_orders(tmp_path / "hotline" / "2026-07-01" / "orders.csv", 100)
    script = tmp_path / "unguarded.py"
    script.write_text(f"from cei import pipeline\npipeline.ingest(pipeline.start({str(tmp_path)!r}, ['2026-07-01']))\n")
    out = subprocess.run([sys.executable, str(script)], env=os.environ.copy(), capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    with warehouse.connect() as conn:
        assert conn.execute("select count(*) from raw.hotline_work_orders").fetchone() == (100,)


def test_a_dead_ingest_worker_is_one_clear_line(warehouse_url, tmp_path):
    """A worker killed mid-ingest (out of memory, an operator's kill): one line, nothing loaded."""
    write_orders(tmp_path / "hotline" / "2026-07-01" / "orders.csv", 100)
    script = tmp_path / "killer.py"
    script.write_text(
        "import threading, time\nimport psutil\nfrom cei import pipeline\n"
        "def kill_workers():\n"
        "    while True:\n"
        "        workers = [p for p in psutil.Process().children() if 'spawn_main' in ' '.join(p.cmdline())]\n"
        "        if workers:\n"
        "            for p in workers:\n"
        "                p.kill()\n"
        "            return\n"
        "        time.sleep(0.005)\n"
        "threading.Thread(target=kill_workers, daemon=True).start()\n"
        f"pipeline.ingest(pipeline.start({str(tmp_path)!r}, ['2026-07-01']))\n"
    )
    out = subprocess.run([sys.executable, str(script)], env=os.environ.copy(), capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode != 0
    assert out.stderr.strip().splitlines()[-1] == (
        "cei.errors.CeiError: an ingest worker process died (killed, or out of memory)"
    ), out.stderr[-2000:]
    with warehouse.connect() as conn:
        assert conn.execute("select count(*) from raw.hotline_work_orders").fetchone() == (0,)
