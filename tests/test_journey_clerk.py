"""The window clerk's day in a real headless Chromium over the sample county, one browser for the module, each step
photographed under tests/artifacts/journeys/:

- intake with a boundary drawn on the map, kept across the check and a refused submit; back and 收件 again opens the
  same case (the form's idempotency token); the one-time notice, signed by the office and the clerk by name; the
  supplements (materials ticked, the boundary replaced, the clocks paused and resumed) up to acceptance; the
  departments' review with one disagreement; the leader's approval after a confirmation; the documents;
- the leader's exception to a blocking finding on the case page;
- a login that ends in the middle of an intake: warned before, the draft kept and restored after the new login.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest

from service.clocks.calendar import LOCAL_TZ
from tests.conftest import unavailable
from tests.support.browser import Shots, Tab, chromium, chromium_path, console_problems
from tests.support.live import CLEAN_TXT, LiveApi, anchor, resident_id

ROOT = Path(__file__).resolve().parent.parent
FARMLAND_TXT = ROOT / "sample_parcels" / "applications" / "homestead_on_farmland_utf8.txt"
APPLICANT_ID = resident_id("42120219800101002")
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    if not chromium_path():
        unavailable("Debian's chromium is not installed (scripts/setup installs it)")
    with chromium() as b:
        yield b


def login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button.primary")
    page.wait_for_url(re.compile(r"/(workbench|cases/.*)$"))


def tiles_loaded(page, n: int = 2) -> None:
    page.wait_for_function(f"document.querySelectorAll('.leaflet-tile-loaded').length > {n}", timeout=15000)
    page.wait_for_timeout(300)


def draw_polygon(page, ring: list[list[float]]) -> None:
    """Draw a polygon (lon/lat corners) with leaflet-draw's polygon tool, as a clerk does with the mouse."""
    lon = sum(p[0] for p in ring[:-1]) / (len(ring) - 1)
    lat = sum(p[1] for p in ring[:-1]) / (len(ring) - 1)
    page.evaluate("([lat, lon]) => { window.landwindowMap.setView([lat, lon], 20, {animate: false}); }", [lat, lon])
    page.wait_for_timeout(400)
    points = page.evaluate(
        "(ring) => ring.map(p => { const c = window.landwindowMap.latLngToContainerPoint([p[1], p[0]]);"
        " return [c.x, c.y]; })",
        ring[:-1],
    )
    box = page.locator("#map-wrap .folium-map").bounding_box()
    page.click(".leaflet-draw-draw-polygon")
    for x, y in points:  # apart in time: two quick clicks would be a double click, which ends the polygon early
        page.mouse.move(box["x"] + x, box["y"] + y)
        page.mouse.down()
        page.mouse.up()
        page.wait_for_timeout(450)
    page.mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
    page.mouse.down()
    page.mouse.up()  # on the first corner: the ring closes
    page.wait_for_function("document.getElementById('boundary_geojson').value.length > 20")
    drawn = json.loads(page.input_value("#boundary_geojson"))
    assert len(drawn["geometry"]["coordinates"][0]) == len(ring), drawn  # every corner, the ring closed


def map_zoom(page) -> int:
    return page.evaluate("window.landwindowMap.getZoom()")


def beijing_now() -> datetime:
    return datetime.now(LOCAL_TZ)


def assert_beijing_times(texts: list[str]) -> None:
    """Every time shown is Beijing time of this very run (the steps were taken in the last minutes)."""
    now = beijing_now()
    for text in texts:
        shown = datetime.strptime(text.strip(), "%Y-%m-%d %H:%M").replace(tzinfo=LOCAL_TZ)
        assert now - timedelta(minutes=15) <= shown <= now + timedelta(minutes=1), (text, now)


