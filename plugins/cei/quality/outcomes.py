"""Results as the data steward reads them: an `Outcome` per expectation (what it asks for,
what it observed, with up to three unexpected values and where they are), a `SuiteResult` per
suite, and a gate's one-line message. Pure functions of GX's result objects: the same words go
to `meta.quality_results`, `cei status`, the task log and the failure alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cei.quality.assets import RAW_UNITS
from cei.quality.suites import MARTS_PREFIX, TABLE_ASSET

OBSERVED_MAX = 300  # characters of observed/expected text kept in meta.quality_results
SAMPLES = 3  # unexpected values quoted per result


@dataclass(frozen=True)
class Outcome:
    expectation: str
    description: str
    severity: str
    success: bool
    observed: str
    expected: str
    suite: str = ""
    target: str = ""  # a feed, or a published mart `marts.<table>`

    def brief(self) -> dict[str, str]:
        return {
            "expectation": self.expectation,
            "description": self.description,
            "observed": self.observed,
            "expected": self.expected,
        }


@dataclass
class SuiteResult:
    """One suite's outcome in a gate, as recorded in meta.quality_gates."""

    suite: str
    target: str
    outcomes: list[Outcome] = field(default_factory=list)
    note: str | None = None
    skipped: bool = False

    @property
    def failed_critical(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity == "critical"]

    @property
    def failed_warning(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.success and o.severity != "critical"]

    @property
    def status(self) -> str:
        if self.skipped:
            return "skipped"
        return "failed" if self.failed_critical else "warned" if self.failed_warning else "passed"


def _short(value: Any, limit: int = 40) -> str:
    if isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, list | tuple):
        text = "(" + ", ".join(_short(v, limit) for v in value) + ")"
    elif isinstance(value, dict):  # one row of a multi-column check
        text = "(" + ", ".join(_short(v, limit) for v in value.values()) + ")"
    elif value is None:
        text = "null"
    elif isinstance(value, datetime):
        text = value.isoformat(sep=" ", timespec="minutes")
    elif isinstance(value, str) and not value.strip():
        text = repr(value)  # a blank value must stay visible
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clip(text: str) -> str:
    return text if len(text) <= OBSERVED_MAX else text[: OBSERVED_MAX - 1] + "…"


def _asset_of(conf: Any) -> str:
    return (conf.meta or {}).get("asset", "rows")


def expectation_id(conf: Any) -> str:
    """`type(columns)`, columns of a non-default asset prefixed with it (`load_files.`,
    `volume.`, `unit_coverage.`…): the name recorded and reported."""
    kw = conf.kwargs
    asset = _asset_of(conf)
    prefix = "" if asset in ("rows", TABLE_ASSET) else asset + "."
    cols = [kw[k] for k in ("column", "column_A", "column_B") if kw.get(k)]
    cols += list(kw.get("column_list") or [])
    return f"{conf.type}({', '.join(prefix + c for c in cols)})" if cols else conf.type


def expected_text(conf: Any) -> str:
    """What the expectation asks for, short, from its kwargs."""
    t, kw = conf.type, conf.kwargs
    a, b = kw.get("column_A"), kw.get("column_B")
    lo, hi = kw.get("min_value"), kw.get("max_value")
    if "not_be_null" in t:
        text = "not null"
    elif t == "expect_column_values_to_be_null":
        text = "null"
    elif "to_be_in_set" in t:
        text = "in {" + ", ".join(map(str, kw.get("value_set") or ())) + "}"
        if "column" in kw:
            text += " or null"
    elif "match_regex" in t:
        text = f"matches {kw.get('regex')}"
    elif "pair_values_a_to_be_greater_than_b" in t:
        text = f"{a} {'>=' if kw.get('or_equal') else '>'} {b}"
    elif "pair_values_to_be_equal" in t:
        text = f"{a} = {b}"
    elif "to_be_unique" in t:
        text = "unique"
    elif t == "expect_table_row_count_to_equal":
        text = f"row count = {kw.get('value')}"
    elif lo is not None or hi is not None:
        column = kw.get("column")
        subject = "row count" if "row_count" in t else column or "value"
        for stat in ("mean", "max", "min", "median", "sum", "stdev"):
            if t.startswith(f"expect_column_{stat}_"):
                subject = f"{stat}({column})"
        if lo is not None and hi is not None:
            text = f"{subject} = {_short(lo)}" if lo == hi else f"{_short(lo)} <= {subject} <= {_short(hi)}"
        else:
            text = f"{subject} >= {_short(lo)}" if lo is not None else f"{subject} <= {_short(hi)}"
        if t.startswith("expect_column_values_"):
            text += " or null"
    else:
        text = ", ".join(f"{k}={_short(v)}" for k, v in kw.items() if k not in ("column", "batch_id"))
    if kw.get("mostly") not in (None, 1, 1.0):
        text += f" for at least {kw['mostly']:.0%} of rows"
    if kw.get("row_condition"):
        text += " where " + condition_text(kw["row_condition"])
    return _clip(text)


