"""The files made from the feed declarations (cei.feeds.generated) are what the declarations make."""

import dataclasses
import json

import yaml

from cei import cli
from cei.feeds import FEEDS, generated
from cei.feeds.model import Kind


def test_every_generated_file_is_up_to_date():
    stale = generated.stale_files()
    assert stale == [], f"run `cei feeds generate`: {stale}"


def test_check_fails_with_a_one_line_error_when_a_file_is_stale(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "_raw_sources.yml"
    stale.write_text("sources: []\n", encoding="utf-8")
    monkeypatch.setattr(generated, "SOURCES_YML", stale)
    assert cli.main(["feeds", "generate", "--check"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("cei: error: not what the feed declarations make: ")


def test_a_new_accepted_value_reaches_the_suite_and_dbt_docs(tmp_path):
    # One edit of a declaration changes both the raw suite's value set and dbt's column description.
    hotline = FEEDS["hotline"]
    callback = hotline.column("callback")
    widened = dataclasses.replace(callback, choices=(*callback.choices, "未回访"))
    feed = dataclasses.replace(hotline, columns=tuple(widened if c is callback else c for c in hotline.columns))
    suite = tmp_path / "raw_hotline.json"
    suite.write_text(json.dumps({"name": "raw_hotline", "expectations": []}), encoding="utf-8")

    files = generated.generated_files({"hotline": feed}, tmp_path)

    sets = [e["kwargs"]["value_set"] for e in json.loads(files[suite])["expectations"]
            if e["kwargs"].get("column") == "callback" and "value_set" in e["kwargs"]]
    assert sets == [[*callback.choices, "未回访"]]
    (raw,) = yaml.safe_load(files[generated.SOURCES_YML])["sources"]
    described = {c["name"]: c["description"] for c in raw["tables"][0]["columns"]}
    assert described["callback"].endswith("无法联系, 未回访 or null.")


def test_the_suites_own_expectations_are_kept_and_the_contract_is_marked(tmp_path):
    own = {"type": "expect_table_row_count_to_be_between", "kwargs": {"min_value": 1}, "severity": "warning",
           "description": "d", "notes": "n"}
    stale = {**own, "meta": {"source": generated.GENERATED}}  # a contract check the declaration no longer has
    suite = tmp_path / "raw_odr.json"
    suite.write_text(json.dumps({"name": "raw_odr", "expectations": [stale, own]}), encoding="utf-8")

    written = json.loads(generated.raw_suite(suite, FEEDS["odr"]))["expectations"]

    assert written[-1] == own and written.count(own) == 1
    contract = [e for e in written if e.get("meta", {}).get("source") == generated.GENERATED]
    assert len(contract) == len(written) - 1 and stale not in written
    required = [c.name for c in FEEDS["odr"].stored_columns if c.required]
    assert [e["kwargs"]["column"] for e in contract if e["type"] == "expect_column_values_to_not_be_null"] == required
    shapes = {e["kwargs"]["column"]: e["kwargs"]["regex"] for e in contract
              if e["type"] == "expect_column_values_to_match_regex" and e["kwargs"]["regex"].startswith("^")}
    assert shapes == {c.name: generated.STORED_PATTERNS[c.kind] for c in FEEDS["odr"].stored_columns
                      if c.kind in (Kind.REGION, Kind.USCC)}
