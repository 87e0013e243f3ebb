"""assessment_<P>.json — what an export is made of and where its figures come from — and the
names of an export's files. The manifest's `generated_at` is the only wall-clock value of an
export; everything else is a function of the warehouse's state.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cei.errors import CeiError
from cei.export.figures import Figures
from cei.export.periods import Period
from cei.export.provenance import CalendarBasis, SourceFile, WithdrawnFile
from cei.export.revisions import Difference


def stem(period: Period | str, revision: int = 0) -> str:
    """assessment_<P> (revision 0) or assessment_<P>.rev<N>."""
    return f"assessment_{period}" + (f".rev{revision}" if revision else "")


def names(period: Period | str, revision: int = 0) -> dict[str, str]:
    base = stem(period, revision)
    return {"csv": f"{base}.csv", "xlsx": f"{base}.xlsx", "json": f"{base}.json"}


@dataclass(frozen=True)
class OnDisk:
    """A manifest found in an export folder."""

    path: Path
    revision: int
    status: str
    data: dict

    def file(self, kind: str) -> Path:
        return self.path.parent / self.data["files"][kind]["name"]

    def sha256(self, kind: str) -> str:
        return self.data["files"][kind]["sha256"]


def on_disk(out_dir: Path, period: Period) -> list[OnDisk]:
    """The manifests of `period` in `out_dir` (base and revisions), by revision."""
    pattern = re.compile(re.escape(stem(period)) + r"(?:\.rev(\d+))?\.json")
    found = []
    if not out_dir.is_dir():
        return found
    for path in out_dir.iterdir():
        m = pattern.fullmatch(path.name)
        if not m:
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CeiError(f"cannot read the export manifest {path}: {exc}") from None
        found.append(OnDisk(path, int(m[1] or 0), data.get("status", ""), data))
    return sorted(found, key=lambda m: m.revision)


def build(
    *, period: Period, status: str, revision: int, revises: str | None, as_of: datetime, run_id: int,
    generated_at: datetime, export_id: int, version: str, files: dict[str, dict], row_counts: dict,
    figures_sha256: str, sources: list[SourceFile], differences: list[Difference], not_exported: list[str],
    withdrawn: list[WithdrawnFile], calendar: CalendarBasis, figures: Figures, status_reason: str | None,
) -> dict:
    return {
        "period": period.text,
        "period_type": period.type,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "status": status,
        "final_from": period.final_from.isoformat(),
        # the official calendar the deadlines were counted on: year → library | imported | provisional
        "calendar_status": calendar.status,
        "calendar_sources": {str(year): source for year, source in calendar.sources.items()},
        "status_reason": status_reason,  # why a period past its final date is still provisional
        "revision": revision,
        "revises": revises,
        "as_of": as_of.isoformat(),
        "as_of_run_id": run_id,
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "export_id": export_id,
        "platform_version": version,
        "files": files,
        "row_counts": row_counts,
        "figures_sha256": figures_sha256,
        "differences": [d.as_json() for d in differences],
        "load_batches": [f.as_json() for f in sources],
        # files the data steward withdrew (`cei files withdraw`) that held rows of the period
        "withdrawn_files": [f.as_json() for f in withdrawn],
        "not_exported": not_exported,
        # what each feed delivered for each unit (marts.mart_feed_coverage); a feed without any
        # row keeps the period provisional
        "coverage": {
            "feeds_without_data": list(figures.feeds_without_data()),
            "by_feed": [c.as_json() for c in figures.coverage],
        },
        # the data-sufficiency rules the figures were built under (marts.dim_cei_rule) and what
        # they left out
        "data_sufficiency": {
            "rules": None if figures.rules is None else {
                "min_denominator": figures.rules.min_denominator,
                "min_coverage": str(figures.rules.min_coverage),
                "min_ranked_units": figures.rules.min_ranked_units,
            },
            "units_with_index": figures.units_with_index(),
            "ranks_withheld_reason": figures.ranks_withheld_reason(),
            "notes": _note_counts(figures),
        },
    }


def _note_counts(figures: Figures) -> dict[str, int]:
    """note → how many rows carry it."""
    counts: dict[str, int] = {}
    for row in figures.rows:
        if row.note:
            counts[row.note] = counts.get(row.note, 0) + 1
    return dict(sorted(counts.items()))


def dumps(manifest: dict) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
