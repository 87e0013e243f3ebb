"""`mart_cei_audit`: the composite-indicator audit of every period, written into the schema the
marts were just built in (the build schema of write–audit–publish), from the marts themselves."""

from __future__ import annotations

import io
import math

import pandas as pd
import psycopg
from psycopg import sql

from cei.index_audit.statistics import audit_period

TABLE = "mart_cei_audit"

COMMENTS = {
    None: "指数审计 — the composite-indicator audit of the consumer-environment index per period (JRC/OECD"
          " practice): indicator distributions, correlations, Cronbach's alpha, effective weights and the"
          " ranking's sensitivity to the method. Written by cei.index_audit after the dbt build.",
    "period": "统计期 — '2026-03', '2026Q1' or '2026'.",
    "period_type": "期间类型 — month, quarter or year.",
    "audit_order": "顺序 — the row's place in the audit as the export shows it.",
    "section": "部分 — indicator, correlation, reliability, effective_weight or sensitivity.",
    "subject": "对象 — the indicator, sub-index, index (cei) or unit the row is about.",
    "related": "关联对象 — the other code of a correlation; null elsewhere.",
    "measure": "统计量 — n, missing_share, min, max, mean, skewness, kurtosis, pearson_r, cronbach_alpha,"
               " nominal_weight, effective_weight, rank_official, rank_zscore, rank_geometric, max_shift.",
    "value": "数值 — the statistic (10 decimals); null where it cannot be computed.",
    "flag": "提示 — skew_kurtosis, negative, weak, single_indicator or too_few_units; null when none.",
}


def _frame(conn: psycopg.Connection, query: sql.Composable) -> pd.DataFrame:
    cur = conn.execute(query)
    return pd.DataFrame(cur.fetchall(), columns=[d.name for d in cur.description])


def write_audit(conn: psycopg.Connection, schema: str) -> int:
    """(Re)create `<schema>.mart_cei_audit` for every period of `<schema>.mart_cei`; returns its rows."""
    s = sql.Identifier(schema)
    indicators = _frame(conn, sql.SQL(
        "select score.period, score.unit_code, score.indicator_code, score.component_code as sub_index_code,"
        " ind.direction, score.value, score.score"
        " from {s}.mart_indicator_score as score join {s}.dim_indicator as ind using (indicator_code)"
    ).format(s=s))
    components = _frame(conn, sql.SQL(
        "select period, period_type, unit_code, component_code, score, rank from {s}.mart_cei"
    ).format(s=s))
    # the weights this build's seed loaded (dbt writes seeds to `reference`, whatever the marts schema)
    weights = _frame(conn, sql.SQL("select parent_code, component_code, weight from reference.cei_weights"))
    min_units = conn.execute(sql.SQL(
        "select threshold from {s}.dim_cei_rule where rule_code = 'min_ranked_units'"
    ).format(s=s)).fetchone()[0]

    out = io.StringIO()
    periods = components[["period", "period_type"]].drop_duplicates().sort_values(["period_type", "period"])
    rows = 0
    for period, period_type in periods.itertuples(index=False):
        audit = audit_period(
            indicators[indicators["period"] == period].drop(columns="period"),
            components[components["period"] == period].drop(columns=["period", "period_type"]),
            weights,
            min_ranked_units=int(min_units),
        )
        for order, rec in enumerate(audit.itertuples(index=False), start=1):
            value = "" if math.isnan(rec.value) else f"{rec.value:.10f}"
            fields = [period, period_type, str(order), *(("" if v is None else v) for v in
                      (rec.section, rec.subject, rec.related, rec.measure)), value, rec.flag or ""]
            out.write("\t".join(fields) + "\n")
            rows += 1

    table = sql.Identifier(schema, TABLE)
    with conn.transaction():
        conn.execute(sql.SQL("drop table if exists {}").format(table))
        conn.execute(sql.SQL(
            "create table {} (period text not null, period_type text not null, audit_order integer not null,"
            " section text not null, subject text not null, related text, measure text not null, value numeric,"
            " flag text, primary key (period, audit_order))"
        ).format(table))
        with conn.cursor().copy(sql.SQL("copy {} from stdin with (format text, null '')").format(table)) as copy:
            copy.write(out.getvalue())
        conn.execute(sql.SQL("update {} set value = trim_scale(value) where value is not null").format(table))
        for column, comment in COMMENTS.items():
            target = sql.SQL("table {}").format(table) if column is None else \
                sql.SQL("column {}.{}").format(table, sql.Identifier(column))
            conn.execute(sql.SQL("comment on {} is {}").format(target, sql.Literal(comment)))
    return rows

