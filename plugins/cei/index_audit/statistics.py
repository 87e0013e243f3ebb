"""Statistical audit of the consumer-environment index (消费环境指数) for one reporting period.

A composite index is only as sound as the way it is built. The JRC/OECD Handbook on Constructing
Composite Indicators: Methodology and User Guide (OECD and the European Commission's Joint Research
Centre, 2008) asks every index to show that its indicators are well behaved, that the indicators of
one sub-index pull the same way, that each sub-index weighs in the index about as much as its
nominal weight says, and that the ranking does not hang on one arbitrary choice of method. The
JRC's statistical audits of published indices run exactly these checks, and COINr, the R package
for building and auditing composite indicators developed at the JRC, implements them; the skewness
and kurtosis thresholds are theirs, the correlation thresholds follow the audits' practice of
questioning negative and weak correlations inside a dimension. This module computes them for ONE
period, pure (pandas in, pandas out, no database), from what the warehouse already publishes: the
indicators' raw values and official scores, the official sub-index and index scores and ranks, and
the weight seed.

The official method it audits (dbt: mart_indicator_score, int_cei_scores): every indicator is
min–max normalised to 0–100 over the units that have a score (a value with enough data behind it,
so a unit may have a raw value but no score; lower-is-better indicators reversed); a sub-index is
the weighted mean of the unit's indicator scores, weights renormalised over the indicators it has a
score for; the index is the weighted mean of the sub-indices, renormalised over those present. A
unit with too little data has no index. Ranks are competition ranks, 1 = highest, scores equal
when rounded to 2 decimals sharing the best rank (1, 2, 2, 4).

Inputs (see `audit_period`): `indicators` (one row per unit × scored indicator: unit_code,
indicator_code, sub_index_code, direction 'higher'|'lower', value = raw, score = official 0–100 or
NaN), `components` (one row per unit × component: unit_code, component_code = 'cei' or a sub-index
code, score, rank; NaN when none) and `weights` (the seed cei_weights: parent_code, component_code,
weight; parent 'cei' = the sub-indices). The seed is the structure: indicators are reported in its
order, an indicator of the seed without rows counts as having no score, and an indicator code in
`indicators` that the seed does not weigh is an error (ValueError).

Result: a tidy frame with the columns COLUMNS = section, subject, related, measure, value, flag.
`value` is a float (NaN when the statistic cannot be computed); `related` is the second code of a
correlation and None elsewhere; `flag` names a finding and is None when there is none.

section `indicator` — subject = indicator code; distribution of the raw value over the units that
have a score (JRC/COINr data screening before aggregation):
    n               units with a score
    missing_share   1 − n / (number of units in `indicators`)
    min, max, mean  of the raw value
    skewness        adjusted Fisher–Pearson skewness (scipy.stats.skew, bias=False); NaN when n < 3
                    or all values are equal
    kurtosis        excess kurtosis, bias-corrected (scipy.stats.kurtosis, fisher=True, bias=False);
                    NaN when n < 4 or all values are equal
    flag `skew_kurtosis` on both the skewness and the kurtosis row when |skewness| > SKEW_LIMIT (2)
    AND kurtosis > KURTOSIS_LIMIT (3.5): the JRC/COINr rule for an indicator whose few outliers
    would dominate a min–max scale (a candidate for winsorising or a log transform).

section `correlation` — measure `pearson_r`, subject and related = the two codes; Pearson's r,
pairwise complete over units, NaN when fewer than MIN_UNITS (3) pairs or either side is constant.
Computed on scores (which already point the same way, lower-is-better reversed), for: every pair
of scored indicators; each indicator with its own sub-index; each indicator with the index `cei`;
each sub-index with `cei` (the sub-index and index scores are the official ones from
`components`). Flags only inside a sub-index (indicator–indicator pairs of the same sub-index, and
indicator–own sub-index), where the handbook expects the members to measure one thing:
    `negative`  r < 0: the indicator works against its partner / its sub-index
    `weak`      0 ≤ r < WEAK_CORRELATION (0.3): it adds little to what the sub-index measures
    Pairs across sub-indices and with `cei` carry no flag: low correlation there is no defect.

section `reliability` — subject = sub-index code:
    cronbach_alpha  Cronbach's alpha of the sub-index's indicator scores, α = k/(k−1)·(1 − Σs²ᵢ/s²ₜ)
                    with k indicators, s²ᵢ the variance of indicator i and s²ₜ that of their sum
                    (ddof=1), listwise over the units that have a score for all k; NaN when fewer
                    than MIN_UNITS such units or s²ₜ = 0. A sub-index of a single indicator: NaN and
                    flag `single_indicator` (alpha needs two or more items). The handbook cites
                    α ≥ 0.7 (Nunnally) as acceptable; no flag is set on the value.
    n               the units of that listwise calculation
    (No package in the project's environment offers Cronbach's alpha — scipy does not, pingouin or
    statsmodels are not dependencies — so `cronbach_alpha` writes out the formula.)

section `effective_weight` — subject = sub-index code:
    nominal_weight    its seed weight ÷ the sum of the sub-index weights
    effective_weight  its share of the variance of the index, w_j · cov(S_j, I) / var(I) with w_j
                      the nominal weight, S_j the sub-index and I the official index, over the units
                      that have every sub-index and the index. Where I = Σ w_j S_j these shares sum
                      to 1 and show which sub-index actually drives the ranking (a high-variance
                      sub-index outweighs its nominal weight). NaN when fewer than MIN_UNITS such
                      units or var(I) = 0.

section `sensitivity` — subject = unit code, only units with an official index, best first; does
the ranking survive another defensible method (the handbook's uncertainty analysis; COINr's
alternative normalisation and aggregation)?
    rank_official   the official index rank (from `components`)
    rank_zscore     rank of the index recomputed with z-score normalisation: per indicator, over the
                    units with an official score, z = (value − mean)/sd (ddof=1, scipy.stats.zscore),
                    sign flipped for 'lower', z = 0 when sd = 0; then the official weights and
                    renormalisation (arithmetic means)
    rank_geometric  rank of the index recomputed with weighted geometric means at both levels
                    (scipy.stats.gmean) on the official scores rescaled to [1, 100] as 1 + 0.99·score,
                    so that a score of 0 does not annihilate the product; geometric aggregation lets
                    a strong indicator compensate a weak one less than the arithmetic mean does
    max_shift       max |alternative rank − official rank| of the unit over the two alternatives
    One more row, subject `cei`, measure `max_shift`: the largest shift of any unit.
    Flag `too_few_units` on every sensitivity row, with every value NaN, when fewer than
    `min_ranked_units` units have an official index: a ranking of a handful of units says nothing
    (the other sections are computed all the same).
    Alternative ranks use the official rank rule (competition_rank) on the recomputed index.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from cei.index_audit import KURTOSIS_LIMIT, SKEW_LIMIT, WEAK_CORRELATION

COLUMNS = ("section", "subject", "related", "measure", "value", "flag")

INDEX_CODE = "cei"

# Fewest units for a correlation, an alpha or an effective weight: with two, r is always ±1.
MIN_UNITS = 3
# Geometric aggregation works on 1 + 0.99·score (range [1, 100]): log(0) would zero the product.
GEOMETRIC_FLOOR = 1.0
GEOMETRIC_SLOPE = 0.99
# The official rank rule: scores equal to 2 decimals share a rank.
RANK_DECIMALS = 2

_INDICATOR_COLUMNS = ("unit_code", "indicator_code", "sub_index_code", "direction", "value", "score")
_COMPONENT_COLUMNS = ("unit_code", "component_code", "score", "rank")
_WEIGHT_COLUMNS = ("parent_code", "component_code", "weight")
_DIRECTIONS = frozenset({"higher", "lower"})
_UNIT_MEASURES = ("rank_official", "rank_zscore", "rank_geometric", "max_shift")

Mean = Callable[[np.ndarray, np.ndarray], float]


class _Row(NamedTuple):
    section: str
    subject: str
    related: str | None
    measure: str
    value: float
    flag: str | None


assert _Row._fields == COLUMNS


def _row(
    section: str, subject: str, measure: str, value: float, *, related: str | None = None, flag: str | None = None
) -> _Row:
    return _Row(section, subject, related, measure, float(value), flag)


@dataclass(frozen=True)
class _Structure:
    """The index tree of the weight seed, in the seed's order."""

    sub_index_weights: pd.Series  # sub-index code → weight under the index
    indicator_weights: pd.Series  # indicator code → weight under its sub-index
    parent: pd.Series  # indicator code → sub-index code

    def members(self, sub_index: str) -> list[str]:
        return self.parent.index[self.parent == sub_index].tolist()


