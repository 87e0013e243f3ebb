"""The index on the demo's data, through Airflow: a period with almost no data gets no index, no
rank and never `final`; a thin one publishes its scores without ranks; a period with enough data
ranks as before — and every empty cell says why (note), in the marts and in the export.

The demo delivers from July 2026 on: 2026Q2 holds only late return reports and a few inspection
samples (no work order, no ODR dispute), July's first deliveries are thin, August is full.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from decimal import Decimal

from cei import cli, settings, synthetic, warehouse
from cei.export import export_period

SEED_DIR = settings.DBT_PROJECT_DIR / "seeds"


def _seed(name: str) -> list[dict]:
    with (SEED_DIR / name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _index_shares() -> dict[str, Decimal]:
    """indicator → its share of the index's total weight, from the seed the bureau edits."""
    weights = _seed("cei_weights.csv")
    subs = {w["component_code"]: Decimal(w["weight"]) for w in weights if w["parent_code"] == "cei"}
    inside: dict[str, Decimal] = defaultdict(Decimal)
    for w in weights:
        if w["parent_code"] != "cei":
            inside[w["parent_code"]] += Decimal(w["weight"])
    return {w["component_code"]: subs[w["parent_code"]] / sum(subs.values()) * Decimal(w["weight"])
            / inside[w["parent_code"]] for w in weights if w["parent_code"] != "cei"}


def _csv(path) -> dict[tuple[str, str], dict]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return {(r["unit_code"], r["indicator_code"]): r for r in csv.DictReader(fh)}


def test_empty_and_thin_periods_are_neither_ranked_nor_final(warehouse_url, tmp_path):
    landing = tmp_path / "landing"
    synthetic.generate(landing, scale=5000, defect_rate=0.01)  # as `cei demo`: 2026-07-01 … 2026-09-30
    assert cli.main(["run", "--landing", str(landing), "--all"]) == 0
    rules = {(r["rule_code"], r["indicator_code"]): Decimal(r["threshold"]) for r in _seed("cei_rules.csv")}
    shares = _index_shares()

    with warehouse.connect() as conn:
        # indicators: a score exactly where the denominator reaches the minimum; min–max over those
        scores = conn.execute(
            "select s.period, s.unit_code, s.indicator_code, p.denominator, s.score, s.rank, s.note"
            " from marts.mart_indicator_score s join marts.mart_indicator_period p"
            " using (period, unit_code, indicator_code) where s.period in ('2026Q2', '2026-07', '2026-08')"
        ).fetchall()
        for period, unit, code, den, score, _, note in scores:
            enough = (den or 0) >= rules[("min_denominator", code)]
            assert (score is not None) == enough, (period, unit, code, den)
            assert (note == "insufficient_data") == (not enough)
        by_indicator = defaultdict(list)
        for period, _, code, _, score, rank, note in scores:
            if score is not None:
                by_indicator[(period, code)].append((score, rank, note))
        for (period, code), scored in by_indicator.items():
            values = [s for s, _, _ in scored]
            if len(set(values)) > 1:
                assert (min(values), max(values)) == (0, 100), (period, code)
            ranked = len(scored) >= rules[("min_ranked_units", "")]
            assert all((r is not None) == ranked and (n is None) == ranked for _, r, n in scored), (period, code)

        # coverage: the share of the index's weight scored, recomputed here from the seed
        scored_by_unit = defaultdict(set)
        for period, unit, code, _, score, _, _ in scores:
            if score is not None:
                scored_by_unit[(period, unit)].add(code)
        index = conn.execute(
            "select period, unit_code, coverage, score, rank, rank_p05, rank_p50, rank_p95, note from marts.mart_cei"
            " where component_code = 'cei' and period in ('2026Q2', '2026-07', '2026-08')"
        ).fetchall()
        for period, unit, coverage, score, *_ in index:
            expected = sum((shares[c] for c in scored_by_unit[(period, unit)]), Decimal(0))
            assert abs(coverage - expected) < Decimal("1e-9"), (period, unit)
            assert (score is not None) == (expected >= rules[("min_coverage", "")]), (period, unit)
        with_index = {p: sum(1 for q, _, _, s, *_ in index if q == p and s is not None)
                      for p in ("2026Q2", "2026-07", "2026-08")}
        assert with_index["2026Q2"] == 0  # no work order, no ODR dispute: nobody has an index
        assert 0 < with_index["2026-07"] < 6 <= with_index["2026-08"]
        for period, _, _, score, rank, p05, p50, p95, note in index:
            if period == "2026-08" and score is not None:
                assert rank is not None and p05 <= p50 <= p95 and note is None
            elif score is not None:  # July: scores without ranks
                assert (rank, p05, p50, p95, note) == (None, None, None, None, "too_few_units")
            else:
                assert rank is None and note == "insufficient_coverage"
        ranks = sorted(r for q, _, _, s, r, *_ in index if q == "2026-08" and s is not None)
        assert ranks[0] == 1 and len(ranks) == with_index["2026-08"]

        # the audit, beside the marts
        sections = {s for (s,) in conn.execute(
            "select distinct section from marts.mart_cei_audit where period = '2026-08'")}
        assert sections == {"indicator", "correlation", "reliability", "effective_weight", "sensitivity"}

    with warehouse.connect(autocommit=True) as conn:
        q2 = export_period(conn, "2026Q2", tmp_path)
        july = export_period(conn, "2026-07", tmp_path)
        august = export_period(conn, "2026-08", tmp_path)

    # 2026Q2 is past its final date (2026-07-16) but two feeds delivered nothing for it
    assert q2.status == "provisional"
    manifest = json.loads((tmp_path / "assessment_2026Q2.json").read_text(encoding="utf-8"))
    assert set(manifest["coverage"]["feeds_without_data"]) == {"hotline", "odr"}
    assert "no data at all from hotline, odr" in manifest["status_reason"]
    rows = _csv(tmp_path / "assessment_2026Q2.csv")
    assert all((r["score"], r["rank"], r["note"]) == ("", "", "insufficient_coverage")
               for (_, code), r in rows.items() if code == "cei")
    assert all(r["note"] == "insufficient_data" for (_, code), r in rows.items() if code == "satisfaction_rate")

    # July: final by the date, index scores published, no ranks and the reason why
    assert july.status == "final"
    manifest = json.loads((tmp_path / "assessment_2026-07.json").read_text(encoding="utf-8"))
    assert manifest["data_sufficiency"]["units_with_index"] == with_index["2026-07"]
    assert "a ranking needs 6" in manifest["data_sufficiency"]["ranks_withheld_reason"]
    assert not any(r["rank"] for (_, code), r in _csv(tmp_path / "assessment_2026-07.csv").items()
                   if code.startswith("cei"))

    # August: enough data, ranked as before
    assert august.status == "final"
    rows = _csv(tmp_path / "assessment_2026-08.csv")
    ranked = {u for (u, code), r in rows.items() if code == "cei" and r["rank"]}
    assert len(ranked) == with_index["2026-08"] and all(rows[(u, "cei")]["note"] == "" for u in ranked)
    assert rows[("350128", "cei")]["note"] == "insufficient_coverage"  # 平潭: too few cases of its own
