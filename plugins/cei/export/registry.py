"""meta.exports: every export written, with its figures, so a later run can tell exactly what was
published and whether anything changed (the table: cei/warehouse/migrations/)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
from psycopg.types.json import Jsonb

from cei.export.periods import Period
from cei.export.revisions import Difference
from cei.status import table


@dataclass(frozen=True)
class Registered:
    export_id: int
    revision: int
    status: str
    csv_sha256: str
    xlsx_sha256: str
    manifest_name: str
    figures: dict


def finals(conn: psycopg.Connection, period: Period, out_dir: Path) -> list[Registered]:
    """The final exports of `period` registered for `out_dir`, by revision."""
    rows = conn.execute(
        "select export_id, revision, status, csv_sha256, xlsx_sha256, manifest_name, figures from meta.exports"
        " where period = %s and out_dir = %s and status = 'final' order by revision, export_id",
        (period.text, str(out_dir)),
    ).fetchall()
    return [Registered(*r) for r in rows]


def register(
    conn: psycopg.Connection, *, period: Period, status: str, revision: int, out_dir: Path, files: dict[str, dict],
    rows: int, as_of: datetime, run_id: int, figures_sha256: str, figures: dict, differences: list[Difference],
    generated_at: datetime,
) -> int:
    return conn.execute(
        "insert into meta.exports (period, period_type, status, revision, out_dir, csv_name, csv_sha256,"
        " xlsx_name, xlsx_sha256, manifest_name, rows, as_of, run_id, figures_sha256, figures, differences,"
        " generated_at) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " returning export_id",
        (
            period.text, period.type, status, revision, str(out_dir), files["csv"]["name"], files["csv"]["sha256"],
            files["xlsx"]["name"], files["xlsx"]["sha256"], files["json"]["name"], rows, as_of, run_id,
            # Figures are kept for finals only (what later runs compare with): provisional
            # exports are rewritten every night and need no record of their figures.
            figures_sha256, Jsonb(figures) if status == "final" else None,
            Jsonb([d.as_json() for d in differences]), generated_at,
        ),
    ).fetchone()[0]


def recent_exports(conn: psycopg.Connection, limit: int = 10) -> str:
    """The last exports written, for `cei status`."""
    rows = conn.execute(
        "select export_id, period, status, revision, to_char(as_of, 'YYYY-MM-DD'), rows,"
        " jsonb_array_length(coalesce(differences, '[]'::jsonb)),"
        " to_char(generated_at, 'YYYY-MM-DD HH24:MI:SS'), out_dir || '/' || manifest_name"
        " from meta.exports order by export_id desc limit %s",
        (limit,),
    ).fetchall()
    return table(["export", "period", "status", "rev", "as-of", "rows", "changes", "generated", "manifest"], rows)

