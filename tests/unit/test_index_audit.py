"""The index audit: every figure of a small example checked by hand, each flag, the rank sensitivity.

Expected figures are literals worked out independently of the module (by hand or with the textbook
formula written in the comment next to them), never by the library call the module makes.
"""

import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from cei.index_audit.statistics import COLUMNS, audit_period, competition_rank, cronbach_alpha

NAN = math.nan

SEED = pd.DataFrame(
    [
        ("cei", "cei_efficiency", 35),
        ("cei", "cei_satisfaction", 30),
        ("cei", "cei_source", 20),
        ("cei", "cei_quality", 15),
        ("cei_efficiency", "complaint_accept_ontime_rate", 25),
        ("cei_efficiency", "complaint_close_ontime_rate", 25),
        ("cei_efficiency", "report_verify_ontime_rate", 25),
        ("cei_efficiency", "mediation_success_rate", 25),
        ("cei_satisfaction", "satisfaction_rate", 100),
        ("cei_source", "odr_share", 50),
        ("cei_source", "odr_settle_rate", 25),
        ("cei_source", "odr_ontime_rate", 25),
        ("cei_quality", "inspection_fail_rate", 100),
    ],
    columns=["parent_code", "component_code", "weight"],
)


def _weights(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["parent_code", "component_code", "weight"])