def audit_period(
    indicators: pd.DataFrame,
    components: pd.DataFrame,
    weights: pd.DataFrame,
    min_ranked_units: int = 6,
) -> pd.DataFrame:
    """The audit of one period as a tidy frame (columns COLUMNS; sections in the module docstring)."""
    structure = _structure(weights)
    indicators = _checked_indicators(indicators, structure)
    components = _checked_components(components)
    scores = _unit_matrix(indicators, "indicator_code", "score", structure.parent.index)
    comp_scores = _unit_matrix(
        components, "component_code", "score", pd.Index([*structure.sub_index_weights.index, INDEX_CODE])
    )
    official_rank = _unit_matrix(components, "component_code", "rank", pd.Index([INDEX_CODE]))[INDEX_CODE]
    rows = [
        *_indicator_rows(indicators, structure),
        *_correlation_rows(scores, comp_scores, structure),
        *_reliability_rows(scores, structure),
        *_effective_weight_rows(comp_scores, structure),
        *_sensitivity_rows(indicators, scores, comp_scores[INDEX_CODE], official_rank, structure, min_ranked_units),
    ]
    return _frame(rows)


def competition_rank(scores: pd.Series, decimals: int = RANK_DECIMALS) -> pd.Series:
    """1 = highest; scores equal when rounded to `decimals` share the best rank (1, 2, 2, 4); NaN stays NaN."""
    return scores.round(decimals).rank(method="min", ascending=False)


