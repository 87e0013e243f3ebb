"""Is a night's delivery complete? The convention the nightly DAG's sensor waits on.

Upstream systems copy their files into `<landing>/<feed>/<YYYY-MM-DD>/`. A file is still being
written while it has a temporary name (`*.part`, `*.tmp`, `*.partial`, a leading `.` or `~`) or,
in a folder without a `_SUCCESS` marker, while it was modified less than `settle_s` seconds ago
(a copy in progress under its final name). A `_SUCCESS` marker, written last, says the folder is
complete at once. A feed with no folder or no files that night is not waited for (not every feed
delivers every night): it is reported.

Pure functions of the folder and the clock; the sensor (cei.nightly) decides when to give up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from cei.feeds import FEEDS

MARKER = "_SUCCESS"
TEMPORARY_SUFFIXES = (".part", ".tmp", ".partial")
TEMPORARY_PREFIXES = (".", "~")


@dataclass(frozen=True)
class Delivery:
    feed: str
    day: date
    writing: tuple[str, ...]  # files still being written, with why
    files: int  # files present (markers and temporaries not counted)

    @property
    def where(self) -> str:
        return f"{self.feed}/{self.day.isoformat()}"


def _temporary(path: Path) -> bool:
    return path.name.startswith(TEMPORARY_PREFIXES) or path.suffix.lower() in TEMPORARY_SUFFIXES


def delivery(landing: Path, feed: str, day: date, now: datetime, settle_s: float) -> Delivery:
    folder = landing / feed / day.isoformat()
    paths = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    marked = (folder / MARKER).exists()
    writing, files = [], 0
    for path in paths:
        name = path.relative_to(folder).as_posix()
        if _temporary(path):
            writing.append(f"{name} (temporary name)")
            continue
        if path.name == MARKER:
            continue
        files += 1
        age = now.timestamp() - path.stat().st_mtime
        if not marked and age < settle_s:
            writing.append(f"{name} (modified {max(age, 0):.0f} s ago)")
    return Delivery(feed, day, tuple(writing), files)


def deliveries(landing: Path, days: list[date], now: datetime, settle_s: float) -> list[Delivery]:
    return [delivery(landing, feed, day, now, settle_s) for day in days for feed in FEEDS]


def summary(found: list[Delivery]) -> str | None:
    """One line on what is not there, or None when every feed delivered, complete."""
    parts = [f"{d.where}: still being written ({', '.join(d.writing)})" for d in found if d.writing]
    parts += [f"{d.where}: no files" for d in found if not d.files and not d.writing]
    return "; ".join(parts) or None