def test_clerk_takes_a_homestead_from_intake_to_approval_and_documents(sample_app, browser):
    shots = Shots("clerk")
    api = LiveApi(sample_app)
    tab = Tab(browser)
    page = tab.page
    login(page, sample_app, "clerk", "clerk-demo-2026")
    assert "窗口受理员 王芳 · 窗口受理人员" in page.inner_text("header .who")  # a name and a role, not `clerk · clerk`
    shots(page, "workbench")

    # --- intake: the kind's own checklist and fields, a boundary drawn on the map --------------------------------
    page.goto(f"{sample_app}/cases/new")
    page.select_option("select[name=kind]", "mining")
    assert page.locator("input[name=mineral]").is_visible() and page.locator("input[name=depth_top]").is_visible()
    assert page.locator("input[value=licence_application]").is_visible()
    assert not page.locator("input[value=application_form]").is_visible()
    shots(page, "intake_mining_fields")
    page.select_option("select[name=kind]", "homestead")
    assert not page.locator("input[name=mineral]").is_visible()
    assert not page.locator("input[value=licence_application]").is_visible()  # not the previous kind's checklist
    page.fill("input[name=applicant_name]", "张秀兰")
    page.fill("input[name=id_number]", APPLICANT_ID)
    page.fill("input[name=phone]", "13907150001")
    page.fill("input[name=household_id]", "HH421202005001-9001")
    for code in ("application_form", "household_register", "id_card"):
        page.check(f"input[value={code}]")
    tiles_loaded(page)
    draw_polygon(page, anchor("homestead_clean")["geojson"]["coordinates"][0])
    shots(page, "intake_drawn")
    page.click("button[value=check]")
    page.wait_for_selector("#check-report")
    assert "通过" in page.inner_text("#check-report h2") and "block" not in page.inner_text("#check-report")
    area = float(re.search(r"([\d.,]+) ㎡", page.inner_text("#check-report h2")).group(1).replace(",", ""))
    assert 140 <= area <= 160, area  # the 12 × 12.5 m plot as drawn with the mouse
    assert "官埠桥镇 张家村" in page.inner_text("#map-places")  # where the map puts it
    assert map_zoom(page) >= 17  # framed on the drawn plot, not the county
    assert page.input_value("#boundary_geojson")  # the drawing travels on with the form
    tiles_loaded(page)
    shots(page, "intake_checked")

    # a refused submit keeps the boundary, its check and the map's frame
    page.fill("input[name=applicant_name]", "")
    page.click("button[value=create]")
    page.wait_for_selector("#intake-error")
    assert "申请人：请填写申请人姓名" in page.inner_text("#intake-error")
    assert page.locator("#check-report").count() == 1 and map_zoom(page) >= 17
    assert page.locator("path[stroke='#1F5FBF' i]").count() >= 1  # the drawn boundary, still on the map
    tiles_loaded(page)
    shots(page, "intake_refused_keeps_boundary")
    page.fill("input[name=applicant_name]", "张秀兰")
    page.click("button[value=create]")
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    case_url = page.url
    case_id = int(case_url.rsplit("/", 1)[1])
    code = page.inner_text("#query-code b.code").strip()
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{8}", code)
    assert "张秀兰" in page.inner_text("#applicant") and APPLICANT_ID in page.inner_text("#applicant")
    assert "官埠桥镇 张家村" in page.inner_text("#case-place") and "按一张图" in page.inner_text("#case-place")
    tiles_loaded(page)
    shots(page, "case_taken_in")
    with page.expect_popup() as opened:  # the first receipt, with the query code, printed for the applicant
        page.click("#documents form[action$='/receipt'] button")
    receipt = opened.value
    receipt.wait_for_load_state()
    receipt.set_viewport_size({"width": 800, "height": 1131})  # an A4 sheet's proportions
    assert code in receipt.inner_text(".code") and "经办人：窗口受理员 王芳" in receipt.inner_text(".sign")
    shots(receipt, "receipt", full_page=True)
    receipt.close()

    # --- back and 收件 again: the same case, not a second one ---------------------------------------------------
    page.go_back()
    page.wait_for_selector("button[value=create]")
    page.click("button[value=create]")
    page.wait_for_url(re.compile(rf"/cases/{case_id}\?already=1$"))
    assert "已经收件，没有重复登记" in page.inner_text("#case-flash")
    cases = api.client.get("/api/v1/cases", headers=api._headers("clerk")).json()
    assert [c["applicant_name"] for c in cases] == ["张**"], cases
    shots(page, "back_and_take_in_again")

    # --- the one-time notice: every missing material, signed by the office and the clerk by name -------------------
    page.goto(case_url)
    page.click("#issue-notice")
    page.wait_for_url("**/notice")
    notice = page.inner_text("body")
    assert "村民小组会议记录及村委会审查意见" in notice and "宅基地坐落平面位置图" in notice
    assert "经办人：窗口受理员 王芳" in notice and "咸宁市咸安区自然资源和规划局" in notice
    assert "[verify]" not in notice and "经办人：clerk" not in notice
    assert beijing_now().strftime("%Y年%m月%d日") in notice
    shots(page, "notice", full_page=True)

    # --- ask for the supplements: the clocks pause, and the page says since when ---------------------------------
    page.goto(case_url)
    page.click("button[data-transition=request_supplement]")
    page.wait_for_selector("#clock-paused")
    assert "待补正" in page.inner_text("#case-status")
    paused = re.search(r"自 (\d{4}-\d\d-\d\d \d\d:\d\d) 起暂停", page.inner_text("#clock-paused"))
    assert paused, page.inner_text("#clock-paused")
    assert_beijing_times([paused.group(1)])
    shots(page, "awaiting_supplements")

    # --- the supplements come in: tick the materials, replace the boundary by the surveyed file ------------------
    page.click("button[data-transition=supplement_received]")
    page.wait_for_function("document.querySelector('#case-status').innerText.includes('已收件')")
    assert page.locator("#clock-paused").count() == 0
    page.click("button[data-transition=accept]")  # not yet: two materials are missing
    page.wait_for_selector("#case-error")
    assert "材料不齐" in page.inner_text("#case-error") and "村民小组会议记录" in page.inner_text("#case-error")
    page.check("#materials-form input[value=village_opinion]")
    page.check("#materials-form input[value=site_plan]")
    page.click("#materials-form button")
    page.wait_for_url(re.compile(rf"/cases/{case_id}#materials$"))
    assert page.locator("#materials-form input:checked").count() == 5
    page.click("#edit-boundary summary")
    page.set_input_files("#boundary-form input[name=boundary_file]", str(CLEAN_TXT))
    page.click("#boundary-form button.primary")
    page.wait_for_url(re.compile(rf"/cases/{case_id}#check-report$"))
    assert "150.00 ㎡" in page.inner_text("#applicant")  # the surveyed 12 × 12.5 m plot
    page.click("#edit-applicant summary")
    page.fill("#edit-applicant input[name=phone]", "13907150002")
    page.click("#edit-applicant button.primary")
    page.wait_for_url(re.compile(rf"/cases/{case_id}#applicant$"))
    assert "13907150002" in page.inner_text("#applicant")
    steps = page.locator("#timeline li").evaluate_all("items => items.map(li => li.dataset.action)")
    assert steps.count("case.boundary") == 2 and "case.materials" in steps and "case.applicant" in steps, steps
    tiles_loaded(page)
    shots(page, "supplements_in", at="#materials")
    page.click("button[data-transition=accept]")
    page.wait_for_function("document.querySelector('#case-status').innerText.includes('并联审查')")
    assert page.locator("#materials-form").count() == 0 and page.locator("#edit-boundary").count() == 0
    shots(page, "accepted", at="#timeline")

    # --- the departments: one agrees by the API, one disagrees and one agrees on the page ------------------------
    case = api.client.get(f"/api/v1/cases/{case_id}", headers=api._headers("clerk")).json()
    api.review(case, "耕地保护股", "rev-farmland", "agree", "未占用耕地，同意。")
    for user, result, opinion in (
        ("rev-registry", "disagree", "登记簿显示该户另有一处宅基地，需核实。"),
        ("rev-village", "agree", "选址在村庄建设用地范围内，同意。"),
    ):
        review = Tab(browser)
        login(review.page, sample_app, user, "reviewer-demo-2026")
        review.page.goto(f"{case_url}#review-form")
        review.page.check(f"#review-form input[value={result}]")
        review.page.fill("#review-form textarea[name=opinion]", opinion)
        review.page.click("#review-form button.primary")
        review.page.wait_for_selector("#review-opinions")
        assert opinion in review.page.inner_text("#review-opinions")
        if result == "disagree":
            shots(review.page, "reviewer_disagrees", at="#review-opinions")
        assert review.errors == [], review.errors
        review.close()

    # --- the leader: approving over a disagreement asks for a confirmation -----------------------------------------
    leader = Tab(browser)
    lp = leader.page
    login(lp, sample_app, "leader", "leader-demo-2026")
    row = lp.locator("#awaiting-decision tr", has_text="张**")
    assert "2 同意 · 1 不同意" in row.inner_text()
    row.locator("a.button").click()
    lp.wait_for_selector("#confirm-approve")
    assert "不动产登记股 不同意" in lp.inner_text("#confirm-approve")
    assert lp.locator("#actions button[data-transition=approve]").count() == 0  # only through the confirmation
    tiles_loaded(lp)
    lp.locator("#confirm-approve").scroll_into_view_if_needed()
    shots(lp, "leader_confirmation")
    lp.check("#confirm-approve input[name=confirmed]")
    lp.click("#confirm-approve button")
    lp.wait_for_function("document.querySelector('#case-status').innerText.includes('已批准')")
    timeline = lp.inner_text("#timeline")
    for name in ("窗口受理员 王芳", "不动产登记股 审查员", "分管局长 陈建国", "系统"):
        assert name in timeline, name
    assert "clerk:clerk" not in timeline and "leader:leader" not in timeline
    assert_beijing_times(re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d", timeline))
    lp.locator("#timeline").scroll_into_view_if_needed()
    shots(lp, "leader_approved_timeline")

    # --- the documents of the decision -----------------------------------------------------------------------------
    lp.goto(f"{case_url}/decision")
    decision = lp.inner_text("body")
    assert "准予行政许可决定书" in decision and beijing_now().strftime("%Y年%m月%d日") in decision
    shots(lp, "decision", full_page=True)
    lp.goto(f"{case_url}/certificate")
    assert "农村宅基地批准书" in lp.inner_text("h1") and "150.00 平方米" in lp.inner_text("body")
    shots(lp, "certificate", full_page=True)
    pdf = leader.context.request.get(f"{case_url}/certificate.pdf")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")

    # --- the clerk finds the case again: by village on the workbench, and its parcel on the one map ----------------
    page.goto(f"{sample_app}/workbench?q=张家村")
    assert page.locator("#all-cases a", has_text=case["case_no"]).count() == 1
    assert "共 1 件" in page.inner_text("#paging-summary")
    shots(page, "workbench_search")
    parcel = next(
        f["attrs"]["parcel_no"]
        for r in api.client.get(f"/api/v1/cases/{case_id}/check", headers=api._headers("clerk")).json()["rules"]
        for f in r["features"]
        if f["attrs"].get("parcel_no")
    )
    page.goto(f"{sample_app}/map")
    page.fill("#map-search input[name=go]", parcel)
    page.click("#map-search button")
    page.wait_for_selector("#map-found")
    assert parcel in page.inner_text("#map-found") and map_zoom(page) >= 17
    tiles_loaded(page)
    box = page.locator("#map-wrap").bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector(".lw-popup")
    popup = page.inner_text(".lw-popup")
    # the feature's attributes by their names, the land class with its name: no raw field names, no bare codes
    assert "宗地代码" in popup or re.search(r"地类\t\d{4} \w+", popup), popup
    assert not re.search(r"\b(dlbm|parcel_no|owner_kind|land_class|patch_no|township)\b", popup), popup
    shots(page, "map_found_parcel_popup")

    for t, refusals in ((tab, [422, 422, 409]), (leader, [])):
        hosts = {urlparse(u).netloc for u in t.requests if u.startswith("http")}
        assert hosts == {urlparse(sample_app).netloc}, hosts
        # the refused submit (and its page again after going back) and the refused acceptance, nothing else
        assert console_problems(t.errors) == (refusals, []), t.errors
    tab.close()
    leader.close()


def test_the_leader_lifts_a_block_on_the_case_page(sample_app, browser):
    shots = Shots("leader_override")
    api = LiveApi(sample_app)
    blocked = api.post(
        "/api/v1/cases",
        json={
            "kind": "homestead",
            "applicant_name": "李秀英",
            "household_id": "HH421202005001-9002",
            "materials_received": ["application_form", "household_register", "id_card", "village_opinion", "site_plan"],
            "boundary": {"type": "Feature", "properties": {}, "geometry": anchor("homestead_on_farmland")["geojson"]},
        },
    )
    assert blocked["check"]["verdict"] == "block"
    tab = Tab(browser)
    page = tab.page
    login(page, sample_app, "leader", "leader-demo-2026")
    page.goto(f"{sample_app}/cases/{blocked['id']}")
    assert "不予通过" in page.inner_text("#check-report h2")
    assert "永久基本农田" in page.inner_text("#check-report") and "42.00 平方米" in page.inner_text("#check-report")
    tiles_loaded(page)
    page.locator("#override").scroll_into_view_if_needed()
    shots(page, "blocked_case_override_form")
    page.fill("#override textarea[name=reason]", "省重点民生项目配套，经县政府常务会议研究同意例外办理。")
    page.click("#override button")
    page.wait_for_selector("p#override")
    assert "省重点民生项目配套" in page.inner_text("p#override")
    assert page.locator("form#override").count() == 0
    shots(page, "override_on_record")
    tab.close()
    clerk = Tab(browser)
    login(clerk.page, sample_app, "clerk", "clerk-demo-2026")
    clerk.page.goto(f"{sample_app}/cases/{blocked['id']}")
    clerk.page.click("button[data-transition=accept]")  # the block no longer stands in the way
    clerk.page.wait_for_function("document.querySelector('#case-status').innerText.includes('并联审查')")
    assert "领导例外决定" in clerk.page.inner_text("#timeline")
    assert tab.errors == [] and clerk.errors == [], tab.errors + clerk.errors
    clerk.close()


def test_a_login_that_ends_mid_intake_warns_first_and_keeps_the_draft(sample_app, browser):
    shots = Shots("session_expiry")
    tab = Tab(browser)
    page = tab.page
    login(page, sample_app, "clerk", "clerk-demo-2026")
    host = urlparse(sample_app).hostname
    # the login ends in two minutes (as the login page set it at login, minus the hours that went by)
    ends = int(datetime.now().timestamp()) + 120
    tab.context.add_cookies([{"name": "lw_session_ends", "value": str(ends), "domain": host, "path": "/"}])
    page.goto(f"{sample_app}/cases/new")
    page.wait_for_selector("#session-warning:not([hidden])")
    warning = page.inner_text("#session-warning")
    assert "登录将于" in warning and "到期" in warning and "重新登录" in warning
    shown = datetime.fromtimestamp(ends, LOCAL_TZ).strftime("%H:%M")
    assert shown in warning, (shown, warning)
    page.fill("input[name=applicant_name]", "赵明")
    page.fill("input[name=phone]", "13907150009")
    page.fill("input[name=household_id]", "HH421202005001-9001")
    page.check("input[value=household_register]")
    tiles_loaded(page)
    draw_polygon(page, anchor("homestead_clean")["geojson"]["coordinates"][0])
    shots(page, "warned_before_the_end")

    # the login ends: the session cookie is gone when the clerk presses 一张图核查
    tab.context.clear_cookies(name="lw_session")
    page.click("button[value=check]")
    page.wait_for_url(re.compile(r"/login\?next=/cases/new$"))
    shots(page, "sent_to_login")
    page.fill("input[name=username]", "clerk")
    page.fill("input[name=password]", "clerk-demo-2026")
    page.click("form button.primary")
    page.wait_for_url(f"{sample_app}/cases/new")
    page.wait_for_selector("#draft-restored:not([hidden])")
    assert page.input_value("input[name=applicant_name]") == "赵明"
    assert page.input_value("input[name=phone]") == "13907150009"
    assert page.is_checked("input[value=household_register]")
    assert page.input_value("#boundary_geojson")  # the drawn boundary came back too, the map framed on it
    page.wait_for_function("window.landwindowMap.getZoom() >= 17", timeout=5000)
    tiles_loaded(page)
    shots(page, "draft_restored")
    page.click("button[value=check]")
    page.wait_for_selector("#check-report")
    page.click("button[value=create]")
    page.wait_for_url(re.compile(r"/cases/\d+$"))
    assert "赵明" in page.inner_text("#applicant")
    page.goto(f"{sample_app}/cases/new")  # the draft went with the case taken in
    assert page.locator("#draft-restored").is_hidden() and page.input_value("input[name=applicant_name]") == ""
    assert tab.errors == [], tab.errors
    tab.close()
