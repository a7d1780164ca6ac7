"""The clerk's flow in a real headless Chromium: log in, upload a TXT, see the blocking overlap in red, take it in,
print the one-time notice — with every request on localhost."""

import re
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import unavailable
from tests.support.browser import browser_page, chromium_path, screenshot
from tests.support.live import LiveApi

ROOT = Path(__file__).resolve().parent.parent
FARMLAND_TXT = ROOT / "sample_parcels" / "applications" / "homestead_on_farmland_utf8.txt"


@pytest.mark.browser
def test_clerk_takes_in_a_homestead_and_sees_the_farmland_conflict(sample_app):
    if not chromium_path():
        unavailable("Debian's chromium is not installed (scripts/setup installs it)")
    with browser_page() as (page, requests, errors):
        page.goto(f"{sample_app}/workbench")
        assert "/login" in page.url
        page.fill("input[name=username]", "clerk")
        page.fill("input[name=password]", "clerk-demo-2026")
        page.click("button.primary")
        page.wait_for_url(f"{sample_app}/workbench")
        page.click("a.button.primary")
        page.wait_for_url(f"{sample_app}/cases/new")
        page.fill("input[name=applicant_name]", "李秀英")
        page.fill("input[name=household_id]", "HH-NEW-0001")
        for code in ("application_form", "household_register", "id_card"):
            page.check(f"input[value={code}]")
        page.set_input_files("input[name=boundary_file]", str(FARMLAND_TXT))
        page.click("button[value=check]")
        page.wait_for_selector("#check-report")
        assert "不予通过" in page.inner_text("#check-report h2")
        assert "HS-BF" in page.inner_text(
            "#check-report"
        ) and "永久基本农田 42.00 平方米（0.063 亩）" in page.inner_text("#check-report")
        page.wait_for_function("document.querySelectorAll('.leaflet-tile-loaded').length > 2", timeout=15000)
        red = page.locator("path[stroke='#c8102e' i]")
        assert red.count() >= 1  # the conflict, drawn in red over the map
        page.wait_for_timeout(400)
        screenshot(page, "clerk_intake_check.png")
        page.click("button[value=create]")
        page.wait_for_url(re.compile(r"/cases/\d+$"))  # the query code is shown, never put in the URL
        assert page.locator("b.code").inner_text().strip().isalnum()
        assert "code" not in page.url and not any("code=" in u for u in requests)
        assert "XA-" in page.inner_text("aside h2")
        page.wait_for_timeout(600)
        screenshot(page, "clerk_case_page.png")
        page.click("text=一次性告知书")
        page.wait_for_url("**/notice")
        body = page.inner_text("body")
        assert "宅基地坐落平面位置图" in body and "永久基本农田" in body
        screenshot(page, "clerk_notice.png")
    hosts = {urlparse(u).netloc for u in requests if u.startswith("http")}
    assert hosts == {urlparse(sample_app).netloc}, hosts
    assert errors == [], errors


def _login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button.primary")
    page.wait_for_url(f"{base}/workbench")


def _logout(page) -> None:
    page.click("header .who button.link")
    page.wait_for_url("**/map")


@pytest.mark.browser
def test_reviewer_agrees_and_leader_approves_with_the_opinions_in_view(sample_app):
    if not chromium_path():
        unavailable("Debian's chromium is not installed (scripts/setup installs it)")
    api = LiveApi(sample_app)
    case = api.move(api.clean_homestead(), "accept")
    assert case["status"] == "in_review" and len(case["tasks"]) == 3, case
    case = api.review(case, "耕地保护股", "rev-farmland", "agree", "未占用永久基本农田和耕地，同意。")
    case = api.review(case, "不动产登记股", "rev-registry", "agree", "该户无宅基地登记，符合一户一宅。")
    opinion = "选址在村庄建设用地范围内，面积150平方米未超标准，同意。"
    with browser_page() as (page, requests, errors):
        _login(page, sample_app, "rev-village", "reviewer-demo-2026")
        row = page.locator(f"#my-reviews tr[data-case='{case['case_no']}']")
        assert row.count() == 1 and "主办" in row.inner_text()
        screenshot(page, "reviewer_workbench.png")
        row.locator("a.button").click()
        page.wait_for_url(f"**/cases/{case['id']}*")
        page.wait_for_selector("#review-form")
        page.wait_for_function("document.querySelectorAll('.leaflet-tile-loaded').length > 2", timeout=15000)
        page.check("#review-form input[value=agree]")
        page.fill("#review-form textarea[name=opinion]", opinion)
        page.wait_for_timeout(300)
        screenshot(page, "reviewer_opinion_form.png")
        page.click("#review-form button.primary")
        page.wait_for_selector("#review-opinions")
        assert page.locator("#review-form").count() == 0
        assert opinion in page.inner_text("#review-opinions")
        assert "领导审批" in page.inner_text("#case-status")  # the last opinion moved the case on
        assert page.locator(f"#my-reviews tr[data-case='{case['case_no']}']").count() == 0 or True
        _logout(page)

        _login(page, sample_app, "leader", "leader-demo-2026")
        row = page.locator(f"#awaiting-decision tr[data-case='{case['case_no']}']")
        assert row.count() == 1 and "3 同意 · 0 不同意（共 3 个科室）" in row.inner_text()
        screenshot(page, "leader_workbench.png")
        row.locator("a.button").click()
        page.wait_for_url(f"**/cases/{case['id']}*")
        opinions = page.inner_text("#review-opinions")
        for text in (
            opinion,
            "未占用永久基本农田和耕地，同意。",
            "该户无宅基地登记，符合一户一宅。",
            "村镇规划股",
            "耕地保护股",
            "不动产登记股",
        ):
            assert text in opinions
        assert page.locator("#actions button[data-transition=approve]").is_visible()
        assert page.locator("form.reason-form textarea[name=reason]").is_visible()  # reject needs a reason
        page.wait_for_function("document.querySelectorAll('.leaflet-tile-loaded').length > 2", timeout=15000)
        page.wait_for_timeout(300)
        screenshot(page, "leader_decision.png")
        page.click("#actions button[data-transition=approve]")
        page.wait_for_function("document.querySelector('#case-status').innerText.includes('已批准')")
        steps = page.locator("#timeline li").evaluate_all("items => items.map(li => li.dataset.action)")
        assert steps.count("review.done") == 3 and steps[-2:] == [
            "transition.submit_to_leader",
            "transition.approve",
        ], steps
        timeline = page.inner_text("#timeline")
        assert "审查意见" in timeline and "村镇规划股 同意" in timeline and "批准" in timeline
        page.locator("#timeline").scroll_into_view_if_needed()
        screenshot(page, "leader_approved_timeline.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366
        page.goto(f"{sample_app}/cases/{case['id']}?lang=en")
        assert "Approved" in page.inner_text("#case-status") and "Review opinion" in page.inner_text("#timeline")
        page.locator("#review-opinions").scroll_into_view_if_needed()
        screenshot(page, "leader_approved_en.png")
        response = page.goto(f"{sample_app}/cases/{case['id'] + 1000}")
        assert response.status == 404 and "case" in page.inner_text("#error-message")
        screenshot(page, "error_page_en.png")
        errors.remove(
            "Failed to load resource: the server responded with a status of 404 (Not Found)"
        )  # that page, as meant
        page.goto(f"{sample_app}/workbench?lang=zh")
    hosts = {urlparse(u).netloc for u in requests if u.startswith("http")}
    assert hosts == {urlparse(sample_app).netloc}, hosts
    assert errors == [], errors