def cronbach_alpha(items: pd.DataFrame) -> float:
    """Cronbach's alpha of the columns of `items` (one row per unit), listwise over complete rows.

    α = k/(k−1)·(1 − Σ var(item) / var(Σ items)), variances with ddof=1. NaN with fewer than two
    items, fewer than MIN_UNITS complete rows, or a constant total.
    """
    complete = items.dropna()
    k = complete.shape[1]
    if k < 2 or len(complete) < MIN_UNITS:
        return math.nan
    total_variance = complete.sum(axis=1).var(ddof=1)
    if not total_variance > 0:
        return math.nan
    return float(k / (k - 1) * (1 - complete.var(ddof=1).sum() / total_variance))


# --- inputs ---------------------------------------------------------------------------------------


def _require(frame: pd.DataFrame, columns: Sequence[str], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} lacks the column(s) {', '.join(missing)}")


def _floats(values: pd.Series) -> pd.Series:
    # Scores may arrive as Decimal (PostgreSQL numeric) or nullable integers (ranks): plain floats.
    return pd.to_numeric(values).astype("float64")


def _structure(weights: pd.DataFrame) -> _Structure:
    _require(weights, _WEIGHT_COLUMNS, "weights")
    seed = weights.assign(weight=_floats(weights["weight"]))
    if not (seed["weight"] > 0).all():
        raise ValueError("every weight must be positive")
    if seed["component_code"].duplicated().any():
        raise ValueError("a component appears more than once in weights")
    top = seed[seed["parent_code"] == INDEX_CODE]
    below = seed[seed["parent_code"] != INDEX_CODE]
    if top.empty:
        raise ValueError(f"weights has no sub-index under {INDEX_CODE!r}")
    orphans = sorted(set(below["parent_code"]) - set(top["component_code"]))
    if orphans:
        raise ValueError(f"weights has indicators under unknown sub-indices: {', '.join(orphans)}")
    codes = pd.Index(below["component_code"].to_numpy(), name="indicator_code")
    return _Structure(
        sub_index_weights=pd.Series(top["weight"].to_numpy(), index=top["component_code"].to_numpy()),
        indicator_weights=pd.Series(below["weight"].to_numpy(), index=codes),
        parent=pd.Series(below["parent_code"].to_numpy(), index=codes),
    )


