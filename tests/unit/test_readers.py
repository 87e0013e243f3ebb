"""Readers: encodings, CSV quoting, headers, file defects, JSON Lines and Excel layouts."""

from datetime import date, datetime

import pytest
from builders import fields, header, row, xlsx_bytes

from cei.feeds import FEEDS
from cei.ingest.readers import FileDefect, detect_encoding, open_records

HOTLINE = FEEDS["hotline"]
# The required columns and the respondent, in declaration order (工单编号,诉求类型,登记时间,更新时间,
# 行政区划代码,被诉主体); the lines below fill them by position.
HEADER = ",".join(c.source for c in HOTLINE.columns if c.required or c.name == "respondent_name")


def read(path, feed=HOTLINE):
    with open_records(feed, path, 1 << 20) as opened:
        return opened.encoding, list(opened.records)


@pytest.mark.parametrize(
    ("encoding", "bom", "newline", "expected"),
    [
        ("gb18030", b"", "\r\n", "gb18030"),
        ("utf-8", b"", "\n", "utf-8"),
        ("utf-8", b"\xef\xbb\xbf", "\r\n", "utf-8-sig"),
    ],
)
def test_encodings_and_line_endings(tmp_path, encoding, bom, newline, expected):
    text = newline.join(
        [HEADER, 'A1,投诉,2026-03-01 09:00,2026-03-01 09:00,350102,"福州某某商贸有限公司, 台江店"', ""]
    )
    path = tmp_path / "a.csv"
    path.write_bytes(bom + text.encode(encoding))
    found, records = read(path)
    assert found == expected
    assert [r.values["被诉主体"] for r in records] == ["福州某某商贸有限公司, 台江店"]
    assert records[0].row_number == 2


def test_quoted_newlines_keep_the_start_line(tmp_path):
    text = f'{HEADER}\nA1,投诉,t,t,350102,"第一行\n第二行"\nA2,投诉,t,t,350102,x\n'
    path = tmp_path / "a.csv"
    path.write_text(text, encoding="gb18030")
    _, records = read(path)
    assert [(r.row_number, r.values["工单编号"]) for r in records] == [(2, "A1"), (4, "A2")]
    assert records[0].values["被诉主体"] == "第一行\n第二行"


def test_wrong_field_count_is_a_row_defect(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(f"{HEADER}\nA1,投诉,t,t,350102,x,extra\n", encoding="utf-8")
    _, records = read(path)
    assert records[0].defect == "bad_row_shape"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty file"),
        ("工单编号,诉求类型,更新时间,行政区划代码\nA1,投诉,t,350102\n".encode(), "missing columns: 登记时间"),
        (b"\x81\x30\xff\xfe\x00\xff" * 50, "undecodable"),
        (f"{HEADER},工单编号\n".encode(), "duplicate columns: 工单编号"),
    ],
)
def test_file_defects(tmp_path, content, reason):
    path = tmp_path / "a.csv"
    path.write_bytes(content)
    with pytest.raises(FileDefect, match=reason):
        read(path)


def test_undecodable_bytes_late_in_the_file_reject_it(tmp_path):
    good = (HEADER + "\n" + "A1,投诉,t,t,350102,某公司\n" * 20000).encode("utf-8")
    path = tmp_path / "a.csv"
    path.write_bytes(good + b"A2,\xff\xfe\xfd,t,t,350102,x\n")
    with pytest.raises(FileDefect, match="undecodable"):
        read(path)


def test_detect_encoding_prefers_utf8_when_valid():
    assert detect_encoding("投诉举报".encode()) == "utf-8"
    assert detect_encoding("投诉举报，消费者权益保护".encode("gb18030")) == "gb18030"


def test_jsonl_blank_lines_bad_json_and_not_objects(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes(b'{"dispute_id": "D1"}\n\n   \n{not json\n[1, 2]\n' + b"[" * 100000 + b"\n")
    _, records = read(path, FEEDS["odr"])
    assert [(r.row_number, r.defect) for r in records] == [
        (1, None),
        (4, "bad_json"),
        (5, "bad_json"),
        (6, "bad_json"),
    ]


def test_jsonl_non_utf8_rejects_the_file(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_bytes('{"dispute_id": "争议"}\n'.encode("gb18030"))
    with pytest.raises(FileDefect, match="not UTF-8"):
        read(path, FEEDS["odr"])


def test_xlsx_title_rows_header_detection_and_total_row(tmp_path):
    path = tmp_path / "r.xlsx"
    first = row("returns", enterprise_name="甲公司", enterprise_uscc="91350100MA2YQ1234X", region_code=350102,
                report_month="2026年3月", committed_on="", return_items=12, refund_amount=345.5)
    second = row("returns", enterprise_name="乙公司", enterprise_uscc="91350100MA2YQ1235X", region_code="350203",
                 report_month=datetime(2026, 3, 10), committed_on="", return_items="3", refund_amount="1,000")
    sheet = [[], [], header("returns"), fields("returns", first), fields("returns", second), [],
             ["合计", "", "", "", "", 15, 1345.5]]
    path.write_bytes(xlsx_bytes(sheet, title="2026年3月线下无理由退货情况统计表"))
    _, records = read(path, FEEDS["returns"])
    assert [r.row_number for r in records] == [5, 6]
    assert records[0].values["企业名称"] == "甲公司"
    assert records[1].values["报送月份"] == date(2026, 3, 10)  # an Excel date cell


def test_not_a_workbook(tmp_path):
    path = tmp_path / "r.xlsx"
    path.write_text("hello")
    with pytest.raises(FileDefect, match="not an XLSX"):
        read(path, FEEDS["returns"])


def test_utf8_sample_cut_inside_a_character_is_still_utf8(tmp_path):
    line = "A1,投诉,t,t,350102,某某商贸有限公司\n"
    path = tmp_path / "a.csv"
    path.write_bytes((HEADER + "\n" + line * 400).encode("utf-8"))
    for sample in (1000, 1001, 1002, 1003):  # some of these cut a 3-byte character
        with open_records(HOTLINE, path, sample) as opened:
            assert opened.encoding == "utf-8" and len(list(opened.records)) == 400


def test_empty_jsonl_is_rejected(tmp_path):
    path = tmp_path / "a.jsonl"
    path.touch()
    with pytest.raises(FileDefect, match="empty file"):
        read(path, FEEDS["odr"])


def test_row_of_empty_fields_is_a_record(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text(f"{HEADER}\n,,,,,\n\nA1,投诉,t,t,350102,x\n", encoding="utf-8")
    _, records = read(path)
    assert [r.row_number for r in records] == [2, 4]
