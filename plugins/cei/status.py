"""What `cei status` and the run summary show, read from `meta` and `marts`."""

from __future__ import annotations

import unicodedata

import psycopg


def table(headers: list[str], rows: list[tuple]) -> str:
    """A plain text table; CJK characters count double so columns line up in a terminal."""

    def width(text: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)

    cells = [[("" if v is None else str(v)) for v in r] for r in rows]
    widths = [max([width(h)] + [width(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def line(values: list[str]) -> str:
        return "  ".join(v + " " * (w - width(v)) for v, w in zip(values, widths)).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in cells)])


def run_row(conn: psycopg.Connection, *, airflow_run_id: str | None = None) -> tuple | None:
    where, args = ("where airflow_run_id = %s", (airflow_run_id,)) if airflow_run_id else ("", ())
    return conn.execute(
        "select run_id, status, delivery_dates, as_of, started_at, finished_at, message"
        f" from meta.pipeline_runs {where} order by run_id desc limit 1",
        args,
    ).fetchone()


def recent_runs(conn: psycopg.Connection, limit: int) -> str:
    rows = conn.execute(
        "select run_id, status, array_to_string(delivery_dates, ' '), to_char(started_at, 'YYYY-MM-DD HH24:MI:SS'),"
        " round(extract(epoch from finished_at - started_at)::numeric, 1),"
        " left(concat_ws('; ', message, 'landing: ' || landing_note), 160)"
        " from meta.pipeline_runs order by run_id desc limit %s",
        (limit,),
    ).fetchall()
    return table(["run", "status", "delivery dates", "started", "seconds", "message"], rows)


def alerts(conn: psycopg.Connection, limit: int) -> str:
    rows = conn.execute(
        "select to_char(raised_at, 'YYYY-MM-DD HH24:MI:SS'), run_id, task, try_number, left(reason, 100),"
        " coalesce(webhook, '-'), log_url from meta.alerts order by alert_id desc limit %s",
        (limit,),
    ).fetchall()
    return table(["raised", "run", "task", "try", "reason", "webhook", "log"], rows) if rows else "none"


def files_of_run(conn: psycopg.Connection, run_id: int) -> str:
    rows = conn.execute(
        "select feed, delivery_date, file_name, status, rows_read, rows_loaded, rows_quarantined,"
        " rows_duplicate, rows_warned, left(reason, 100)"
        " from meta.load_files where run_id = %s order by feed, delivery_date, file_name",
        (run_id,),
    ).fetchall()
    return table(
        ["feed", "delivery", "file", "status", "read", "loaded", "quarantined", "duplicates", "warned", "reason"],
        rows,
    )


def feed_totals(conn: psycopg.Connection, run_id: int | None = None) -> str:
    """Per feed: the accounting invariant rows read = loaded + quarantined + duplicates."""
    rows = conn.execute(
        "select feed, count(*) filter (where status = 'loaded'), count(*) filter (where status = 'rejected'),"
        " count(*) filter (where status = 'duplicate_file'), count(*) filter (where status = 'ignored'),"
        " sum(rows_read), sum(rows_loaded), sum(rows_quarantined), sum(rows_duplicate), sum(rows_warned),"
        " case when sum(rows_read) = sum(rows_loaded) + sum(rows_quarantined) + sum(rows_duplicate)"
        "      then 'holds' else 'BROKEN' end"
        " from meta.load_files where (%s::bigint is null or run_id = %s) group by feed order by feed",
        (run_id, run_id),
    ).fetchall()
    return table(
        ["feed", "loaded files", "rejected", "duplicate files", "ignored", "read", "loaded", "quarantined",
         "duplicates", "warned", "invariant"],
        rows,
    )


def rejected_files(conn: psycopg.Connection, run_id: int | None = None) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "select reason from meta.load_files where status = 'rejected'"
            " and (%s::bigint is null or run_id = %s) order by file_id",
            (run_id, run_id),
        )
    ]


def quality_of_run(conn: psycopg.Connection, run_id: int) -> str:
    """The run's gates: one line per suite (feeds gate, then marts gate) with its status
    (passed | warned | failed | skipped) and note, then every failed expectation with what was
    observed and what was expected."""
    gates = conn.execute(
        "select gate, suite, target, status, evaluated, failed_critical, failed_warning, left(note, 110)"
        " from meta.quality_gates where run_id = %s"
        " order by case gate when 'feeds' then 0 else 1 end, checked_at, suite",
        (run_id,),
    ).fetchall()
    if gates:
        text = table(
            ["gate", "suite", "target", "status", "checked", "critical failed", "warnings", "note"], gates
        )
    else:  # results recorded before meta.quality_gates existed
        text = table(
            ["suite", "severity", "checked", "failed"],
            conn.execute(
                "select suite, severity, count(*), count(*) filter (where not success)"
                " from meta.quality_results where run_id = %s group by suite, severity order by suite, severity",
                (run_id,),
            ).fetchall(),
        )
    failed = conn.execute(
        "select severity, target, expectation, left(observed, 110), left(expected, 70)"
        " from meta.quality_results where run_id = %s and not success"
        " order by case severity when 'critical' then 0 else 1 end, target, expectation",
        (run_id,),
    ).fetchall()
    if not gates and not failed:
        return "no quality gate ran"
    if failed:
        headers = ["severity", "target", "expectation", "observed", "expected"]
        text += "\n\nFailed expectations\n" + table(headers, failed)
    return text


def published_marts(conn: psycopg.Connection) -> str:
    """Which run's marts analysts and exports read now (write–audit–publish)."""
    row = conn.execute(
        "select run_id, to_char(as_of at time zone 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS'),"
        " to_char(published_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI:SS'), cardinality(tables)"
        " from meta.marts_publications order by published_at desc limit 1"
    ).fetchone()
    if row is None:
        return "Published marts: none yet (no run has passed its gates)"
    return f"Published marts: run {row[0]}, as of {row[1]}, published {row[2]} ({row[3]} tables)"


def satisfaction_table(conn: psycopg.Connection) -> tuple[str, str] | None:
    """The latest month's 消费维权满意率 per unit (the demo's closing table)."""
    month = conn.execute(
        "select max(month) from marts.mart_indicator_monthly where indicator_code = 'satisfaction_rate'"
        " and denominator > 0"
    ).fetchone()[0]
    if month is None:
        return None
    rows = conn.execute(
        "select m.unit_code, m.unit_name, m.numerator, m.denominator,"
        " case when m.value is null then null else to_char(100 * m.value, 'FM990.00') || '%%' end"
        " from marts.mart_indicator_monthly m join marts.dim_unit u using (unit_code)"
        " where m.indicator_code = 'satisfaction_rate' and m.month = %s order by u.sort_order",
        (month,),
    ).fetchall()
    title = f"消费维权满意率 (satisfaction rate), {month:%Y-%m}"
    return title, table(["unit", "name", "satisfied", "rated", "rate"], rows)
