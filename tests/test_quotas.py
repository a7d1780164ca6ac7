"""The planners' ledgers on the hand-built March 2026: the townships' construction-land quotas and the offset projects
loaded from CSV (UTF-8, GBK) and XLSX by the `landwindow quota` commands, debited by the approved conversions, the
conversions approved without quota or offset flagged — on the planner page, in the API and on the command line."""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import select
from typer.testing import CliRunner

from service.cli.app import app as cli
from service.core.errors import InvalidInput
from service.core.models import LandQuota, OffsetProject
from service.reports import quotas
from tests import test_statistics
from tests.test_conversions import build
from tests.test_web_planner import KEY, login
from web.app import create_app

window = (
    test_statistics.window
)  # build(): A 5 000 m² of 旱地 approved 12 March (向阳镇), B 100 m² approved 6 March (桂花镇)

COUNTY = "421202"  # the sample county's profile (xianan.toml)
PLAN = "年度,乡镇,计划指标（公顷）\n2026,向阳镇,0.4\n2026,桂花镇,1\n2025,向阳镇,3\n"


def offsets_xlsx() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["2026年补充耕地项目入库清单"])  # a caption above the header
    sheet.append(["项目编号", "项目名称", "乡镇", "新增耕地面积（亩）", "质量等别", "验收日期"])
    sheet.append(["BC-2026-001", "向阳镇土地整治项目", "向阳镇", 4.5, 7, "2026-03-01"])  # 3 000 m²
    sheet.append(["BC-2026-002", "桂花镇高标准农田建设", "桂花镇", 15, 6, "2026-03-20"])  # 10 000 m², after A
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def loaded(w) -> dict[str, object]:
    c = build(w)
    quotas.load_plan(w.s, PLAN.encode("gb18030"), "plan.csv", COUNTY)
    quotas.load_offsets(w.s, offsets_xlsx(), "offsets.xlsx", COUNTY)
    w.s.commit()
    return c


def test_approved_conversions_debit_the_quota_and_the_offsets_in_the_order_of_approval(window):
    c = loaded(window)
    a, h = c["A"].case_no, c["B"].case_no
    book = quotas.ledger(window.s, 2026)
    lines = {q.township: q.to_dict() for q in book.quotas}
    assert lines["向阳镇"]["quota_m2"] == pytest.approx(4000.0) and lines["向阳镇"]["used_m2"] == pytest.approx(5000.0)
    assert lines["向阳镇"]["remaining_m2"] == pytest.approx(-1000.0, abs=0.01)
    assert lines["桂花镇"]["used_m2"] == pytest.approx(100.0, abs=0.01)
    assert lines["桂花镇"]["remaining_ha"] == pytest.approx(0.99, abs=1e-4)
    projects = {o.project.project_no: o.to_dict() for o in book.offsets}
    # B (6 March) takes 100 m² of the project accepted on 1 March; A (12 March) the other 2 900 m² and no more: the
    # second project was accepted after A's approval (offset first, then occupy)
    assert projects["BC-2026-001"]["area_m2"] == pytest.approx(3000.0) and projects["BC-2026-001"]["cases"] == [h, a]
    assert projects["BC-2026-001"]["remaining_m2"] == pytest.approx(0.0, abs=0.01)
    assert projects["BC-2026-002"]["used_m2"] == 0.0 and projects["BC-2026-002"]["grade"] == 6
    debit = {d.conversion.case_no: d for d in book.debits}
    assert debit[a].quota_short_m2 == pytest.approx(1000.0, abs=0.01)
    assert debit[a].offsets == [("BC-2026-001", pytest.approx(2900.0, abs=0.01))]
    assert debit[a].offset_short_m2 == pytest.approx(2100.0, abs=0.01)
    assert [(f["kind"], f["short_m2"]) for f in debit[a].flags] == [("quota", 1000.0), ("offset", 2100.0)]
    assert "向阳镇 2026 年新增建设用地计划指标不足，缺 1000.00 平方米" in debit[a].flags[0]["message"]
    assert debit[h].flags == []
    assert [d.conversion.case_no for d in book.flagged] == [a]
    totals = book.totals()
    assert totals["quota_m2"] == pytest.approx(14000.0) and totals["used_m2"] == pytest.approx(5100.0, abs=0.01)
    assert totals["offset_remaining_m2"] == pytest.approx(10000.0, abs=0.01)
    # the pending conversion C debits nothing; another year knows none of it
    assert c["C"].case_no not in debit
    other = quotas.ledger(window.s, 2025)
    assert [q.township for q in other.quotas] == ["向阳镇"] and other.debits == []


