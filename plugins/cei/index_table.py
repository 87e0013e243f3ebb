"""The latest quarter's consumer-environment index table (the demo's closing table)."""

from __future__ import annotations

import psycopg

from cei.status import table

# One row per unit for the latest quarter with an index: index, rank, median rank and band (5th–95th
# percentile over the Monte Carlo weight draws), the four sub-indices and why a cell is empty
# (note), best first.
LATEST_QUARTER_INDEX_SQL = """
with latest as (
    select max(period) as period
    from marts.mart_cei
    where period_type = 'quarter' and component_code = 'cei' and score is not null
)
select
    cei.unit_code,
    cei.unit_name,
    to_char(round(cei.score, 2), 'FM990.00') as index_score,
    cei.rank,
    case when cei.rank_p05 is not null then cei.rank_p50 || ' (' || cei.rank_p05 || '–' || cei.rank_p95 || ')' end
        as rank_band,
    max(to_char(round(sub.score, 2), 'FM990.00')) filter (where sub.component_code = 'cei_efficiency'),
    max(to_char(round(sub.score, 2), 'FM990.00')) filter (where sub.component_code = 'cei_satisfaction'),
    max(to_char(round(sub.score, 2), 'FM990.00')) filter (where sub.component_code = 'cei_source'),
    max(to_char(round(sub.score, 2), 'FM990.00')) filter (where sub.component_code = 'cei_quality'),
    cei.note,
    latest.period
from latest
join marts.mart_cei as cei
    on cei.period = latest.period and cei.component_code = 'cei'
join marts.dim_unit as unit
    on unit.unit_code = cei.unit_code
left join marts.mart_cei as sub
    on sub.period = cei.period and sub.unit_code = cei.unit_code and sub.component_code <> 'cei'
group by cei.unit_code, cei.unit_name, cei.score, cei.rank, cei.rank_p05, cei.rank_p50, cei.rank_p95, cei.note,
    unit.sort_order, latest.period
order by cei.rank nulls last, unit.sort_order
"""


def latest_quarter_index(conn: psycopg.Connection) -> tuple[str, str, str] | None:
    """(quarter, title, text table) of the latest quarter's index per unit; None before there is one."""
    rows = conn.execute(LATEST_QUARTER_INDEX_SQL).fetchall()
    if not rows:
        return None
    period = rows[0][-1]
    title = (f"消费环境指数 (consumer-environment index), {period} — band: median (5th–95th percentile) rank"
             " over 1,000 weight draws")
    headers = ["unit", "name", "index", "rank", "band", "维权效能", "消费者满意", "源头治理", "商品质量", "note"]
    return period, title, table(headers, [r[:-1] for r in rows])
