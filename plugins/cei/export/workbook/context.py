"""What the workbook says besides the figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cei.export.provenance import SourceFile
from cei.export.revisions import Difference
from cei.export.trend import Trend


@dataclass(frozen=True)
class Context:
    """What the workbook says besides the figures."""

    status: str  # provisional | final
    revision: int  # 0: assessment_<P>.*; N: assessment_<P>.rev<N>.*
    as_of: datetime
    run_id: int
    sources: tuple[SourceFile, ...]
    version: str  # platform version
    file_stem: str  # assessment_<P> or assessment_<P>.rev<N>
    revises: str | None = None  # the CSV this revision replaces
    differences: tuple[Difference, ...] = ()
    calendar: str = ""  # the official calendar's source per year (provenance.CalendarBasis.label)
    status_reason: str | None = None  # why a period past its final date is still provisional
    calendar_provisional: bool = False  # a figure counts deadlines over a provisional calendar
    trend: Trend | None = None  # quarters and years: the months (trend.read_trend)
