"""The data steward's way back from a failed night, through Airflow (`cei run`) as the bureau
runs it: a delivery whose work orders all carry an unknown region code fails the feeds gate;
`cei files withdraw` takes it (and, here, a good file of an earlier night) out; the next night
runs green, the withdrawn rows are in no mart, and the ledger, `cei status` and the export
manifest say so. A replacement loads normally, even where it repeats a withdrawn file's rows.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from cei import cli, synthetic, warehouse
from cei.feeds import FEEDS

pytestmark = pytest.mark.slow

HOTLINE = FEEDS["hotline"]
REGION, WORK_ORDER = (HOTLINE.column(name).source for name in ("region_code", "work_order_id"))  # header texts


def _decode(data: bytes) -> tuple[str, str]:
    for encoding in ("utf-8-sig", "gb18030"):  # the generator writes both
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("neither UTF-8 nor GB 18030")


def _rewrite_csv(src: Path, dest: Path, change) -> int:
    """A work-order CSV rewritten row by row (`change(row) -> row | None`), in its own encoding;
    the rows kept."""
    text, encoding = _decode(src.read_bytes())
    rows = list(csv.reader(io.StringIO(text)))
    header, kept = rows[0], [r for r in (change(dict(zip(rows[0], r))) for r in rows[1:]) if r is not None]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([r[h] for h in header] for r in kept)
    dest.write_bytes(out.getvalue().encode(encoding))
    return len(kept)


def _files(capsys, *args: str) -> str:
    assert cli.main(["files", *args]) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def test_a_gate_failed_night_withdrawn_then_green(warehouse_url, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CEI_USER", "steward-zhang")
    monkeypatch.setenv("CEI_EXPORT_DIR", str(tmp_path / "exports"))
    landing = tmp_path / "landing"
    synthetic.generate(landing, scale=400, days=4, defect_rate=0.0)
    dates = sorted(p.name for p in (landing / "hotline").iterdir())
    last = dates[-1]
    held = tmp_path / "held"
    for feed_dir in landing.iterdir():
        if (feed_dir / last).is_dir():
            shutil.move(feed_dir / last, held / feed_dir.name)
    assert cli.main(["run", "--landing", str(landing), "--all"]) == 0, capsys.readouterr().err
    capsys.readouterr()

    # The bad delivery: the last night as generated, but every work order of one file in an
    # unknown region.
    for feed_dir in held.iterdir():
        shutil.copytree(feed_dir, landing / feed_dir.name / last)
    night = landing / "hotline" / last
    good = sorted(night.glob("12315*.csv"))[0]
    original = tmp_path / good.name
    shutil.move(good, original)
    bad = night / good.name
    _rewrite_csv(original, bad, lambda r: {**r, REGION: "990000"})
    assert cli.main(["run", "--landing", str(landing), "--date", last]) == 1
    assert "gate_feeds" in capsys.readouterr().err
    listed = _files(capsys, "list", "--state", "gate-failed")
    failed = [line.split() for line in listed.splitlines() if good.name in line]
    assert len(failed) == 1 and failed[0][4] == "gate-failed", listed
    bad_id = int(failed[0][0])
    # re-running the night fails the same way: the batch is re-gated until the steward acts
    assert cli.main(["run", "--landing", str(landing), "--date", last]) == 1
    capsys.readouterr()

    # The quarantined rows go back upstream: reason codes, no personal data.
    out = tmp_path / "quarantine.csv"
    assert cli.main(["quarantine", "export", "--date", last, "--out", str(out)]) == 0
    assert "quarantined row(s)" in capsys.readouterr().out
    text = out.read_bytes().decode("utf-8-sig")
    records = list(csv.DictReader(io.StringIO(text)))
    bad_rows = [r for r in records if r["file_id"] == str(bad_id)]
    assert bad_rows and {r["reason_code"] for r in bad_rows} == {"unknown_region"}
    delivered = list(csv.DictReader(io.StringIO(_decode(bad.read_bytes())[0])))
    personal = {r[c] for r in delivered for c in ("消费者姓名", "消费者电话") if r[c]}
    assert personal and not {v for v in personal if v in text}, "personal data reached the quarantine export"
    assert all("消费者" not in k for r in records for k in json.loads(r["original"]))

    # A good file of the first night withdrawn too: its rows must leave the marts.
    with warehouse.connect() as conn:
        victim_id, victim_name, victim_loaded = conn.execute(
            "select file_id, file_name, rows_loaded from meta.load_files where feed = 'hotline'"
            " and delivery_date = %s and status = 'loaded' and rows_loaded > 0 order by file_id limit 1",
            (dates[0],),
        ).fetchone()
        in_marts = conn.execute(
            "select count(*) from marts.fct_work_orders where load_file_id = %s", (victim_id,)).fetchone()[0]
    assert in_marts > 0

    assert cli.main(["files", "withdraw", str(bad_id), "--reason", "全部区划代码无效，已退回上游"]) == 0
    assert cli.main(["files", "withdraw", str(victim_id), "--reason", "上游声明该批次重复推送"]) == 0
    capsys.readouterr()
    # one-line errors: an unknown id, a second withdrawal, a file that was never loaded
    for args, message in (([str(10**9)], "no file 1000000000 in the ledger"),
                          ([str(bad_id)], "already withdrawn")):
        assert cli.main(["files", "withdraw", *args, "--reason", "again"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
    assert cli.main(["files", "withdraw", str(victim_id), "--reason", "  "]) == 1
    assert "needs a reason" in capsys.readouterr().err

    # The replacements: the corrected file under a new name, and the victim's rows but its last
    # ten delivered again under a new name on the same night (rows a withdrawn file holds load
    # again: raw's duplicate check covers the rows in force only).
    shutil.copy(original, night / f"更正_{good.name}")
    victim_src = landing / "hotline" / dates[0] / victim_name
    rows = list(csv.reader(io.StringIO(_decode(victim_src.read_bytes())[0])))
    dropped = {r[0] for r in rows[-10:]}
    kept = _rewrite_csv(victim_src, night / f"重发_{victim_name}", lambda r: None if r[WORK_ORDER] in dropped else r)

    assert cli.main(["run", "--landing", str(landing), "--date", last]) == 0, capsys.readouterr().err
    capsys.readouterr()

    with warehouse.connect() as conn:
        ledger = {
            name: (status, read, loaded, duplicates, by, reason)
            for name, status, read, loaded, duplicates, by, reason in conn.execute(
                "select file_name, status, rows_read, rows_loaded, rows_duplicate, withdrawn_by, withdrawn_reason"
                " from meta.load_files where feed = 'hotline'"
            )
        }
        assert ledger[f"更正_{good.name}"][:4] == ("loaded", ledger[f"更正_{good.name}"][1],
                                                  ledger[f"更正_{good.name}"][1], 0)
        assert ledger[f"重发_{victim_name}"][1:4] == (kept, kept, 0)
        assert ledger[good.name][0] == ledger[victim_name][0] == "withdrawn"
        assert ledger[victim_name][4:] == ("steward-zhang", "上游声明该批次重复推送")
        # nothing deleted: the rows stay in raw, marked
        assert conn.execute("select count(*), bool_and(withdrawn) from raw.hotline_work_orders"
                            " where load_file_id = %s", (victim_id,)).fetchone() == (victim_loaded, True)
        # in no mart: no fact row comes from a withdrawn file, and the ten keys only it held are gone
        assert conn.execute(
            "select count(*) from marts.fct_work_orders where load_file_id = any(%s)", ([bad_id, victim_id],)
        ).fetchone()[0] == 0
        only_victim = [k for (k,) in conn.execute(
            "select work_order_id from raw.hotline_work_orders where work_order_id = any(%s)"
            " group by work_order_id having bool_and(withdrawn)", (list(dropped),))]
        assert only_victim
        assert conn.execute("select count(*) from marts.fct_work_orders where work_order_id = any(%s)",
                            (only_victim,)).fetchone()[0] == 0
        assert conn.execute("select count(*) from marts.fct_work_orders where region_code = '990000'"
                            ).fetchone()[0] == 0
        month = conn.execute("select business_months[1] from meta.load_files where file_id = %s",
                             (victim_id,)).fetchone()[0]

    # the export of the victim's month, refreshed by the green night, names the withdrawal
    manifest = json.loads((tmp_path / "exports" / f"assessment_{month:%Y-%m}.json").read_text(encoding="utf-8"))
    withdrawn = {f["file_id"]: f for f in manifest["withdrawn_files"]}
    assert withdrawn[victim_id]["withdrawn_by"] == "steward-zhang"
    assert withdrawn[victim_id]["reason"] == "上游声明该批次重复推送"
    assert victim_id not in {f["file_id"] for f in manifest["load_batches"]}

    assert cli.main(["status"]) == 0
    shown = capsys.readouterr().out
    assert "Withdrawn files: 2" in shown and "全部区划代码无效" in shown
    assert "Gate-failed files: 0" in shown