def test_a_township_without_quota_is_flagged_and_a_reload_replaces_the_year(window):
    c = build(window)
    quotas.load_plan(window.s, "year,township,quota_mu\n2026,向阳镇,15\n".encode(), "plan.csv", COUNTY)  # 10 000 m²
    window.s.commit()
    book = quotas.ledger(window.s, 2026)
    h = c["B"].case_no
    flagged = {d.conversion.case_no: d.flags for d in book.flagged}
    assert [f["kind"] for f in flagged[h]] == ["quota", "offset"]  # 桂花镇 has no 2026 quota; no project at all
    assert "桂花镇 2026 年新增建设用地计划指标未下达" in flagged[h][0]["message"]
    assert {q.township: q.quota_m2 for q in book.quotas} == {"向阳镇": pytest.approx(10000.0), "桂花镇": None}
    quotas.load_plan(window.s, PLAN.encode(), "plan2.csv", COUNTY)
    window.s.commit()
    assert {q.township: q.quota_m2 for q in quotas.ledger(window.s, 2026).quotas} == {
        "向阳镇": pytest.approx(4000.0),
        "桂花镇": pytest.approx(10000.0),
    }


def test_bad_tables_are_refused_naming_line_and_column_and_nothing_is_written(window):
    bad = "年度,乡镇,指标(公顷)\n二〇二六,向阳镇,1\n2026,,1\n2026,桂花镇,-2\n2026,横沟桥镇,一公顷\n2026,汀泗桥镇,1\n2026,汀泗桥镇,2\n"
    with pytest.raises(InvalidInput) as exc:
        quotas.load_plan(window.s, bad.encode(), "plan.csv", COUNTY)
    issues = exc.value.details["issues"]
    assert issues == [
        "plan.csv 第 2 行 year：“二〇二六”不是年份 / line 2, year: '二〇二六' is not a year",
        "plan.csv 第 3 行 township：缺少乡镇 / line 3, township: the township is missing",
        "plan.csv 第 4 行 quota_ha：面积 -2 不能为负 / line 4, quota_ha: the area -2 is negative",
        "plan.csv 第 5 行 quota_ha：“一公顷”不是数字 / line 5, quota_ha: '一公顷' is not a number",
        "plan.csv 第 7 行 township：2026 年 汀泗桥镇 与第 6 行重复 / line 7, township: 2026 汀泗桥镇 repeats line 6",
    ]
    for data, message in (
        (b"", "the file is empty"),
        ("乡镇,指标(公顷)\n向阳镇,1\n".encode(), "no header row"),
        ("年度,乡镇\n2026,向阳镇\n".encode(), "no area column"),
        (b"PK\x03\x04broken", "not a valid XLSX file"),
        (b"\x00\x01\x02binary", "neither a CSV nor an XLSX file"),
        (b"a" * (5 * 1024 * 1024 + 1), "larger than allowed"),
    ):
        with pytest.raises(InvalidInput, match=message):
            quotas.load_plan(window.s, data, "plan.csv", COUNTY)
    offsets = "项目编号,新增耕地面积(平方米),验收日期,质量等别\nBC-1,100,2026-13-01,3\nBC-2,0,2026-01-01,20\n"
    with pytest.raises(InvalidInput) as exc:
        quotas.load_offsets(window.s, offsets.encode(), "offsets.csv", COUNTY)
    assert exc.value.details["issues"] == [
        "offsets.csv 第 2 行 accepted_on：“2026-13-01”不是日期 / line 2, accepted_on: '2026-13-01' is not a date (YYYY-MM-DD)",
        "offsets.csv 第 3 行 grade：质量等别“20”应为 1–15 / line 3, grade: the grade '20' must be 1–15",
        "offsets.csv 第 3 行 area：新增耕地面积须大于零 / line 3, area: the new cultivated area must be above zero",
    ]
    window.s.rollback()
    assert window.s.execute(select(LandQuota)).first() is None
    assert window.s.execute(select(OffsetProject)).first() is None