def observed_text(res: Any, unit: str | None = None, index: Iterable[str] = ()) -> str:
    error = _error_message(res.exception_info)
    conf = res.expectation_config
    if error is not None:
        return _clip("error: " + error)
    r = res.result or {}
    if "observed_value" in r:
        return _clip(_short(r["observed_value"], OBSERVED_MAX))
    if "unexpected_count" in r or "element_count" in r:
        unit = unit or {**RAW_UNITS, TABLE_ASSET: "rows"}.get(_asset_of(conf), "rows")
        n, bad = r.get("element_count") or 0, r.get("unexpected_count") or 0
        text = f"{bad} of {n} {unit}"
        if bad and n:
            text += f" ({bad / n:.2%})"
        samples = [_short(v) for v in (r.get("partial_unexpected_list") or []) if v is not None]
        found = r.get("partial_unexpected_index_list") or []
        if str(conf.kwargs.get("column") or "").startswith("batch_"):
            # The same value on every row (a share over all the validated files): say it once.
            if bad and samples:
                text = f"{samples[0]} over the {n} {unit} together"
        else:
            if found and isinstance(found[0], dict):
                samples = [_locate(i, tuple(index)) for i in found]
            if bad and samples:
                text += ", e.g. " + "; ".join(list(dict.fromkeys(samples))[:SAMPLES])
        note = (conf.meta or {}).get("when_unchecked")
        if note and not n:
            text = f"nothing to check: {note}"
        elif note and r.get("missing_count"):
            text += f"; {r['missing_count']} not checked: {note}"
        return _clip(text)
    return "n/a"


def _error_message(info: Any) -> str | None:
    """The first line of the exception a check raised, or None. GX reports it either flat
    ({raised_exception, exception_message}) or per failed metric ({metric id: {...}})."""
    if not isinstance(info, dict):
        return None
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for entry in entries:
        if entry.get("raised_exception"):
            lines = str(entry.get("exception_message") or "").strip().splitlines()
            return lines[0] if lines else "the check could not be computed"
    return None


def _locate(row: Mapping[str, Any], index: tuple[str, ...] = ()) -> str:
    """`file 12 row 37: 投拆` (raw rows), `orders.csv: 0.2` (files), `month=2026-07-01
    indicator_code=…: 2` (marts) from an unexpected-index entry."""
    index = index or tuple(k for k in ("load_file_id", "source_row", "file_name") if k in row)
    where = []
    for key in index:
        if key not in row:
            continue
        value = row[key]
        if key == "load_file_id":
            where.append(f"file {value}")
        elif key == "source_row":
            where.append(f"row {value}")
        elif key == "file_name":
            where.append(str(value))
        else:
            where.append(f"{key}={_short(value)}")
    value = ", ".join(_short(v) for k, v in row.items() if k not in index)
    if not where:
        return value
    return " ".join(where) + (": " + value if value else "")


def condition_text(condition: Any) -> str:
    """`batch_rows_read >= 50`, for people."""
    if not isinstance(condition, dict):
        return str(condition)
    kind = condition.get("type")
    if kind in ("and", "or"):
        return f" {kind} ".join(condition_text(c) for c in condition.get("conditions") or ())
    name = (condition.get("column") or {}).get("name")
    if kind == "nullity":
        return f"{name} is {'null' if condition.get('is_null') else 'not null'}"
    operator_ = {"==": "=", "NOT_IN": "not in"}.get(condition.get("operator"), condition.get("operator"))
    return f"{name} {operator_} {_short(condition.get('parameter'))}"


def gate_message(target: str, failed: list[Outcome]) -> str:
    """One line for the data steward: the feed or mart, the (first) failed critical expectation,
    what was observed and what was expected, and how many more failed. `target` is a feed name
    or a published mart (`marts.<table>`)."""
    first = failed[0]
    what = f"{first.description} [{first.expectation}]" if first.description else first.expectation
    subject = f"mart {target}" if target.startswith(MARTS_PREFIX) else f"feed {target}"
    text = f"quality gate failed for {subject}: {what}: observed {first.observed}; expected {first.expected}"
    if len(failed) > 1:
        more = [o.expectation if o.target == first.target else f"{o.target} {o.expectation}" for o in failed[1:]]
        text += f" (and {len(failed) - 1} more critical: {', '.join(more)})"
    return " ".join(text.splitlines())  # one line, whatever the data contained


def outcome_of(res: Any, suite: str, target: str, unit: str, index: Iterable[str]) -> Outcome:
    """The Outcome of one GX ExpectationValidationResult."""
    conf = res.expectation_config
    return Outcome(
        expectation=expectation_id(conf),
        description=conf.description or "",
        severity=getattr(conf.severity, "value", str(conf.severity)),
        success=bool(res.success),
        observed=observed_text(res, unit, index),
        expected=expected_text(conf),
        suite=suite,
        target=target,
    )
