"""The planner in a real headless Chromium over the sample county (one browser for the module), each step
photographed under tests/artifacts/journeys/planner/: every conversion carries the township the map puts it in
(none was typed at intake), the township filter finds it, a reversed period lists nothing (not the unfiltered
totals) and says why, and the list downloads as CSV and Excel with Beijing times and Chinese kind names."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from service.clocks.calendar import LOCAL_TZ
from tests.conftest import unavailable
from tests.support.browser import Shots, Tab, chromium, chromium_path, console_problems
from tests.support.live import HOMESTEAD_MATERIALS, LiveApi, anchor

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
REQUISITION = ROOT / "sample_parcels" / "applications" / "requisition.geojson"


@pytest.fixture(scope="module")
def browser():
    if not chromium_path():
        unavailable("Debian's chromium is not installed (scripts/setup installs it)")
    with chromium() as b:
        yield b


def rows(page) -> list[str]:
    return page.locator("#conversion-list tr[data-case]").evaluate_all("rs => rs.map(r => r.dataset.case)")


def test_the_planner_finds_conversions_by_township_and_downloads_them(sample_app, browser):
    shots = Shots("planner")
    api = LiveApi(sample_app)
    requisition = api.post(
        "/api/v1/cases",
        json={
            "kind": "requisition",
            "applicant_type": "unit",
            "applicant_name": "咸安区工业园区管理委员会",
            "project_name": "温泉工业园三期",
            "boundary": json.loads(REQUISITION.read_text("utf-8")),
        },
    )
    farmland = anchor("homestead_on_farmland")
    homestead = api.post(
        "/api/v1/cases",
        json={
            "kind": "homestead",
            "applicant_name": "李秀英",
            "village": "李家村",  # typed wrong: the map says 张家村
            "household_id": farmland["household_id"],
            "materials_received": HOMESTEAD_MATERIALS,
            "boundary": {"type": "Feature", "properties": {}, "geometry": farmland["geojson"]},
        },
    )
    assert requisition["township"] and homestead["township"] == farmland["township"]  # from the map
    assert homestead["village"] == "李家村" and homestead["place_warnings"][0]["map"] == "张家村"

    tab = Tab(browser)
    page = tab.page
    page.goto(f"{sample_app}/login")
    page.fill("input[name=username]", "planner")
    page.fill("input[name=password]", "planner-demo-2026")
    page.click("form button.primary")
    page.wait_for_url("**/workbench")
    page.goto(f"{sample_app}/planner")
    assert set(rows(page)) == {requisition["case_no"], homestead["case_no"]}
    townships = page.inner_text("#conversion-list")
    assert requisition["township"] in townships and farmland["township"] in townships
    assert "—" not in page.locator("#conversion-list tbody td:nth-child(3)").all_inner_texts()
    page.wait_for_function("document.querySelectorAll('.leaflet-tile-loaded').length > 2", timeout=15000)
    page.wait_for_timeout(300)
    shots(page, "conversions_with_townships")

    # --- the township filter finds the homestead's township, from the map -----------------------------------------
    page.select_option("select[name=township]", farmland["township"])
    page.click("#conversion-filter button.primary")
    page.wait_for_load_state()
    assert rows(page) == [homestead["case_no"]]
    assert page.locator("tr[data-state=all] td").first.inner_text() == "1"
    shots(page, "filtered_by_township")

    # --- a reversed period: refused, listing nothing --------------------------------------------------------------
    page.goto(f"{sample_app}/planner?from=2026-12-31&to=2026-01-01")
    assert "起始日期 2026-12-31 晚于截止日期 2026-01-01" in page.inner_text("#planner-error")
    assert rows(page) == [] and page.locator("tr[data-state=all] td").first.inner_text() == "0"
    assert page.locator("#conversion-downloads").count() == 0
    shots(page, "reversed_period_refused")

    # --- the list downloads: Beijing times, Chinese kind names ----------------------------------------------------
    page.goto(f"{sample_app}/planner")
    with page.expect_download() as saved:
        page.click("#conversion-downloads a:has-text('CSV')")
    text = Path(saved.value.path()).read_text("utf-8-sig")
    table = list(csv.reader(io.StringIO(text)))
    assert table[0][:3] == ["案件编号 Case", "类型 Kind", "状态 State"]
    by_case = {r[0]: r for r in table[1:]}
    assert by_case[homestead["case_no"]][1] == "村民建房（农村宅基地）" and by_case[homestead["case_no"]][2] == "在办"
    assert by_case[requisition["case_no"]][3] == requisition["township"]
    received = datetime.fromisoformat(homestead["received_at"]).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    assert by_case[homestead["case_no"]][6] == received  # Beijing time, as every page shows it
    with page.expect_download() as saved:
        page.click("#conversion-downloads a:has-text('Excel')")
    assert saved.value.suggested_filename == "conversions.xlsx"
    sheet = load_workbook(io.BytesIO(Path(saved.value.path()).read_bytes())).active
    cells = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert cells[homestead["case_no"]][1] == "村民建房（农村宅基地）" and cells[homestead["case_no"]][6] == received
    assert cells[homestead["case_no"]][11] == 42.0  # 耕地 m², the 0101 paddy under the plot
    # --- the requisition's own page: the figures a clerk reads out, thousands separated --------------------------
    page.goto(f"{sample_app}/cases/{requisition['id']}")
    figures = page.inner_text("#figures")
    assert re.search(r"耕地\s+\d{3},\d{3}\.\d\d ㎡", figures), figures
    assert re.search(r"\d{1,3}(,\d{3})+\.\d\d", page.inner_text("#compensation-total"))
    assert "集体" in page.inner_text("#owners")
    page.wait_for_function("document.querySelectorAll('.leaflet-tile-loaded').length > 2", timeout=15000)
    shots(page, "requisition_figures", at="#figures")
    shots(page, "requisition_compensation", at="#compensation")

    statuses, others = console_problems(tab.errors)
    assert statuses == [422] and others == [], tab.errors  # the reversed period, refused as meant
    tab.close()
