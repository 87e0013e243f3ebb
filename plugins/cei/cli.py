"""The `cei` command: thin; calls the same functions the DAG calls.

Exit status: 0 success; 1 with a one-line reason on standard error when the run could not do its
job (bad arguments, unreachable warehouse, a failed quality gate). Rejected files and quarantined
rows are not failures: `cei status` reports them.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

from cei import settings as cfg
from cei.errors import CeiError


def _landing(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise CeiError(f"landing folder {text} does not exist")
    return path


def cmd_run(args: argparse.Namespace) -> int:
    from cei import airflow_run, pipeline, status, warehouse

    landing = _landing(args.landing)
    if args.all:
        dates = [d.isoformat() for d in pipeline.delivery_dates_present(landing)]
        if not dates:
            raise CeiError(f"no delivery-date folders under {landing}/<feed>/")
    else:
        dates = [pipeline.parse_date(args.date).isoformat()]
    s = cfg.load()
    with warehouse.connect(s) as conn:  # fail fast, before Airflow starts, if unreachable
        warehouse.ensure_schema(conn)
        conn.commit()
    airflow_id, log_file = airflow_run.run_nightly(landing, dates, s)
    with warehouse.connect(s) as conn:
        run = status.run_row(conn, airflow_run_id=airflow_id)
        if run is None:
            raise CeiError(f"the run did not start; see {log_file}")
        run_id, state, *_, message = run
        if state == "running":  # the DAG ended without a step recording why (e.g. a task crashed)
            message = f"the Airflow run ended before the pipeline finished; see {log_file}"
            conn.execute(
                "update meta.pipeline_runs set status = 'failed', finished_at = now(), message = %s"
                " where run_id = %s",
                (message, run_id),
            )
            conn.commit()
            state = "failed"
        print(f"run {run_id} ({len(dates)} delivery date(s), {dates[0]} … {dates[-1]}): {state}")
        print(status.feed_totals(conn, run_id))
        for reason in status.rejected_files(conn, run_id):
            print(f"rejected: {reason}")
        print(f"Airflow log: {log_file}")
    if state != "succeeded":
        raise CeiError(message or f"run {run_id} {state}; see {log_file}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from cei import status, steward, warehouse
    from cei.calendar import store

    with warehouse.connect() as conn:
        warehouse.ensure_schema(conn)
        run = status.run_row(conn)
        if run is None:
            print("no runs yet")
            return 0
        print("Recent runs\n" + status.recent_runs(conn, args.runs) + "\n")
        run_id = run[0]
        print(f"Files of run {run_id}\n" + status.files_of_run(conn, run_id) + "\n")
        print("All runs, per feed (rows read = loaded + quarantined + duplicates)\n" + status.feed_totals(conn))
        rejected = status.rejected_files(conn)
        print(f"\nRejected files: {len(rejected)}")
        for reason in rejected:
            print(f"  {reason}")
        for state, advice in (("gate-failed", " (correct upstream, or: cei files withdraw ID --reason TEXT)"),
                              ("withdrawn", "")):
            files = steward.list_files(conn, state=state)
            print(f"\n{state.capitalize()} files: {len(files)}{advice if files else ''}")
            for f in files:
                print(f"  {f.file_id} {f.feed} {f.delivery_date} {f.file_name}" + (f": {f.note}" if f.note else ""))
        for line in store.warnings(conn):
            print(f"\n{line}")
        print("\nAlerts (failed nights)\n" + status.alerts(conn, args.runs))
        print(f"\nQuality gates of run {run_id}\n" + status.quality_of_run(conn, run_id))
        print("\n" + status.published_marts(conn))
        site = cfg.load().data_docs_dir / "index.html"
        if site.exists():
            print(f"Data Docs (every validation, rendered): {site}")
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from cei import synthetic

    truth = synthetic.generate(
        Path(args.out), scale=args.scale, seed=args.seed, start=args.start, days=args.days,
        defect_rate=args.defect_rate,
    )
    print(f"wrote {len(truth.files)} files to {args.out} (ground truth: {Path(args.out) / 'ground_truth.json'})")
    return 0


def cmd_feeds(args: argparse.Namespace) -> int:
    from cei.feeds import generated

    def shown(path: Path) -> str:
        return str(path.relative_to(cfg.PROJECT_ROOT) if path.is_relative_to(cfg.PROJECT_ROOT) else path)

    if args.check:
        stale = generated.stale_files()
        if stale:
            names = ", ".join(map(shown, stale))
            raise CeiError(f"not what the feed declarations make: {names}; run `cei feeds generate`")
        print("the files generated from the feed declarations are up to date")
        return 0
    written = generated.write()
    for path in written:
        print(f"wrote {shown(path)}")
    if not written:
        print("nothing to write: the generated files are up to date")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from cei import index_table, status, synthetic, warehouse

    s = cfg.load()
    landing = s.home / "demo-landing"
    if not (landing / "ground_truth.json").exists():
        print(f"generating a sample of all four feeds in {landing} …")
        synthetic.generate(landing, scale=args.scale, defect_rate=0.01)
    print("running the nightly pipeline through Airflow for every delivery date …")
    cmd_run(argparse.Namespace(landing=str(landing), all=True, date=None))
    with warehouse.connect(s) as conn:
        satisfaction = status.satisfaction_table(conn)
        index = index_table.latest_quarter_index(conn)
    if satisfaction:
        print(f"\n{satisfaction[0]}\n{satisfaction[1]}")
    if index:
        quarter, title, text = index
        print(f"\n{title}\n{text}")
        exported = sorted(s.export_dir.glob(f"assessment_{quarter}*.xlsx"))
        print(f"\nassessment export of {quarter}: {exported[-1] if exported else 'not written (see cei status)'}")
    reports = sorted(s.report_dir.glob("report_*.html"))
    if reports:
        print(f"monthly 12315 report of {reports[-1].stem.removeprefix('report_')}: {reports[-1]}"
              f"{' (and its PDF)' if reports[-1].with_suffix('.pdf').exists() else ''}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from cei import export, warehouse

    period = export.parse_period(args.period)  # a bad period fails before anything is touched
    out = Path(args.out) if args.out else export.export_dir()
    with warehouse.connect() as conn:
        warehouse.ensure_schema(conn)
        conn.commit()
        result = export.export_period(conn, period.text, out)
    print(result.summary)
    for d in result.differences:
        print(f"  {d.unit} {d.code} {d.field}: {d.old or '(empty)'} -> {d.new or '(empty)'}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from cei import report, warehouse

    with warehouse.connect(autocommit=True) as conn:
        warehouse.ensure_schema(conn)
        written = report.write_report(conn, args.period, Path(args.out) if args.out else cfg.load().report_dir)
    print(written.summary)
    if written.pdf is None:
        raise CeiError(f"no PDF of {written.html.name}: {written.pdf_problem}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from cei import bench

    report = bench.run_bench(args.scale, days=args.days, increment=args.increment, seed=args.seed,
                             out=Path(args.out) if args.out else None)
    print(bench.render(report))
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from cei import docs_site

    page = docs_site.write_site()
    print(f"the data dictionary (dbt docs, opens from disk with no server or network): {page}")
    return 0


def cmd_warehouse(args: argparse.Namespace) -> int:
    from cei import warehouse
    from cei.warehouse import analysts

    if args.action == "stop":
        print("stopped" if warehouse.stop_embedded() else "nothing to stop (no embedded warehouse running)")
    elif args.for_name:
        with warehouse.connect(autocommit=True) as conn:
            warehouse.ensure_schema(conn)
            analysts.check_name(args.for_name)
            if args.for_name not in {a.name for a in analysts.analysts(conn)}:
                raise CeiError(f"no analyst {args.for_name!r} (`cei analyst add {args.for_name}` makes the login)")
        print(analysts.login_url(cfg.load(), args.for_name))
    else:
        print(warehouse.describe(warehouse.database_url()))
    return 0


def cmd_analyst(args: argparse.Namespace) -> int:
    from cei import steward, warehouse
    from cei.warehouse import analysts

    if args.action != "list" and not args.name:
        raise CeiError(f"`cei analyst {args.action}` needs the analyst's NAME")
    s = cfg.load()
    with warehouse.connect(s, autocommit=True) as conn:
        warehouse.ensure_schema(conn)
        if args.action == "list":
            rows = analysts.analysts(conn)
            print(f"{'name':<20} {'added':<17} {'by':<12} {'password set':<17} sessions")
            for a in rows:
                print(f"{a.name:<20} {_when(a.added_at):<17} {a.added_by or '-':<12} {_when(a.password_set_at):<17}"
                      f" {a.sessions}")
            print(f"{len(rows)} analyst login(s)")
        elif args.action == "remove":
            ended = analysts.remove(conn, args.name, steward.current_user())
            print(f"removed {args.name}" + (f" (ended {ended} open session(s))" if ended else ""))
        else:
            generated = not args.password_stdin
            password = analysts.new_password() if generated else sys.stdin.readline().rstrip("\r\n")
            if args.action == "add":
                analysts.add(conn, args.name, password, steward.current_user())
                print(f"added analyst {args.name}: reads the marts only")
            else:
                analysts.set_password(conn, args.name, password, steward.current_user())
                print(f"new password set for {args.name}")
            if generated:
                print(f"password (shown this once, kept nowhere): {password}")
            print(f"connect: {analysts.login_url(s, args.name)}")
    return 0


def _when(t: object) -> str:
    return t.strftime("%Y-%m-%d %H:%M") if t else "-"


def cmd_files(args: argparse.Namespace) -> int:
    from cei import status, steward, warehouse

    with warehouse.connect(autocommit=True) as conn:
        warehouse.ensure_schema(conn)
        if args.action == "withdraw":
            f = steward.withdraw(conn, args.file_id, args.reason)
            print(f"withdrawn: file {f.file_id} ({f.feed} {f.delivery_date} {f.file_name}, {f.rows_loaded} rows);"
                  " its rows leave every figure at the next run")
            return 0
        files = steward.list_files(conn, feed=args.feed, delivery_date=args.date, state=args.state)
        print(status.table(list(steward.LedgerFile.HEADERS), [steward.describe(f) for f in files]))
        print(f"{len(files)} file(s)")
    return 0


def cmd_quarantine(args: argparse.Namespace) -> int:
    from cei import steward, warehouse

    out = Path(args.out)
    with warehouse.connect(autocommit=True) as conn:
        warehouse.ensure_schema(conn)
        count = steward.write_quarantine(conn, args.date, out, feed=args.feed)
    print(f"{count} quarantined row(s) of delivery {args.date} written to {out}")
    return 0


def cmd_calendar(args: argparse.Namespace) -> int:
    from cei import status, steward, warehouse
    from cei.calendar import read_schedule, store

    # a bad file is refused before the warehouse is touched
    schedule = read_schedule(Path(args.file)) if args.action == "import" else None
    with warehouse.connect(autocommit=True) as conn:
        warehouse.ensure_schema(conn)
        if schedule is not None:
            store.import_schedule(conn, schedule, Path(args.file).name, steward.current_user())
            print(f"imported the official calendar of {schedule.year} from {args.file}: {schedule.holidays}"
                  f" weekday(s) off, {schedule.workdays} make-up working day(s); sha256 {schedule.sha256}")
            print("the next run recomputes every figure that counts days of it")
        first, last = store.status_years(conn)
        summaries = store.year_summaries(conn, first, last)
        print(status.table(list(store.YearSummary.HEADERS),
                           [(s.year, s.source or "(not in the warehouse)", s.holidays, s.makeup_workdays,
                             s.imported or "") for s in summaries]))
        for line in store.warnings(conn):
            print(line)
    return 0


def cmd_airflow(args: argparse.Namespace) -> int:
    from cei import airflow_service

    if args.action == "start":
        started = airflow_service.start()
        for c in started.components:
            print(f"{c.name}: pid {c.pid}")
        s = cfg.load()
        print(f"UI and REST API: {airflow_service.api_url(s)} (user {airflow_service.USERNAME})")
        if started.password:
            print(f"admin password (shown once; kept in {started.password_file}, mode 0600): {started.password}")
        else:
            print(f"admin password: in {started.password_file}")
        print(f"next scheduled run: {started.next_run or 'none'}")
    elif args.action == "worker":
        started = airflow_service.worker(args.name)
        print(f"Celery worker {started.name}: pid {started.pid}")
    elif args.action == "status":
        state = airflow_service.status()
        if args.json:
            print(json.dumps(state, ensure_ascii=False))
        else:
            for name, c in state["components"].items() or {"(none)": {"pid": "-", "state": "not started"}}.items():
                print(f"{name}: {c['state']} (pid {c['pid']})")
            print(f"executor {state['executor']}; UI {state['api_url']}; user {state['username']},"
                  f" password in {state['password_file']}")
            print(f"next scheduled run: {state['next_run'] or 'unknown (not running)'}")
    else:
        stopped = airflow_service.stop()
        print(f"stopped {', '.join(f'{c.name} ({c.pid})' for c in stopped)}" if stopped else "nothing was running")
    return 0


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad date {text!r}: expected YYYY-MM-DD") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cei", description="Consumer-environment index data platform")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="the nightly pipeline for one delivery date, or --all")
    run.add_argument("--landing", required=True, help="folder with <feed>/<YYYY-MM-DD>/<file>")
    when = run.add_mutually_exclusive_group(required=True)
    when.add_argument("--date", help="delivery date YYYY-MM-DD")
    when.add_argument("--all", action="store_true", help="every delivery date present, in order")
    run.set_defaults(func=cmd_run)

    st = sub.add_parser("status", help="the last runs, files, counts, rejections and gates")
    st.add_argument("--runs", type=int, default=5)
    st.set_defaults(func=cmd_status)

    gen = sub.add_parser("generate", help="write realistic synthetic feeds (seeded)")
    gen.add_argument("--out", required=True)
    gen.add_argument("--scale", type=int, default=5000, help="hotline work orders in the period")
    gen.add_argument("--seed", type=int, default=20260101)
    gen.add_argument("--start", type=_date, default=date(2026, 7, 1), help="first delivery date")
    gen.add_argument("--days", type=int, default=92, help="number of delivery dates")
    gen.add_argument("--defect-rate", type=float, default=0.0, help="share of rows given one defect")
    gen.set_defaults(func=cmd_generate)

    fd = sub.add_parser("feeds", help="write what the feed declarations make: dbt's raw sources, the raw"
                                      " suites' contract expectations")
    fd.add_argument("action", choices=["generate"])
    fd.add_argument("--check", action="store_true", help="write nothing; fail when a file is out of date")
    fd.set_defaults(func=cmd_feeds)

    demo = sub.add_parser("demo", help="generate a sample, run it through Airflow, print the results")
    demo.add_argument("--scale", type=int, default=5000)
    demo.set_defaults(func=cmd_demo)

    ex = sub.add_parser("export", help="the provincial performance-assessment export of one period")
    ex.add_argument("--period", required=True, help="2026-03 (month), 2026Q1 (quarter) or 2026 (year)")
    ex.add_argument("--out", help="export folder (default $CEI_EXPORT_DIR, else $CEI_HOME/exports)")
    ex.set_defaults(func=cmd_export)

    rp = sub.add_parser("report", help="the monthly 12315 data-analysis report of one month, HTML and PDF")
    rp.add_argument("--period", required=True, help="the month, YYYY-MM")
    rp.add_argument("--out", help="folder to write into (default: CEI_REPORT_DIR, else $CEI_HOME/reports)")
    rp.set_defaults(func=cmd_report)

    be = sub.add_parser("bench", help="time the pipeline's stages on generated volumes (JSON report)")
    be.add_argument("--scale", type=int, required=True, help="hotline work orders of history")
    be.add_argument("--days", type=int, default=365,
                    help="nights of history they are spread over, ending 2025-12-31")
    be.add_argument("--increment", type=int, default=round(1_200_000 / 365),
                    help="work orders of the one extra night timed on top (default: a Fujian day)")
    be.add_argument("--seed", type=int, default=20250101)
    be.add_argument("--out", help="report folder (default $CEI_HOME/bench)")
    be.set_defaults(func=cmd_bench)

    do = sub.add_parser("docs", help="the data dictionary as a static page: dbt docs with the warehouse's catalogue")
    do.set_defaults(func=cmd_docs)

    fi = sub.add_parser("files", help="the data steward's ledger: list files, withdraw a loaded one")
    fi_sub = fi.add_subparsers(dest="action", required=True)
    fl = fi_sub.add_parser("list", help="a line per delivered file: id, feed, date, name, state, counts")
    fl.add_argument("--feed", help="hotline, odr, returns or inspection")
    fl.add_argument("--date", type=_date, help="delivery date YYYY-MM-DD")
    fl.add_argument("--state", help="a state as the list shows it, e.g. gate-failed or withdrawn")
    fw = fi_sub.add_parser("withdraw", help="take a loaded file out of every figure from the next run")
    fw.add_argument("file_id", type=int, metavar="ID", help="the file's id (cei files list)")
    fw.add_argument("--reason", required=True, help="why: kept in the ledger and the export manifest")
    fi.set_defaults(func=cmd_files)

    qu = sub.add_parser("quarantine", help="the quarantined rows of a delivery, for upstream")
    qu_sub = qu.add_subparsers(dest="action", required=True)
    qe = qu_sub.add_parser("export", help="a CSV of a delivery's quarantined rows with reason codes, no personal data")
    qe.add_argument("--date", type=_date, required=True, help="delivery date YYYY-MM-DD")
    qe.add_argument("--out", required=True, help="the CSV file to write")
    qe.add_argument("--feed", help="only this feed's files")
    qu.set_defaults(func=cmd_quarantine)

    ca = sub.add_parser("calendar", help="the official working-day calendar: import a year's schedule, status")
    ca_sub = ca.add_subparsers(dest="action", required=True)
    ci = ca_sub.add_parser("import", help="a year's State Council schedule from a CSV (date,day_type,note)")
    ci.add_argument("file", help="UTF-8 CSV: date,day_type,note; day_type holiday (weekday off) or workday"
                                 " (weekend worked)")
    ca_sub.add_parser("status", help="each year's source, weekdays off and make-up days; provisional years")
    ca.set_defaults(func=cmd_calendar)

    af = sub.add_parser("airflow", help="Airflow as a service: start, status, stop; worker (Celery)")
    af.add_argument("action", choices=["start", "status", "stop", "worker"])
    af.add_argument("--json", action="store_true", help="status as one JSON object")
    af.add_argument("--name", default="worker1", help="the Celery worker's name (worker)")
    af.set_defaults(func=cmd_airflow)

    wh = sub.add_parser("warehouse", help="where the warehouse is (url), or stop the embedded one")
    wh.add_argument("action", choices=["url", "stop"])
    wh.add_argument("--for", dest="for_name", metavar="NAME", help="url: the URL analyst NAME connects with")
    wh.set_defaults(func=cmd_warehouse)

    an = sub.add_parser("analyst", help="analysts' logins (read the marts only): add, password, list, remove")
    an.add_argument("action", choices=["add", "password", "list", "remove"])
    an.add_argument("name", nargs="?", help="the analyst's login name (add, password, remove)")
    an.add_argument("--password-stdin", action="store_true",
                    help="add, password: read the password from standard input instead of generating one")
    an.set_defaults(func=cmd_analyst)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except CeiError as exc:
        print(f"cei: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cei: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