def _checked_indicators(indicators: pd.DataFrame, structure: _Structure) -> pd.DataFrame:
    _require(indicators, _INDICATOR_COLUMNS, "indicators")
    frame = indicators.assign(value=_floats(indicators["value"]), score=_floats(indicators["score"]))
    unweighted = sorted(set(frame["indicator_code"]) - set(structure.parent.index))
    if unweighted:
        raise ValueError(f"indicators not in weights: {', '.join(unweighted)}")
    seed_parent = frame["indicator_code"].map(structure.parent)
    if (seed_parent != frame["sub_index_code"]).any():
        raise ValueError("an indicator's sub_index_code differs from its parent in weights")
    if not frame["direction"].isin(_DIRECTIONS).all():
        raise ValueError("direction must be 'higher' or 'lower'")
    if (frame.groupby("indicator_code")["direction"].nunique() > 1).any():
        raise ValueError("an indicator has more than one direction")
    if frame.duplicated(["unit_code", "indicator_code"]).any():
        raise ValueError("indicators has more than one row for a unit and indicator")
    return frame


def _checked_components(components: pd.DataFrame) -> pd.DataFrame:
    _require(components, _COMPONENT_COLUMNS, "components")
    if components.duplicated(["unit_code", "component_code"]).any():
        raise ValueError("components has more than one row for a unit and component")
    return components.assign(score=_floats(components["score"]), rank=_floats(components["rank"]))


def _unit_matrix(frame: pd.DataFrame, code_column: str, value_column: str, codes: pd.Index) -> pd.DataFrame:
    """Units × codes; a code without rows is an all-NaN column."""
    matrix = frame.pivot(index="unit_code", columns=code_column, values=value_column)
    return matrix.reindex(columns=codes).astype("float64")


def _frame(rows: Sequence[_Row]) -> pd.DataFrame:
    # Built column by column: pandas would turn the None of `related`/`flag` into NaN in a str column.
    data = {name: pd.Series([getattr(r, name) for r in rows], dtype=object) for name in COLUMNS}
    data["value"] = data["value"].astype("float64")
    return pd.DataFrame(data, columns=list(COLUMNS))


# --- indicator ------------------------------------------------------------------------------------


def _shape(values: np.ndarray) -> tuple[float, float]:
    """(skewness, excess kurtosis), bias-corrected; NaN where n is too small or the values are constant."""
    n = len(values)
    constant = n == 0 or np.ptp(values) == 0
    # scipy falls back to the biased statistic below these n instead of NaN, so check first.
    skewness = math.nan if constant or n < 3 else float(stats.skew(values, bias=False))
    kurtosis = math.nan if constant or n < 4 else float(stats.kurtosis(values, fisher=True, bias=False))
    return skewness, kurtosis