def _official(
    raw: dict[str, list[float]], weights: pd.DataFrame, lower: frozenset[str] = frozenset(), no_index: tuple = ()
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(indicators, components) by the official method, written out in plain Python for the tests.

    Units are U1..Un in list order; NaN = no value. `no_index` units get no index ("too little data").
    """
    parent = {c: p for p, c, _ in weights.itertuples(index=False) if p != "cei"}
    weight = {c: float(w) for _, c, w in weights.itertuples(index=False)}
    sub_indices = [c for p, c, _ in weights.itertuples(index=False) if p == "cei"]
    n = len(next(iter(raw.values())))
    units = [f"U{i + 1}" for i in range(n)]
    indicator_rows, score = [], {}
    for code, values in raw.items():
        present = [v for v in values if not math.isnan(v)]
        lo, hi = min(present), max(present)
        for unit, v in zip(units, values):
            if math.isnan(v):
                s = NAN
            elif hi == lo:
                s = 100.0
            else:
                s = 100 * ((hi - v) if code in lower else (v - lo)) / (hi - lo)
            score[unit, code] = s
            direction = "lower" if code in lower else "higher"
            indicator_rows.append((unit, code, parent[code], direction, v, s))

    def mean(pairs: list[tuple[float, float]]) -> float:
        pairs = [(s, w) for s, w in pairs if not math.isnan(s)]
        return sum(s * w for s, w in pairs) / sum(w for _, w in pairs) if pairs else NAN

    component_score = {}
    for unit in units:
        subs = {c: mean([(score[unit, i], weight[i]) for i in raw if parent[i] == c]) for c in sub_indices}
        component_score[unit] = {**subs, "cei": NAN if unit in no_index else mean([(subs[c], weight[c]) for c in subs])}
    component_rows = []
    for code in [*sub_indices, "cei"]:
        by_unit = pd.Series({u: component_score[u][code] for u in units})
        ranks = by_unit.round(2).rank(method="min", ascending=False)
        component_rows += [(u, code, by_unit[u], ranks[u]) for u in units]
    indicators = pd.DataFrame(
        indicator_rows, columns=["unit_code", "indicator_code", "sub_index_code", "direction", "value", "score"]
    )
    components = pd.DataFrame(component_rows, columns=["unit_code", "component_code", "score", "rank"])
    return indicators, components


def _value(result: pd.DataFrame, section: str, subject: str, measure: str, related: str | None = None) -> float:
    return _only(result, section, subject, measure, related)["value"]


def _flag(result: pd.DataFrame, section: str, subject: str, measure: str, related: str | None = None) -> str | None:
    return _only(result, section, subject, measure, related)["flag"]


def _only(result: pd.DataFrame, section: str, subject: str, measure: str, related: str | None) -> pd.Series:
    hit = result[(result["section"] == section) & (result["subject"] == subject) & (result["measure"] == measure)]
    if related is not None:
        hit = hit[hit["related"] == related]
    assert len(hit) == 1, (section, subject, measure, related)
    return hit.iloc[0]


def _flags(result: pd.DataFrame) -> set[tuple]:
    flagged = result[result["flag"].notna()]
    return {(r.section, r.subject, r.related, r.measure, r.flag) for r in flagged.itertuples()}


# --- the hand-checked example ---------------------------------------------------------------------
# 5 units; sub-index A (weight 60) = a1 (higher, 50) + a2 (lower, 50); sub-index B (40) = b1 (higher).
# Min–max scores: a1 10..50 → 0, 25, 50, 75, 100; a2 lower, range 1..5 → 100·(5 − x)/4;
# b1 0..40 over U1–U4 (U5 has no value) → 0, 25, 50, 100.
# A = (a1 + a2)/2 = 0, 62.5, 50, 75, 62.5;  B = b1;  cei = 0.6·A + 0.4·B = 0, 47.5, 50, 85 and, for U5
# (no B, weights renormalised over A alone), 62.5.

HAND_WEIGHTS = _weights([("cei", "A", 60), ("cei", "B", 40), ("A", "a1", 50), ("A", "a2", 50), ("B", "b1", 100)])
HAND_INDICATORS = pd.DataFrame(
    [
        ("U1", "a1", "A", "higher", 10.0, 0.0),
        ("U2", "a1", "A", "higher", 20.0, 25.0),
        ("U3", "a1", "A", "higher", 30.0, 50.0),
        ("U4", "a1", "A", "higher", 40.0, 75.0),
        ("U5", "a1", "A", "higher", 50.0, 100.0),
        ("U1", "a2", "A", "lower", 5.0, 0.0),
        ("U2", "a2", "A", "lower", 1.0, 100.0),
        ("U3", "a2", "A", "lower", 3.0, 50.0),
        ("U4", "a2", "A", "lower", 2.0, 75.0),
        ("U5", "a2", "A", "lower", 4.0, 25.0),
        ("U1", "b1", "B", "higher", 0.0, 0.0),
        ("U2", "b1", "B", "higher", 10.0, 25.0),
        ("U3", "b1", "B", "higher", 20.0, 50.0),
        ("U4", "b1", "B", "higher", 40.0, 100.0),
        ("U5", "b1", "B", "higher", NAN, NAN),
    ],
    columns=["unit_code", "indicator_code", "sub_index_code", "direction", "value", "score"],
)
HAND_COMPONENTS = pd.DataFrame(
    [
        ("U1", "A", 0.0, 5),
        ("U2", "A", 62.5, 2),
        ("U3", "A", 50.0, 4),
        ("U4", "A", 75.0, 1),
        ("U5", "A", 62.5, 2),
        ("U1", "B", 0.0, 4),
        ("U2", "B", 25.0, 3),
        ("U3", "B", 50.0, 2),
        ("U4", "B", 100.0, 1),
        ("U5", "B", NAN, NAN),
        ("U1", "cei", 0.0, 5),
        ("U2", "cei", 47.5, 4),
        ("U3", "cei", 50.0, 3),
        ("U4", "cei", 85.0, 1),
        ("U5", "cei", 62.5, 2),
    ],
    columns=["unit_code", "component_code", "score", "rank"],
)


@pytest.fixture(scope="module")
def hand() -> pd.DataFrame:
    return audit_period(HAND_INDICATORS, HAND_COMPONENTS, HAND_WEIGHTS, min_ranked_units=5)


def test_result_is_tidy(hand):
    assert COLUMNS == ("section", "subject", "related", "measure", "value", "flag")
    assert tuple(hand.columns) == COLUMNS
    assert hand["value"].dtype == np.float64
    # 3 indicators × 7, 3 pairs + 3 × 2 + 2 correlations, 2 × 2 reliability, 2 × 2 weights, 5 × 4 + 1 ranks
    assert hand["section"].value_counts().to_dict() == {
        "indicator": 21,
        "correlation": 11,
        "reliability": 4,
        "effective_weight": 4,
        "sensitivity": 21,
    }
    assert hand.loc[hand["section"] != "correlation", "related"].map(lambda v: v is None).all()
    assert hand.loc[hand["section"] == "correlation", "measure"].eq("pearson_r").all()


def test_hand_indicator_statistics(hand):
    expected = {
        # a1 = 10, 20, 30, 40, 50: equally spaced, so skewness 0; excess kurtosis of 5 equally spaced
        # points: m2 = 2·10², m4 = 6.8·10⁴, g2 = 6.8/4 − 3 = −1.3, G2 = (n−1)/((n−2)(n−3))·((n+1)g2 + 6)
        # = 4/6·(−7.8 + 6) = −1.2
        "a1": {"n": 5, "missing_share": 0.0, "min": 10, "max": 50, "mean": 30, "skewness": 0.0, "kurtosis": -1.2},
        # a2 = 5, 1, 3, 2, 4: the same spacing
        "a2": {"n": 5, "missing_share": 0.0, "min": 1, "max": 5, "mean": 3, "skewness": 0.0, "kurtosis": -1.2},
        # b1 = 0, 10, 20, 40 (U5 has no score: 1 − 4/5 = 0.2); mean 17.5, deviations −17.5, −7.5, 2.5, 22.5:
        # m2 = 875/4, m3 = 5625/4, m4 = 353281.25/4. Adjusted Fisher–Pearson skewness
        # G1 = √(n(n−1))/(n−2) · m3/m2^1.5 = √12/2 · 1406.25/218.75^1.5 = 0.752837…;
        # g2 = m4/m2² − 3 = 323/175 − 3 = −202/175, G2 = 3/2 · (5·(−202/175) + 6) = 3/2 · 8/35 = 12/35
        "b1": {
            "n": 4,
            "missing_share": 0.2,
            "min": 0,
            "max": 40,
            "mean": 17.5,
            "skewness": 0.7528371991317255,
            "kurtosis": 12 / 35,
        },
    }
    for code, measures in expected.items():
        for measure, value in measures.items():
            assert _value(hand, "indicator", code, measure) == pytest.approx(value, abs=1e-12), (code, measure)
            assert _flag(hand, "indicator", code, measure) is None


def test_hand_correlations(hand):
    # Pearson's r = Σdxdy / √(Σdx²·Σdy²) on the scores.
    # a1 vs a2: deviations (−50, −25, 0, 25, 50) and (−50, 50, 0, 25, −25): 625 / √(6250·6250) = 0.1
    # a1 vs A: A's deviations (−50, 12.5, 0, 25, 12.5): 3437.5/√(6250·3437.5) = √0.55; a2 vs A the same
    # a2 vs b1 over U1–U4: 17/35; b1 vs B: B is b1, r = 1
    expected = {
        ("a1", "a2"): (0.1, "weak"),
        ("a1", "b1"): (0.9827076298239907, None),  # across sub-indices: never flagged
        ("a2", "b1"): (17 / 35, None),
        ("a1", "A"): (math.sqrt(0.55), None),
        ("a2", "A"): (math.sqrt(0.55), None),
        ("b1", "B"): (1.0, None),
        ("a1", "cei"): (0.8247031115199434, None),
        ("a2", "cei"): (0.5963237883298051, None),
        ("b1", "cei"): (0.9401629812537058, None),
        ("A", "cei"): (0.9580561404352678, None),
        ("B", "cei"): (0.9401629812537058, None),
    }
    for (subject, related), (r, flag) in expected.items():
        assert _value(hand, "correlation", subject, "pearson_r", related) == pytest.approx(r, abs=1e-12)
        assert _flag(hand, "correlation", subject, "pearson_r", related) == flag


def test_hand_reliability(hand):
    # A over all 5 units: s²(a1) = s²(a2) = 6250/4 = 1562.5; a1 + a2 = 0, 125, 100, 150, 125, s²ₜ = 13750/4
    # = 3437.5; α = k/(k−1)·(1 − Σs²ᵢ/s²ₜ) = 2·(1 − 3125/3437.5) = 2/11
    assert _value(hand, "reliability", "A", "cronbach_alpha") == pytest.approx(2 / 11, abs=1e-12)
    assert _flag(hand, "reliability", "A", "cronbach_alpha") is None
    assert _value(hand, "reliability", "A", "n") == 5
    assert math.isnan(_value(hand, "reliability", "B", "cronbach_alpha"))
    assert _flag(hand, "reliability", "B", "cronbach_alpha") == "single_indicator"
    assert _value(hand, "reliability", "B", "n") == 4


def test_hand_effective_weights(hand):
    # Over U1–U4 (U5 lacks B): A = 0, 62.5, 50, 75; B = 0, 25, 50, 100; I = 0, 47.5, 50, 85.
    # cov(A, I) = 52625/48, cov(B, I) = 33625/24, var(I) = 58475/48 (ddof=1), so
    # 0.6·cov(A, I)/var(I) = 1263/2339 and 0.4·cov(B, I)/var(I) = 1076/2339, which sum to 1.
    assert _value(hand, "effective_weight", "A", "nominal_weight") == pytest.approx(0.6)
    assert _value(hand, "effective_weight", "B", "nominal_weight") == pytest.approx(0.4)
    assert _value(hand, "effective_weight", "A", "effective_weight") == pytest.approx(1263 / 2339, abs=1e-12)
    assert _value(hand, "effective_weight", "B", "effective_weight") == pytest.approx(1076 / 2339, abs=1e-12)


def test_hand_sensitivity(hand):
    # z-scores (ddof=1): a1 mean 30, sd √250; a2 mean 3, sd √2.5, sign flipped (lower is better);
    # b1 over U1–U4 mean 17.5, sd √(875/3). Index 0.6·mean(z_a1, z_a2) + 0.4·z_b1, U5 on A alone:
    # U1 −1.1688, U2 0.0141, U3 0.0586, U4 0.9065, U5 0.3162 → the official order.
    # Geometric on 1 + 0.99·score: A = √(a1·a2), index = A^0.6·B^0.4: U1 1, U2 38.685, U3 50.5, U4 84.315,
    # U5 50.744 (A alone) → the official order again.
    rows = hand[hand["section"] == "sensitivity"]
    assert rows["subject"].drop_duplicates().tolist() == ["U4", "U5", "U3", "U2", "U1", "cei"]  # best first
    official = {"U4": 1, "U5": 2, "U3": 3, "U2": 4, "U1": 5}
    for unit, rank in official.items():
        assert _value(hand, "sensitivity", unit, "rank_official") == rank
        assert _value(hand, "sensitivity", unit, "rank_zscore") == rank
        assert _value(hand, "sensitivity", unit, "rank_geometric") == rank
        assert _value(hand, "sensitivity", unit, "max_shift") == 0
    assert _value(hand, "sensitivity", "cei", "max_shift") == 0
    assert rows["flag"].map(lambda v: v is None).all()


def test_hand_flags_are_only_the_expected_ones(hand):
    assert _flags(hand) == {
        ("correlation", "a1", "a2", "pearson_r", "weak"),
        ("reliability", "B", None, "cronbach_alpha", "single_indicator"),
    }


def test_warehouse_types_are_accepted():
    # psycopg returns numeric as Decimal and a nullable integer rank as Int64 / None.
    indicators = HAND_INDICATORS.astype({"value": object, "score": object})
    indicators["value"] = [None if math.isnan(v) else Decimal(str(v)) for v in HAND_INDICATORS["value"]]
    indicators["score"] = [None if math.isnan(v) else Decimal(str(v)) for v in HAND_INDICATORS["score"]]
    components = HAND_COMPONENTS.astype({"rank": "Int64"})
    result = audit_period(indicators, components, HAND_WEIGHTS, min_ranked_units=5)
    pd.testing.assert_frame_equal(result, audit_period(HAND_INDICATORS, HAND_COMPONENTS, HAND_WEIGHTS, 5))


def test_indicator_outside_the_weights_is_rejected():
    stray = HAND_INDICATORS.assign(indicator_code=HAND_INDICATORS["indicator_code"].replace("b1", "b9"))
    with pytest.raises(ValueError, match="b9"):
        audit_period(stray, HAND_COMPONENTS, HAND_WEIGHTS)


# --- flags ----------------------------------------------------------------------------------------


def test_skew_kurtosis_flag_on_a_skewed_indicator_only():
    weights = _weights([("cei", "S", 50), ("cei", "T", 50), ("S", "skewed", 100), ("T", "symmetric", 100)])
    skewed = [0.0, 1, 2, 1, 0, 1, 2, 1, 0, 100]  # nine values near 0 and one outlier
    symmetric = [float(v) for v in range(1, 11)]
    result = audit_period(*_official({"skewed": skewed, "symmetric": symmetric}, weights), weights)
    # G1 = √(n(n−1))/(n−2)·m3/m2^1.5 = 3.159…, G2 = (n−1)/((n−2)(n−3))·((n+1)(m4/m2² − 3) + 6) = 9.98…
    assert _value(result, "indicator", "skewed", "skewness") == pytest.approx(3.1590040392117675)
    assert _value(result, "indicator", "skewed", "kurtosis") == pytest.approx(9.984800362649958)
    assert _flag(result, "indicator", "skewed", "skewness") == "skew_kurtosis"
    assert _flag(result, "indicator", "skewed", "kurtosis") == "skew_kurtosis"
    # 1..10: skewness 0, excess kurtosis −1.2 (a uniform-like spread)
    assert _value(result, "indicator", "symmetric", "skewness") == pytest.approx(0, abs=1e-12)
    assert _value(result, "indicator", "symmetric", "kurtosis") == pytest.approx(-1.2)
    assert _flag(result, "indicator", "symmetric", "skewness") is None
    assert _flag(result, "indicator", "symmetric", "kurtosis") is None


def test_negative_and_weak_correlation_flags_inside_a_sub_index():
    # S = 0.8·p + 0.2·q with q running against p; T = (u + v)/2 with u, v nearly unrelated.
    weights = _weights(
        [("cei", "S", 50), ("cei", "T", 50), ("S", "p", 80), ("S", "q", 20), ("T", "u", 50), ("T", "v", 50)]
    )
    raw = {
        "p": [0.0, 25, 50, 75, 100],
        "q": [100.0, 50, 75, 0, 25],
        "u": [0.0, 25, 50, 75, 100],
        "v": [0.0, 100, 50, 75, 25],
    }
    result = audit_period(*_official(raw, weights), weights, min_ranked_units=5)
    # p vs q: deviations (−50, −25, 0, 25, 50)·(50, 0, 25, −50, −25) = −5000 over 6250 → r = −0.8
    assert _value(result, "correlation", "p", "pearson_r", "q") == pytest.approx(-0.8)
    assert _flag(result, "correlation", "p", "pearson_r", "q") == "negative"
    # S = 20, 30, 55, 60, 85: q against S gives −2750/√(6250·2650) = −0.6757…
    assert _value(result, "correlation", "q", "pearson_r", "S") == pytest.approx(-0.6757246285173464)
    assert _flag(result, "correlation", "q", "pearson_r", "S") == "negative"
    assert _flag(result, "correlation", "p", "pearson_r", "S") is None
    # u vs v: 625/6250 = 0.1, positive but below 0.3
    assert _value(result, "correlation", "u", "pearson_r", "v") == pytest.approx(0.1)
    assert _flag(result, "correlation", "u", "pearson_r", "v") == "weak"
    # the same r = −0.8 across sub-indices (q vs u) and against the index is no finding
    assert _value(result, "correlation", "q", "pearson_r", "u") == pytest.approx(-0.8)
    assert _flag(result, "correlation", "q", "pearson_r", "u") is None
    assert {f[1:3] for f in _flags(result) if f[0] == "correlation"} == {("p", "q"), ("q", "S"), ("u", "v")}


# --- sensitivity ----------------------------------------------------------------------------------

# Two sub-indices of one indicator each, 50/50; both indicators run from 0 to 100, so score = value.
# index = (x + y)/2 = 25, 50, 30, 35, 45, 85 → official ranks 6, 2, 5, 4, 3, 1.
SENSITIVITY_WEIGHTS = _weights([("cei", "X", 50), ("cei", "Y", 50), ("X", "x", 100), ("Y", "y", 100)])
SENSITIVITY_RAW = {"x": [0.0, 100, 10, 20, 30, 70], "y": [50.0, 0, 50, 50, 60, 100]}


def test_alternative_methods_move_ranks():
    result = audit_period(*_official(SENSITIVITY_RAW, SENSITIVITY_WEIGHTS), SENSITIVITY_WEIGHTS)
    # z-scores: x mean 230/6, sd √(7483.3/5) = 38.69; y mean 310/6, sd √(5083.3/5) = 31.89. y's smaller
    # spread weighs more than under min–max: U2 (100, 0) → (1.594 − 1.620)/2 = −0.013 falls behind
    # U5 (30, 60) → (−0.215 + 0.261)/2 = 0.023. Index: −0.522, −0.013, −0.392, −0.263, 0.023, 1.167.
    # Geometric on 1 + 0.99·score: U2 √(100·1) = 10 collapses; U1 √(1·50.5) = 7.11, U3 √(10.9·50.5) = 23.46,
    # U4 √(20.8·50.5) = 32.41, U5 √(30.7·60.4) = 43.06, U6 √(70.3·100) = 83.85.
    expected = {
        #      official, zscore, geometric, max_shift
        "U1": (6, 6, 6, 0),
        "U2": (2, 3, 5, 3),
        "U3": (5, 5, 4, 1),
        "U4": (4, 4, 3, 1),
        "U5": (3, 2, 2, 1),
        "U6": (1, 1, 1, 0),
    }
    for unit, ranks in expected.items():
        got = tuple(
            _value(result, "sensitivity", unit, m)
            for m in ("rank_official", "rank_zscore", "rank_geometric", "max_shift")
        )
        assert got == ranks, unit
    assert _value(result, "sensitivity", "cei", "max_shift") == 3
    assert result.loc[result["section"] == "sensitivity", "flag"].map(lambda v: v is None).all()


def test_too_few_ranked_units():
    # 10 units, only 5 with an official index (the others have too little data): below the default 6.
    rng = np.random.default_rng(7)
    raw = {code: list(rng.uniform(60, 100, 10)) for code in SEED.loc[SEED["parent_code"] != "cei", "component_code"]}
    indicators, components = _official(raw, SEED, no_index=("U6", "U7", "U8", "U9", "U10"))
    result = audit_period(indicators, components, SEED)
    rows = result[result["section"] == "sensitivity"]
    assert len(rows) == 5 * 4 + 1
    assert set(rows["subject"]) == {"U1", "U2", "U3", "U4", "U5", "cei"}
    assert rows["value"].isna().all()
    assert rows["flag"].eq("too_few_units").all()
    # the other sections are computed all the same
    assert not math.isnan(_value(result, "reliability", "cei_efficiency", "cronbach_alpha"))
    assert not math.isnan(_value(result, "correlation", "odr_share", "pearson_r", "cei"))
    # one more unit with an index is enough
    indicators, components = _official(raw, SEED, no_index=("U7", "U8", "U9", "U10"))
    rows = audit_period(indicators, components, SEED).query("section == 'sensitivity'")
    assert rows["value"].notna().all() and rows["flag"].isna().all()


# --- the project's seed on complete data ----------------------------------------------------------


def test_seed_on_complete_data():
    rng = np.random.default_rng(2024)
    indicator_codes = SEED.loc[SEED["parent_code"] != "cei", "component_code"].tolist()
    raw = {code: list(rng.uniform(50, 100, 10)) for code in indicator_codes}
    indicators, components = _official(raw, SEED, lower=frozenset({"inspection_fail_rate"}))
    result = audit_period(indicators, components, SEED)
    sections = result["section"].value_counts().to_dict()
    # 9 × 7; C(9, 2) + 9 + 9 + 4; 4 × 2; 4 × 2; 10 × 4 + 1
    assert sections == {"indicator": 63, "correlation": 58, "reliability": 8, "effective_weight": 8, "sensitivity": 41}
    weights = result[result["section"] == "effective_weight"].pivot(index="subject", columns="measure", values="value")
    assert weights["nominal_weight"].to_dict() == pytest.approx(
        {"cei_efficiency": 0.35, "cei_satisfaction": 0.30, "cei_source": 0.20, "cei_quality": 0.15}
    )
    # With every sub-index present the index is exactly Σ w_j S_j, so the variance shares add up to 1.
    assert weights["effective_weight"].sum() == pytest.approx(1.0)
    for code in ("cei_satisfaction", "cei_quality"):
        assert _flag(result, "reliability", code, "cronbach_alpha") == "single_indicator"
        assert _value(result, "reliability", code, "n") == 10
    assert _value(result, "indicator", "odr_share", "missing_share") == 0
    assert not math.isnan(_value(result, "reliability", "cei_source", "cronbach_alpha"))


# --- helpers --------------------------------------------------------------------------------------


def test_competition_rank_shares_the_best_rank_at_two_decimals():
    scores = pd.Series([90.0, 80.001, 79.999, 70.0, NAN])
    assert competition_rank(scores).tolist()[:4] == [1, 2, 2, 4]
    assert math.isnan(competition_rank(scores).iloc[4])


def test_cronbach_alpha_is_listwise_and_nan_when_undefined():
    items = pd.DataFrame({"i": [0.0, 25, 50, 75, 100, 10], "j": [0.0, 100, 50, 75, 25, NAN]})
    assert cronbach_alpha(items) == pytest.approx(2 / 11)  # the last row is dropped: the hand example's A
    assert math.isnan(cronbach_alpha(items[["i"]]))
    assert math.isnan(cronbach_alpha(items.head(2)))
    assert math.isnan(cronbach_alpha(pd.DataFrame({"i": [1.0, 1, 1], "j": [2.0, 2, 2]})))