def test_the_planner_page_the_api_and_the_command_show_the_ledger(window, make_settings, staff, cli_db, tmp_path):
    c = build(window)
    a = c["A"].case_no
    plan, offsets = tmp_path / "指标2026.csv", tmp_path / "补充耕地.xlsx"
    plan.write_bytes(PLAN.encode("gb18030"))
    offsets.write_bytes(offsets_xlsx())
    runner = CliRunner()
    r = runner.invoke(cli, ["quota", "load-plan", str(plan)])
    assert r.exit_code == 0, r.output
    assert "3 quotas of 2025, 2026 loaded" in r.output
    r = runner.invoke(cli, ["quota", "load-offsets", str(offsets)])
    assert r.exit_code == 0 and "2 offset projects loaded (13,000.00 m²" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("年度,乡镇,指标(公顷)\n2026,向阳镇,abc\n", encoding="utf-8")
    r = runner.invoke(cli, ["quota", "load-plan", str(bad)])
    assert r.exit_code == 2 and "line 2, quota_ha: 'abc' is not a number" in " ".join(r.output.split())
    r = runner.invoke(cli, ["quota", "ledger", "--year", "2026"])
    text = " ".join(r.output.split())
    assert r.exit_code == 0 and "向阳镇" in text and a in text and "2100.00 m²" in text

    with TestClient(create_app(make_settings(secret_key=KEY))) as client:
        login(client, "planner", staff["planner"]["password"])
        html = client.get("/planner", params={"year": "2026"}).text
        row = re.search(r'<tr data-township="向阳镇">(.*?)</tr>', html, re.S).group(1)
        cells = [re.sub(r"<[^>]+>", "", x).strip() for x in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        assert cells == ["向阳镇", "0.4000", "0.5000", "-0.1000", "1"]
        assert re.search(r'<td class="num remaining short">-0.1000</td>', row)
        project = re.search(r'<tr data-project="BC-2026-001">(.*?)</tr>', html, re.S).group(1)
        assert "3,000.00" in project and "0.00" in project
        flags = re.findall(r'<li class="flag" data-case="([^"]+)" data-flag="(\w+)">', html)
        assert flags == [(a, "quota"), (a, "offset")]
        listed = re.search(rf'<tr data-case="{a}">(.*?)</tr>', html, re.S).group(1)
        assert 'data-flag="quota"' in listed and 'data-flag="offset"' in listed
        assert "2100.00 平方米" in html
        r = client.get("/planner", params={"year": "26"})
        assert r.status_code == 422 and "year must be 2000–2100" in r.text
        english = client.get("/planner?lang=en&year=2026").text
        assert "Quota ledger" in english and "cultivated land taken without an offset" in english
        token = client.post(
            "/api/v1/auth/token", data={"username": "planner", "password": staff["planner"]["password"]}
        ).json()["access_token"]
        client.cookies.clear()
        body = client.get("/api/v1/conversions/ledger?year=2026", headers={"Authorization": f"Bearer {token}"}).json()
        assert body["totals"]["used_m2"] == pytest.approx(5100.0, abs=0.01)
        assert [f["case_no"] for f in body["flagged"]] == [a]
        assert body["flagged"][0]["offset_short_m2"] == pytest.approx(2100.0, abs=0.01)