def _indicator_rows(indicators: pd.DataFrame, structure: _Structure) -> list[_Row]:
    n_units = indicators["unit_code"].nunique()
    rows = []
    for code in structure.parent.index:
        scored = indicators[(indicators["indicator_code"] == code) & indicators["score"].notna()]
        n = len(scored)
        values = scored["value"].dropna().to_numpy(dtype=float)
        skewness, kurtosis = _shape(values)
        # NaN compares False, so an indicator too short for the statistics is never flagged.
        shape_flag = "skew_kurtosis" if abs(skewness) > SKEW_LIMIT and kurtosis > KURTOSIS_LIMIT else None
        empty = len(values) == 0
        rows += [
            _row("indicator", code, "n", n),
            _row("indicator", code, "missing_share", 1 - n / n_units if n_units else math.nan),
            _row("indicator", code, "min", math.nan if empty else values.min()),
            _row("indicator", code, "max", math.nan if empty else values.max()),
            _row("indicator", code, "mean", math.nan if empty else values.mean()),
            _row("indicator", code, "skewness", skewness, flag=shape_flag),
            _row("indicator", code, "kurtosis", kurtosis, flag=shape_flag),
        ]
    return rows


# --- correlation ----------------------------------------------------------------------------------


def _pearson(x: pd.Series, y: pd.Series) -> float:
    """Pearson's r over the units where both are present; NaN when too few pairs or a side is constant."""
    pairs = pd.concat([x, y], axis=1, join="inner").dropna()
    if len(pairs) < MIN_UNITS or (pairs.nunique() < 2).any():
        return math.nan
    return float(stats.pearsonr(pairs.iloc[:, 0], pairs.iloc[:, 1]).statistic)


def _coherence_flag(r: float) -> str | None:
    if r < 0:
        return "negative"
    if r < WEAK_CORRELATION:
        return "weak"
    return None  # also for NaN: no evidence either way


def _correlation_rows(scores: pd.DataFrame, comp_scores: pd.DataFrame, structure: _Structure) -> list[_Row]:
    def row(subject: str, related: str, x: pd.Series, y: pd.Series, inside: bool) -> _Row:
        r = _pearson(x, y)
        return _row(
            "correlation", subject, "pearson_r", r, related=related, flag=_coherence_flag(r) if inside else None
        )

    parent = structure.parent
    index = comp_scores[INDEX_CODE]
    rows = [row(a, b, scores[a], scores[b], parent[a] == parent[b]) for a, b in itertools.combinations(parent.index, 2)]
    for code, sub_index in parent.items():
        rows.append(row(code, sub_index, scores[code], comp_scores[sub_index], True))
        rows.append(row(code, INDEX_CODE, scores[code], index, False))
    rows += [
        row(sub_index, INDEX_CODE, comp_scores[sub_index], index, False)
        for sub_index in structure.sub_index_weights.index
    ]
    return rows


# --- reliability ----------------------------------------------------------------------------------


def _reliability_rows(scores: pd.DataFrame, structure: _Structure) -> list[_Row]:
    rows = []
    for sub_index in structure.sub_index_weights.index:
        members = structure.members(sub_index)
        n = len(scores[members].dropna()) if members else 0
        if len(members) == 1:
            rows.append(_row("reliability", sub_index, "cronbach_alpha", math.nan, flag="single_indicator"))
        else:
            rows.append(_row("reliability", sub_index, "cronbach_alpha", cronbach_alpha(scores[members])))
        rows.append(_row("reliability", sub_index, "n", n))
    return rows


# --- effective weight -----------------------------------------------------------------------------


def _effective_weight_rows(comp_scores: pd.DataFrame, structure: _Structure) -> list[_Row]:
    nominal = structure.sub_index_weights / structure.sub_index_weights.sum()
    # Only units with every sub-index: there the index is exactly Σ w_j S_j (no renormalisation).
    complete = comp_scores[[*nominal.index, INDEX_CODE]].dropna()
    index = complete[INDEX_CODE]
    variance = index.var(ddof=1) if len(complete) >= MIN_UNITS else math.nan
    rows = []
    for sub_index, weight in nominal.items():
        effective = weight * complete[sub_index].cov(index) / variance if variance > 0 else math.nan
        rows.append(_row("effective_weight", sub_index, "nominal_weight", weight))
        rows.append(_row("effective_weight", sub_index, "effective_weight", effective))
    return rows


# --- sensitivity ----------------------------------------------------------------------------------


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    return float(np.average(values, weights=weights))


