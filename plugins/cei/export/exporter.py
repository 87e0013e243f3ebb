"""`export_period`: decide what an export may write — provisional, final, a revision, or nothing —
and write it atomically; `refresh_exports`: the nightly refresh of the periods a run touched.

Published figures never change silently:

- before a period is final (periods.py) its export `assessment_<P>.*` is rewritten freely;
- the first export once it is final writes `assessment_<P>.*` with status final;
- after that, `assessment_<P>.*` is never touched again: a run whose figures differ from the
  latest published ones writes `assessment_<P>.rev<N>.*` (N = 1, 2, …) listing the differences;
  a run whose figures are the same writes nothing and says so;
- a published final file that is missing or whose bytes changed stops the export: nothing is
  written until it is restored.

Files are written to temporary names in the export folder and renamed into place only once all
three are complete (the manifest last); the registry row (meta.exports) commits with them.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import tempfile
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Literal

import psycopg
from psycopg import pq

from cei import settings as cfg
from cei import warehouse
from cei.errors import CeiError
from cei.export import csv_writer, manifest, registry, workbook
from cei.export.catalogue import (
    FAMILY_SHEETS,
    SHEET_AUDIT,
    SHEET_INDEX,
    SHEET_NOTES,
    SHEET_SATISFACTION,
    SHEET_SOURCES,
    SHEET_TREND,
)
from cei.export.figures import Figures, NoFigures, read_figures
from cei.export.periods import Period, parse_period
from cei.export.provenance import (
    AsOf,
    SourceFile,
    as_of_run,
    calendar_basis,
    source_files,
    summarise_new_files,
    withdrawn_files,
)
from cei.export.revisions import Difference, differences
from cei.export.touched import periods_touched
from cei.export.trend import read_trend

log = logging.getLogger(__name__)


class FuturePeriod(CeiError):
    """The period starts after the as-of: there is nothing to export yet."""


def export_dir() -> Path:
    """Default export folder: $CEI_EXPORT_DIR, else $CEI_HOME/exports (settings)."""
    return cfg.load().export_dir


def platform_version() -> str:
    try:
        return metadata.version("cei")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class ExportResult:
    period: str
    status: Literal["provisional", "final"]
    action: Literal["written", "revised", "unchanged"]
    revision: int  # of the files written, or of the latest published files when unchanged
    as_of: datetime
    out_dir: Path
    files: tuple[Path, ...] = ()  # written now; empty when unchanged
    differences: tuple[Difference, ...] = field(default=())

    @property
    def summary(self) -> str:
        head = f"{self.period} ({self.status}, as of {self.as_of:%Y-%m-%d %H:%M:%S})"
        names = ", ".join(p.name for p in self.files)
        if self.action == "unchanged":
            latest = manifest.names(self.period, self.revision)["json"]
            return f"{head}: no figure changed since the published {latest}; nothing written in {self.out_dir}"
        if self.action == "revised":
            return f"{head}: {len(self.differences)} published figure(s) changed; wrote {names} in {self.out_dir}"
        return f"{head}: wrote {names} in {self.out_dir}"


@dataclass(frozen=True)
class _Published:
    """The latest final export of a period in a folder."""

    revision: int
    csv_name: str
    figures: dict  # canonical (unit → code → field → text)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _published(conn: psycopg.Connection, period: Period, out_dir: Path, codes: Container[str]) -> _Published | None:
    """The latest final export of `period` in `out_dir`, checked against the registry and its bytes;
    a CSV read back keeps the codes in `codes` (the catalogue's)."""
    disk = {m.revision: m for m in manifest.on_disk(out_dir, period) if m.status == "final"}
    known = {r.revision: r for r in registry.finals(conn, period, out_dir)}
    for rev, reg in sorted(known.items()):
        if rev not in disk:
            raise CeiError(
                f"the published final {reg.manifest_name} (meta.exports {reg.export_id}) is missing from {out_dir};"
                " restore it — nothing written"
            )
    for rev, m in sorted(disk.items()):
        for kind in ("csv", "xlsx"):
            path = m.file(kind)
            try:
                actual = _sha256(path.read_bytes())
            except OSError:
                raise CeiError(
                    f"the published final {path.name} is missing from {out_dir}; restore it — nothing written"
                ) from None
            recorded = {m.sha256(kind)}
            if rev in known:
                recorded.add(known[rev].csv_sha256 if kind == "csv" else known[rev].xlsx_sha256)
            if recorded != {actual}:
                raise CeiError(
                    f"the published final {path.name} in {out_dir} is not the file that was published"
                    f" (sha256 {actual[:12]}…, recorded {', '.join(sorted(r[:12] + '…' for r in recorded))});"
                    " restore it — nothing written"
                )
    if not disk:
        return None
    latest = max(disk)
    m = disk[latest]
    if latest in known:
        figures = known[latest].figures
    else:  # published by a warehouse whose registry we do not have: the CSV is the record
        log.warning("%s is not in meta.exports: comparing with its CSV (no rank band)", m.path)
        figures = csv_writer.parse(m.file("csv").read_bytes(), codes)
    return _Published(latest, m.data["files"]["csv"]["name"], figures)


def _write_atomically(out_dir: Path, files: list[tuple[str, bytes]], *, replace: bool) -> list[Path]:
    """Write every file under a temporary name, then rename them all into place (in order).

    The last file (the manifest) completes a publication: without `replace`, its presence
    refuses the write; files of the set without it are what a writer killed between renames
    left, never published, and are replaced."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if not replace and (out_dir / files[-1][0]).exists():
        raise CeiError(f"{out_dir / files[-1][0]} exists already: published files are never overwritten")
    for name, _ in files:  # temporaries of a writer killed mid-way (we hold the export lock)
        for stale in out_dir.glob(f".{glob.escape(name)}.*.tmp"):
            stale.unlink(missing_ok=True)
    staged: list[tuple[str, Path]] = []
    try:
        for name, data in files:
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out_dir)
            staged.append((tmp, out_dir / name))
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
        for tmp, final in staged:
            os.replace(tmp, final)
    finally:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return [final for _, final in staged]


def _sheet_rows(figures: Figures, ctx: workbook.Context) -> dict[str, int]:
    units = len(figures.units)
    rows = {SHEET_SATISFACTION: units, SHEET_INDEX: units, **dict.fromkeys(FAMILY_SHEETS, units)}
    if ctx.trend is not None:
        rows[SHEET_TREND] = units
    rows[SHEET_AUDIT] = len(figures.audit)
    rows[SHEET_NOTES] = len(figures.catalogue.codes)  # definitions
    rows[SHEET_SOURCES] = len(ctx.sources)  # source files listed
    return rows


def _export(conn: psycopg.Connection, p: Period, out_dir: Path, run_id: int | None, now: datetime) -> ExportResult:
    asof: AsOf = as_of_run(conn, run_id)
    if p.start > asof.date:
        raise FuturePeriod(
            f"period {p} starts {p.start.isoformat()}, after the as-of {asof.as_of:%Y-%m-%d %H:%M:%S}"
            f" of the figures (run {asof.run_id}): nothing to export yet"
        )
    figures = read_figures(conn, p)
    canonical = figures.canonical()
    published = _published(conn, p, out_dir, figures.catalogue.by_code)
    calendar = calendar_basis(conn, p)
    # never final while a figure rests on a provisional calendar or a feed has no data, whatever the date
    status_reason = "; ".join(r for r in (calendar.reason(), figures.no_data_reason()) if r) or None
    status = "provisional" if status_reason else p.status_at(asof.date)
    diffs: list[Difference] = []
    if published is None:
        revision, revises = 0, None
    else:
        diffs = differences(published.figures, canonical, [u.code for u in figures.units],
                            code_order=[c.code for c in figures.catalogue.codes])
        if not diffs:
            return ExportResult(p.text, "final", "unchanged", published.revision, asof.as_of, out_dir)
        # A final period stays final, even if a re-run of an older night moved the as-of back.
        status, revision, revises = "final", published.revision + 1, published.csv_name

    sources: list[SourceFile] = source_files(conn, p, asof.run_id)
    names = manifest.names(p, revision)
    ctx = workbook.Context(
        status=status, revision=revision, as_of=asof.as_of, run_id=asof.run_id, sources=tuple(sources),
        version=platform_version(), file_stem=manifest.stem(p, revision), revises=revises,
        differences=tuple(diffs), calendar=calendar.label(), status_reason=status_reason,
        calendar_provisional=bool(calendar.provisional), trend=read_trend(conn, p),
    )
    csv_bytes = csv_writer.render(figures)
    xlsx_bytes = workbook.render(figures, ctx)
    files = {
        "csv": {"name": names["csv"], "sha256": _sha256(csv_bytes), "bytes": len(csv_bytes),
                "rows": len(figures.rows)},
        "xlsx": {"name": names["xlsx"], "sha256": _sha256(xlsx_bytes), "bytes": len(xlsx_bytes),
                 "sheet_rows": _sheet_rows(figures, ctx)},
        "json": {"name": names["json"]},
    }
    export_id = registry.register(
        conn, period=p, status=status, revision=revision, out_dir=out_dir, files=files, rows=len(figures.rows),
        as_of=asof.as_of, run_id=asof.run_id, figures_sha256=figures.fingerprint(), figures=canonical,
        differences=diffs, generated_at=now,
    )
    man = manifest.build(
        period=p, status=status, revision=revision, revises=revises, as_of=asof.as_of, run_id=asof.run_id,
        generated_at=now, export_id=export_id, version=ctx.version,
        files={k: v for k, v in files.items() if k != "json"},
        row_counts={"csv_rows": len(figures.rows), "units": len(figures.units), "codes": len(figures.catalogue.codes),
                    "load_batches": len(sources), "differences": len(diffs)},
        figures_sha256=figures.fingerprint(), sources=sources, differences=diffs,
        not_exported=list(figures.not_exported), withdrawn=withdrawn_files(conn, p, asof.run_id), calendar=calendar,
        figures=figures, status_reason=status_reason,
    )
    written = _write_atomically(
        out_dir,
        [(names["csv"], csv_bytes), (names["xlsx"], xlsx_bytes), (names["json"], manifest.dumps(man))],
        replace=revision == 0,
    )
    action = "revised" if revision else "written"
    return ExportResult(p.text, status, action, revision, asof.as_of, out_dir, tuple(written), tuple(diffs))


def export_period(
    conn: psycopg.Connection, period: str, out_dir: Path, *, run_id: int | None = None, now: datetime | None = None
) -> ExportResult:
    """Export `period` (2026-03 | 2026Q1 | 2026) into `out_dir` (indicators.md, docs/export.md).

    `conn` must have no transaction open; the export commits its own (its registry row).
    As-of: that of the run that last built the marts (provenance.as_of_run), or of `run_id`.
    A malformed or future period, a period without figures, or a tampered publication raises
    CeiError and writes nothing.
    """
    p = parse_period(period)
    out_dir = Path(out_dir).resolve()
    now = now or datetime.now(cfg.LOCAL_TZ)
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        raise CeiError(
            "export_period needs a connection without an open transaction: commit or roll back first,"
            " or pass an autocommit connection"
        )
    try:
        with warehouse.exclusive(conn, f"export of {p}"):
            if not conn.autocommit:
                conn.commit()  # end the lock query's implicit transaction (the lock is the session's)
            with conn.transaction():
                summarise_new_files(conn)
            with conn.transaction():
                # One snapshot of every mart and ledger table read.
                conn.execute("set transaction isolation level repeatable read")
                result = _export(conn, p, out_dir, run_id, now)
    finally:
        _settle(conn)
    log.info("%s", result.summary)
    return result


def _settle(conn: psycopg.Connection) -> None:
    """Leave a non-autocommit connection as it was given: without an open transaction."""
    state = conn.info.transaction_status
    if state == pq.TransactionStatus.INTRANS:
        conn.commit()
    elif state == pq.TransactionStatus.INERROR:
        conn.rollback()


def refresh_exports(run_id: int, out_dir: Path | None = None) -> list[ExportResult]:
    """The nightly refresh after the marts are published: export every period run `run_id`
    could have changed (periods_touched) at that run's as-of. Periods without figures are
    skipped; final periods get a revision only if a figure changed."""
    out_dir = Path(out_dir) if out_dir else export_dir()
    results: list[ExportResult] = []
    with warehouse.connect(autocommit=True) as conn:
        for period in periods_touched(conn, run_id):
            try:
                results.append(export_period(conn, period, out_dir, run_id=run_id))
            except (NoFigures, FuturePeriod) as exc:
                log.info("skipped %s: %s", period, exc)
    return results
