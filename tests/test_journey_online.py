"""Issue 19 in a real headless Chromium over the sample county: the applicant on a 390×844 phone, the clerk at a
desk, each step photographed under tests/artifacts/journeys/online_*/:

- applying online: the plot uploaded, the pre-check in plain words, the materials attached, the case number and the
  query code; the clerk takes it in from the workbench (the clock starts) — another is refused and the applicant
  reads why;
- answering the notice online: the portal lists what is asked, the files go up, the clerk asks again with a reason,
  the applicant sends again, the clerk confirms and the clock resumes;
- the register and a pre-announcement: the land on the map, an objection sent from the phone, the next step held
  until the clerk answers it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import psycopg
import pytest

from tests.conftest import unavailable
from tests.support.browser import Shots, Tab, chromium, chromium_path, console_problems
from tests.support.live import CLEAN_TXT, PASSWORDS, LiveApi, anchor, resident_id

pytestmark = pytest.mark.browser
PHONE = (390, 844)
ROOT = Path(__file__).resolve().parent.parent
REQUISITION = ROOT / "sample_parcels" / "applications" / "requisition.geojson"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 256


@pytest.fixture(scope="module")
def browser():
    if not chromium_path():
        unavailable("Debian's chromium is not installed (scripts/setup installs it)")
    with chromium() as b:
        yield b


def fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]


def clerk_tab(browser, base: str) -> Tab:
    tab = Tab(browser)
    tab.page.goto(f"{base}/login")
    tab.page.fill("input[name=username]", "clerk")
    tab.page.fill("input[name=password]", PASSWORDS["clerk"])
    tab.page.click("form button.primary")
    tab.page.wait_for_url("**/workbench")
    return tab


def fill_application(page, base: str, name: str, upload: bool = True) -> None:
    page.goto(f"{base}/apply")
    page.select_option("select[name=kind]", "homestead")
    if upload:
        page.set_input_files("#boundary_file", str(CLEAN_TXT))
    page.fill("input[name=applicant_name]", name)
    page.fill("input[name=id_number]", resident_id("42120219850315123"))
    page.fill("input[name=phone]", "139 0715 0002")
    page.fill("input[name=household_id]", "HH421202005001-9001")


def draw_by_tapping(page, ring: list[list[float]]) -> None:
    """Draw a polygon (lon/lat corners) with leaflet-draw's polygon tool by tapping the phone's screen."""
    lon = sum(p[0] for p in ring[:-1]) / (len(ring) - 1)
    lat = sum(p[1] for p in ring[:-1]) / (len(ring) - 1)
    page.evaluate("window.scrollTo(0, 0)")  # the map above the form, in view (taps land where the finger is)
    page.evaluate("([lat, lon]) => { window.landwindowMap.setView([lat, lon], 20, {animate: false}); }", [lat, lon])
    page.wait_for_timeout(400)
    points = page.evaluate(
        "(ring) => ring.map(p => { const c = window.landwindowMap.latLngToContainerPoint([p[1], p[0]]);"
        " return [c.x, c.y]; })",
        ring[:-1],
    )
    page.tap(".leaflet-draw-draw-polygon")
    box = page.locator("#map-wrap .folium-map").bounding_box()
    for x, y in [*points, points[0]]:  # apart in time; the first corner again closes the ring
        page.touchscreen.tap(box["x"] + x, box["y"] + y)
        page.wait_for_timeout(450)
    page.wait_for_function("document.getElementById('boundary_geojson').value.length > 20")
    drawn = json.loads(page.input_value("#boundary_geojson"))
    assert len(drawn["geometry"]["coordinates"][0]) == len(ring), drawn


def attach(page, code: str, name: str, data: bytes, mime: str) -> None:
    page.set_input_files(
        f"label[data-material={code}] input[type=file]", files=[{"name": name, "mimeType": mime, "buffer": data}]
    )


def look_up(page, base: str, case_no: str, code: str) -> None:
    page.goto(f"{base}/portal")
    page.fill("input[name=case_no]", case_no)
    page.fill("input[name=query_code]", code)
    page.click("form button.primary")
    page.wait_for_selector("#progress")


def test_an_application_sent_online_is_taken_in_and_its_notice_answered(sample_app, db_url, browser):
    shots = Shots("online_apply")
    phone = Tab(browser, *PHONE, mobile=True)
    page = phone.page

    # --- the phone: the plot first, its pre-check in plain words -------------------------------------------------
    page.goto(f"{sample_app}/portal")
    page.click("nav a[href='/apply']")
    page.wait_for_selector("#apply-form")
    assert page.locator("input[type=file][name^='material:']").count() == 0  # the files come after the pre-check
    fits_the_phone(page)
    page.wait_for_timeout(500)
    shots(page, "the_form")
    fill_application(page, sample_app, "周晓燕")
    page.fill("input[name=phone]", "0715-1234")
    page.click("#apply-check")
    page.wait_for_selector("#apply-error")
    assert "不是有效的手机号码" in page.inner_text("#apply-error")
    assert page.locator("#precheck").count() == 1  # the plot was checked all the same, and kept
    assert "homestead_clean.txt" in page.inner_text("#boundary-file-name")
    shots(page, "a_landline_refused", at="#apply-error")
    page.fill("input[name=phone]", "139 0715 0002")
    page.click("#apply-check")
    page.wait_for_selector("#precheck-summary")
    assert page.get_attribute("#precheck", "data-verdict") == "pass"
    assert "一张图预检未发现问题" in page.inner_text("#precheck-summary")
    assert "㎡" in page.inner_text("#precheck-area") and "张家村" in page.inner_text("#precheck-area")
    page.wait_for_function("document.querySelectorAll('.leaflet-tile-loaded').length > 2", timeout=15000)
    shots(page, "the_precheck")

    # --- the materials, then the sending ---------------------------------------------------------------------------
    attach(page, "application_form", "申请表.pdf", PDF, "application/pdf")
    attach(page, "id_card", "身份证.jpg", JPEG, "image/jpeg")
    attach(page, "household_register", "户口簿.pdf", b"<html>not a pdf</html>", "application/pdf")
    shots(page, "materials_attached", at="#apply-send")
    page.click("#apply-send")
    page.wait_for_selector("#apply-error")
    assert "户口簿.pdf" in page.inner_text("#apply-error") and "只接受" in page.inner_text("#apply-error")
    shots(page, "a_fake_pdf_refused", at="#apply-error")
    attach(page, "application_form", "申请表.pdf", PDF, "application/pdf")
    attach(page, "id_card", "身份证.jpg", JPEG, "image/jpeg")
    page.click("#apply-send")
    page.wait_for_selector("#apply-done")
    case_no = page.inner_text("#done-case-no").strip()
    code = page.inner_text("#done-query-code").strip()
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{8}", code) and "-ZJ-" in case_no
    assert "网上预受理" in page.inner_text("#done-state")
    fits_the_phone(page)
    shots(page, "sent_with_number_and_code")

    # --- the clerk: the workbench lists it, the clerk takes it in (the clock starts) ------------------------------
    clerk = clerk_tab(browser, sample_app)
    cp = clerk.page
    waiting = cp.locator(f"#online-waiting tr[data-case='{case_no}']")
    assert waiting.count() == 1 and "预审收件" in waiting.inner_text() and "周*" in waiting.inner_text()
    shots(cp, "clerk_workbench")
    waiting.locator("a.button").click()
    cp.wait_for_selector("#online-files")
    files = cp.inner_text("#online-files")
    assert "申请表.pdf" in files and "身份证.jpg" in files and "homestead_clean.txt" in files
    assert cp.inner_text(".clocks").count("—") == 2  # no clock before the window takes it in
    shots(cp, "clerk_sees_the_files", at="#online-files")
    cp.click("button[data-transition=take_in_online]")
    cp.wait_for_load_state()
    assert cp.inner_text("#case-status") == "已收件"
    assert "—" not in cp.inner_text(".clocks")  # the statutory clock has started
    cp.click("#issue-notice")
    cp.wait_for_load_state()
    cp.goto(cp.url.replace("/notice", ""))
    cp.click("button[data-transition=request_supplement]")
    cp.wait_for_load_state()
    assert cp.inner_text("#case-status") == "待补正"

    # --- the phone: what the notice asks, the files sent -----------------------------------------------------------
    look_up(page, sample_app, case_no, code)
    notice = page.inner_text("#notice")
    assert "户口簿" in notice and "村民小组会议记录" in notice
    assert page.locator("#supplement-form label[data-material]").count() >= 3
    fits_the_phone(page)
    shots(page, "the_notice_online")
    for code_ in ("application_form", "household_register", "id_card", "village_opinion", "site_plan"):
        if page.locator(f"#supplement-form label[data-material={code_}]").count():
            page.set_input_files(
                f"#supplement-form label[data-material={code_}] input[type=file]",
                files=[{"name": f"{code_}.pdf", "mimeType": "application/pdf", "buffer": PDF}],
            )
    shots(page, "supplement_attached", at="#supplement-send")
    page.click("#supplement-send")
    page.wait_for_selector("#flash")
    assert "补正材料已提交" in page.inner_text("#flash") and page.locator("#supplement-waiting").count() == 1
    shots(page, "supplement_sent")

    # --- the clerk asks again with a reason; the applicant reads it and sends again --------------------------------
    cp.reload()
    cp.fill("#supplement-return-form textarea[name=reason]", "户口簿须为户主页和本人页的完整扫描件")
    shots(cp, "clerk_asks_again", at="#supplement-actions")
    cp.click("#supplement-return")
    cp.wait_for_load_state()
    assert cp.locator("#supplement-actions").count() == 0 and cp.inner_text("#case-status") == "待补正"
    look_up(page, sample_app, case_no, code)
    assert "户口簿须为户主页和本人页的完整扫描件" in page.inner_text("#notice-note")
    assert "已退回" in page.inner_text("#portal-files")
    shots(page, "asked_again")
    page.set_input_files(
        "#supplement-form label[data-material=household_register] input[type=file]",
        files=[{"name": "户口簿全本.pdf", "mimeType": "application/pdf", "buffer": PDF}],
    )
    page.click("#supplement-send")
    page.wait_for_selector("#supplement-waiting")

    # --- the clerk confirms: materials received, the clock resumes --------------------------------------------------
    cp.reload()
    cp.click("#supplement-confirm")
    cp.wait_for_load_state()
    assert cp.inner_text("#case-status") == "已收件" and cp.locator("#clock-paused").count() == 0
    shots(cp, "clerk_confirmed")
    look_up(page, sample_app, case_no, code)
    assert page.locator("#notice").count() == 0 and "已确认" in page.inner_text("#portal-files")
    assert "网上提交补正材料" in page.inner_text("#progress")
    shots(page, "confirmed")

    # --- another one, its plot drawn by tapping the map, refused: the applicant reads why ---------------------------
    fill_application(page, sample_app, "吴建国", upload=False)
    draw_by_tapping(page, anchor("homestead_clean")["geojson"]["coordinates"][0])
    shots(page, "drawn_by_tapping")
    page.click("#apply-check")
    page.wait_for_selector("#apply-send")
    assert 140 <= float(re.search(r"([\d,.]+) ㎡", page.inner_text("#precheck-area")).group(1).replace(",", "")) <= 160
    page.click("#apply-send")
    page.wait_for_selector("#apply-done")
    refused_no, refused_code = page.inner_text("#done-case-no").strip(), page.inner_text("#done-query-code").strip()
    cp.goto(f"{sample_app}/workbench")
    cp.locator(f"#online-waiting tr[data-case='{refused_no}'] a.button").click()
    cp.wait_for_selector("#online-files")
    form = cp.locator("form.reason-form", has=cp.locator("button[data-transition=refuse]"))
    form.locator("textarea[name=reason]").fill("该户已有宅基地，不符合一户一宅")
    form.locator("button").click()
    cp.wait_for_load_state()
    assert cp.inner_text("#case-status") == "不予受理"
    look_up(page, sample_app, refused_no, refused_code)
    assert "不符合一户一宅" in page.inner_text("#decision-reason")
    fits_the_phone(page)
    shots(page, "refused_with_reason")

    statuses, others = console_problems(phone.errors)
    assert sorted(set(statuses)) == [422] and others == [], phone.errors  # the landline, the fake PDF
    assert clerk.errors == [], clerk.errors
    with psycopg.connect(db_url) as conn:
        sent = conn.execute("SELECT event FROM outbox WHERE recipient = '13907150002' ORDER BY id").fetchall()
    assert [e for (e,) in sent][:2] == ["submitted_online", "transition"]  # told at every step
    phone.close()
    clerk.close()


def test_the_register_takes_an_objection_that_holds_the_next_step(sample_app, db_url, browser):
    shots = Shots("online_register")
    api = LiveApi(sample_app)
    case = api.post(
        "/api/v1/cases",
        json={
            "kind": "requisition",
            "applicant_type": "unit",
            "applicant_name": "咸安区工业园区管理委员会",
            "project_name": "温泉工业园三期",
            "materials_received": [
                "project_approval",
                "planning_permit",
                "survey_report",
                "boundary_txt",
                "compensation_plan",
                "risk_assessment",
            ],
            "boundary": json.loads(REQUISITION.read_text("utf-8")),
        },
    )
    case = api.move(case, "accept")
    assert case["status"] == "pre_announcement"
    phone = Tab(browser, *PHONE, mobile=True)
    page = phone.page
    page.goto(f"{sample_app}/register")
    row = page.locator(f"#register tr[data-case='{case['case_no']}']")
    assert row.count() == 1 and "征收" in row.inner_text()
    assert "征收土地预公告" in page.inner_text("#announcements") and "公告中" in page.inner_text("#announcements")
    fits_the_phone(page)
    shots(page, "the_register")
    page.locator("#announcements a").first.click()
    page.wait_for_selector("#respond-form")
    page.wait_for_function("document.querySelectorAll('.leaflet-tile-loaded').length > 2", timeout=15000)
    drawn = page.evaluate(
        """() => { let n = 0; window.landwindowMap.eachLayer(l => { if (l.feature && l.feature.geometry
                     && l.feature.geometry.type.endsWith('Polygon')) n += 1; }); return n; }"""
    )
    assert drawn >= 1  # the land drawn on the map, framed on it
    period = page.inner_text("#announcement-period")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d — \d{4}-\d\d-\d\d \d\d:\d\d", period.strip())
    shots(page, "the_announcement")
    page.fill("input[name=name]", "韦国强")
    page.fill("input[name=phone]", "13907150003")
    page.fill("textarea[name=content]", "拟征收范围包括我家的鱼塘，调查时未通知本人。")
    shots(page, "objection_typed", at="#respond-send")
    page.click("#respond-send")
    page.wait_for_selector("#flash")
    assert "已收到" in page.inner_text("#flash") and "异议: 1" in page.inner_text("#response-counts")
    assert "韦国强" not in page.inner_text("#response-counts")
    fits_the_phone(page)
    shots(page, "objection_sent")

    # the announcement's days are over, but the objection holds the next step until it is answered
    with psycopg.connect(db_url) as conn:
        conn.execute("UPDATE cases SET state_entered_at = now() - interval '20 days' WHERE id = %s", (case["id"],))
    clerk = clerk_tab(browser, sample_app)
    cp = clerk.page
    cp.goto(f"{sample_app}/cases/{case['id']}")
    cp.click("button[data-transition=end_pre_announcement]")
    cp.wait_for_selector("#case-error")
    assert "1 条异议" in cp.inner_text("#case-error")
    assert "鱼塘" in cp.inner_text("#responses") and "13907150003" in cp.inner_text("#responses")
    shots(cp, "next_step_held", at="#responses")
    cp.fill("#responses textarea[name=answer]", "经核实，鱼塘位于征收范围外，已电话告知。")
    cp.click("#responses form button")
    cp.wait_for_load_state()
    assert "已答复" in cp.inner_text("#responses")
    cp.click("button[data-transition=end_pre_announcement]")
    cp.wait_for_load_state()
    assert cp.inner_text("#case-status") == "并联审查" or "审查" in cp.inner_text("#case-status")
    shots(cp, "answered_and_moved_on")

    statuses, others = console_problems(phone.errors)
    assert others == [], phone.errors
    statuses, others = console_problems(clerk.errors)
    assert statuses == [409] and others == [], clerk.errors  # the held step, shown as a page
    phone.close()
    clerk.close()