def _weighted_gmean(values: np.ndarray, weights: np.ndarray) -> float:
    return float(stats.gmean(values, weights=weights))


def _combine(frame: pd.DataFrame, weights: pd.Series, mean: Mean) -> pd.Series:
    """Per unit, `mean` of its present columns with their weights (renormalised: the means divide by Σw)."""
    if frame.empty:  # no units or no columns: apply() would not return a Series
        return pd.Series(math.nan, index=frame.index, dtype="float64")

    def one(row: pd.Series) -> float:
        present = row.notna().to_numpy()
        if not present.any():
            return math.nan
        return mean(row.to_numpy(dtype=float)[present], weights.reindex(row.index).to_numpy(dtype=float)[present])

    return frame.apply(one, axis=1).astype("float64")


def _aggregate(scores: pd.DataFrame, structure: _Structure, mean: Mean) -> pd.Series:
    """The index per unit from indicator scores, both levels aggregated with `mean` as the official method does."""
    sub_indices = pd.DataFrame(
        {
            sub_index: _combine(scores[structure.members(sub_index)], structure.indicator_weights, mean)
            for sub_index in structure.sub_index_weights.index
        },
        index=scores.index,
    )
    return _combine(sub_indices, structure.sub_index_weights, mean)


def _zscores(indicators: pd.DataFrame, structure: _Structure, units: pd.Index) -> pd.DataFrame:
    """Units × indicators: z-scores of the raw value over the units with an official score, better = higher."""
    scored = indicators[indicators["score"].notna() & indicators["value"].notna()]
    columns = {}
    for code, group in scored.groupby("indicator_code"):
        values = group["value"].to_numpy(dtype=float)
        # A constant (or single) value does not discriminate: everyone sits at the mean.
        z = stats.zscore(values, ddof=1) if len(values) > 1 and np.ptp(values) > 0 else np.zeros(len(values))
        sign = -1.0 if group["direction"].iloc[0] == "lower" else 1.0
        columns[code] = pd.Series(sign * z, index=group["unit_code"].to_numpy())
    return pd.DataFrame(columns, index=units).reindex(columns=structure.parent.index).astype("float64")


def _sensitivity_rows(
    indicators: pd.DataFrame,
    scores: pd.DataFrame,
    official: pd.Series,
    official_rank: pd.Series,
    structure: _Structure,
    min_ranked_units: int,
) -> list[_Row]:
    official = official.dropna()
    rank_of = official_rank.reindex(official.index).fillna(math.inf)  # best first; NaN would not sort
    units = sorted(official.index, key=lambda unit: (rank_of[unit], unit))
    if len(units) < min_ranked_units:
        return [
            *(
                _row("sensitivity", unit, measure, math.nan, flag="too_few_units")
                for unit in units
                for measure in _UNIT_MEASURES
            ),
            _row("sensitivity", INDEX_CODE, "max_shift", math.nan, flag="too_few_units"),
        ]
    zscore_index = _aggregate(_zscores(indicators, structure, scores.index), structure, _weighted_mean)
    geometric_index = _aggregate(GEOMETRIC_FLOOR + GEOMETRIC_SLOPE * scores, structure, _weighted_gmean)
    # Only the officially ranked units compete: the alternatives are ranked among them alone.
    ranks = pd.DataFrame(
        {
            "rank_official": official_rank.reindex(units),
            "rank_zscore": competition_rank(zscore_index.reindex(units)),
            "rank_geometric": competition_rank(geometric_index.reindex(units)),
        }
    )
    shifts = ranks[["rank_zscore", "rank_geometric"]].sub(ranks["rank_official"], axis=0).abs()
    ranks["max_shift"] = shifts.max(axis=1, skipna=False)
    rows = [_row("sensitivity", unit, measure, ranks.at[unit, measure]) for unit in units for measure in _UNIT_MEASURES]
    rows.append(_row("sensitivity", INDEX_CODE, "max_shift", ranks["max_shift"].max()))
    return rows
