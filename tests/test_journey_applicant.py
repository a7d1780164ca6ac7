"""The applicant on a 390×844 phone, in a real headless Chromium over the sample county (one browser for the module),
each step photographed under tests/artifacts/journeys/applicant/:

- the case number and the query code typed in lower case, with spaces: found, no attempt burnt;
- waiting for supplements: the notice's list, the paused clock, the plot centred with the conflicts in red and in
  plain words; once the supplements are in, the notice is gone;
- rejected: the reason, the decision to download, the routes of appeal; the rating starts unselected;
- approved: the certificate to download;
- a lost code: the clerk reissues one, the old one stops working.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from service.clocks.calendar import LOCAL_TZ
from tests.conftest import unavailable
from tests.support.browser import Shots, Tab, chromium, chromium_path, console_problems
from tests.support.live import HOMESTEAD_MATERIALS, LiveApi, anchor

pytestmark = pytest.mark.browser
PHONE = (390, 844)


@pytest.fixture(scope="module")
def browser():
    if not chromium_path():
        unavailable("Debian's chromium is not installed (scripts/setup installs it)")
    with chromium() as b:
        yield b


def look_up(page, base: str, case_no: str, code: str) -> None:
    page.goto(f"{base}/portal")
    page.fill("input[name=case_no]", case_no)
    page.fill("input[name=query_code]", code)
    page.click("form button.primary")
    page.wait_for_load_state()


def fits_the_phone(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]


def tiles_loaded(page) -> None:
    page.wait_for_function("document.querySelectorAll('.leaflet-tile-loaded').length > 2", timeout=15000)
    page.wait_for_timeout(400)


def plot_offset(page, geometry: dict) -> float:
    """Return how far (as a share of the map's size) the plot's centre is from the map's centre."""
    ring = geometry["coordinates"][0]
    lon = sum(p[0] for p in ring[:-1]) / (len(ring) - 1)
    lat = sum(p[1] for p in ring[:-1]) / (len(ring) - 1)
    return page.evaluate(
        """([lat, lon]) => { const m = window.landwindowMap, s = m.getSize(), p = m.latLngToContainerPoint([lat, lon]);
             return Math.max(Math.abs(p.x - s.x / 2) / s.x, Math.abs(p.y - s.y / 2) / s.y); }""",
        [lat, lon],
    )


def reviewed(api: LiveApi, case: dict) -> dict:
    case = api.move(case, "accept")
    case = api.review(case, "耕地保护股", "rev-farmland", "agree", "同意。")
    case = api.review(case, "不动产登记股", "rev-registry", "agree", "同意。")
    return api.review(case, "村镇规划股", "rev-village", "agree", "同意。")


def test_the_applicant_follows_their_cases_on_a_phone(sample_app, browser):
    shots = Shots("applicant")
    api = LiveApi(sample_app)
    farmland = anchor("homestead_on_farmland")
    waiting = api.post(
        "/api/v1/cases",
        json={
            "kind": "homestead",
            "applicant_name": "李秀英",
            "household_id": farmland["household_id"],
            "materials_received": HOMESTEAD_MATERIALS[:3],
            "boundary": {"type": "Feature", "properties": {}, "geometry": farmland["geojson"]},
        },
    )
    api.post(f"/api/v1/cases/{waiting['id']}/notices")
    moved = api.move(waiting, "request_supplement")
    phone = Tab(browser, *PHONE, mobile=True)
    page = phone.page

    # --- typed on a phone: lower case, a space in the code ------------------------------------------------------
    typed_no = waiting["case_no"].lower()
    typed_code = waiting["query_code"][:4].lower() + " " + waiting["query_code"][4:].lower()
    page.goto(f"{sample_app}/portal")
    page.fill("input[name=case_no]", typed_no)
    page.fill("input[name=query_code]", typed_code)
    shots(page, "typed_in_lower_case")
    page.click("form button.primary")
    page.wait_for_selector("#progress")
    assert waiting["case_no"] in page.inner_text("aside h2")
    fits_the_phone(page)

    # --- waiting for supplements: the list, the paused clock, the plot with its conflicts ------------------------
    notice = page.inner_text("#notice")
    assert "村民小组会议记录及村委会审查意见" in notice and "宅基地坐落平面位置图" in notice
    assert "暂停计算" in page.inner_text("#portal-paused")
    findings = page.inner_text("#findings")
    assert "永久基本农田" in findings and "42.00 平方米" in findings  # the rule's own sentence, not a code
    assert "HS-BF" not in findings and "block" not in findings
    tiles_loaded(page)
    assert page.locator("path[stroke='#C8102E' i]").count() >= 1  # the farmland overlap drawn in red
    assert plot_offset(page, farmland["geojson"]) < 0.15  # the plot in the middle of the phone's map
    shots(page, "waiting_for_supplements")
    shots(page, "waiting_for_supplements_below", at="#findings")
    progress = re.findall(r"\d{4}-\d\d-\d\d \d\d:\d\d", page.inner_text("#progress"))
    now = datetime.now(LOCAL_TZ)
    for shown in progress:  # Beijing time, as the receipt prints it
        at = datetime.strptime(shown, "%Y-%m-%d %H:%M").replace(tzinfo=LOCAL_TZ)
        assert now - timedelta(minutes=15) <= at <= now + timedelta(minutes=1), (shown, now)

    # the supplements are in: the notice no longer asks for anything
    api.move(moved, "supplement_received")
    current = api.client.get(f"/api/v1/cases/{waiting['id']}", headers=api._headers("clerk")).json()
    api.post(
        f"/api/v1/cases/{waiting['id']}/materials",
        json={"version": current["version"], "received": HOMESTEAD_MATERIALS},
    )
    look_up(page, sample_app, typed_no, typed_code)
    assert page.locator("#notice").count() == 0 and page.locator("#portal-paused").count() == 0
    assert "已收件" in page.inner_text("#case-status")
    shots(page, "supplements_in")

    # --- rejected: the reason, the decision, the routes of appeal, a rating to give ------------------------------
    rejected = reviewed(api, api.clean_homestead("王小明"))
    reason = "该户在本村已有宅基地一处（不动产登记簿），不符合一户一宅。"
    rejected = api.move(rejected, "reject", user="leader", reason=reason)
    code = api.codes[rejected["case_no"]]
    look_up(page, sample_app, rejected["case_no"], code)
    decision = page.inner_text("#decision")
    assert "不予行政许可决定书" in decision and "不符合一户一宅" in page.inner_text("#decision-reason")
    assert "行政复议" in page.inner_text("#appeal") and "行政诉讼" in page.inner_text("#appeal")
    assert page.locator("#deadline").count() == 0  # decided: no promise to keep any more
    fits_the_phone(page)
    shots(page, "rejected_with_reason")
    with page.expect_download() as saved:
        page.click("button[data-document=decision]")
    assert saved.value.suggested_filename == f"decision-{rejected['case_no']}.pdf"
    assert open(saved.value.path(), "rb").read(4) == b"%PDF"
    stars = page.locator("#rating-form input[name=stars]")
    assert stars.count() == 5 and all(not stars.nth(i).is_checked() for i in range(5))  # nothing chosen for them
    shots(page, "rating_unselected", at="#rating-form")
    page.click("#rating-form button.primary")  # nothing chosen: the browser asks for a choice, nothing is sent
    assert page.locator("#rating-form").count() == 1
    assert page.evaluate("document.querySelector('#rating-form input[name=stars]').validationMessage") != ""
    page.check("#rating-form input[value='4']")
    page.fill("#rating-form textarea[name=comment]", "窗口解释得很清楚。")
    page.click("#rating-form button.primary")
    page.wait_for_selector("#flash")
    assert "感谢您的评价" in page.inner_text("#flash") and "★★★★" in page.inner_text("aside")
    shots(page, "rated")

    # --- approved: the certificate to download ---------------------------------------------------------------------
    approved = reviewed(api, api.clean_homestead("张建华"))
    approved = api.move(approved, "approve", user="leader")
    old_code = api.codes[approved["case_no"]]
    look_up(page, sample_app, approved["case_no"].lower(), old_code.lower())
    assert "准予行政许可决定书" in page.inner_text("#decision") and page.locator("#appeal").count() == 0
    with page.expect_download() as saved:
        page.click("button[data-document=certificate]")
    assert saved.value.suggested_filename == f"certificate-{approved['case_no']}.pdf"
    assert open(saved.value.path(), "rb").read(4) == b"%PDF"
    tiles_loaded(page)
    shots(page, "approved_certificate")

    # --- a lost code: the clerk reissues it; the old one stops working ---------------------------------------------
    clerk = Tab(browser)
    cp = clerk.page
    cp.goto(f"{sample_app}/login")
    cp.fill("input[name=username]", "clerk")
    cp.fill("input[name=password]", "clerk-demo-2026")
    cp.click("form button.primary")
    cp.wait_for_url("**/workbench")
    cp.goto(f"{sample_app}/cases/{approved['id']}")
    cp.click("#reissue-code summary")
    cp.fill("#reissue-code input[name=checked]", "身份证原件已核验")
    shots(cp, "clerk_reissues_code", at="#reissue-code")
    cp.click("#reissue-code button")
    cp.wait_for_selector("#query-code")
    new_code = cp.inner_text("#query-code b.code").strip()
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{8}", new_code) and new_code != old_code
    assert "补发查询码" in cp.inner_text("#timeline") and "身份证原件已核验" in cp.inner_text("#timeline")
    shots(cp, "clerk_new_code")
    look_up(page, sample_app, approved["case_no"], old_code)
    assert "案件编号或查询码不正确" in page.inner_text("#portal-error")
    shots(page, "old_code_refused")
    look_up(page, sample_app, approved["case_no"], new_code)
    assert "准予行政许可决定书" in page.inner_text("#decision")

    statuses, others = console_problems(phone.errors)
    assert statuses == [404] and others == [], phone.errors  # the old code, refused as meant
    assert clerk.errors == [], clerk.errors
    phone.close()
    clerk.close()
