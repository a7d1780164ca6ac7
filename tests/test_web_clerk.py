"""The clerk's flow in a real headless Chromium: log in, upload a TXT, see the blocking overlap in red, take it in,
print the one-time notice — with every request on localhost."""

from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import unavailable
from tests.support.browser import browser_page, chromium_path, screenshot

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
        assert "block" in page.inner_text("#check-report h2")
        assert "HS-BF" in page.inner_text("#check-report") and "永久基本农田 42.00 平方米（0.063 亩）" in page.inner_text("#check-report")
        page.wait_for_function("document.querySelectorAll('.leaflet-tile-loaded').length > 2", timeout=15000)
        red = page.locator("path[stroke='#c8102e' i]")
        assert red.count() >= 1  # the conflict, drawn in red over the map
        page.wait_for_timeout(400)
        screenshot(page, "clerk_intake_check.png")
        page.click("button[value=create]")
        page.wait_for_url("**/cases/*?code=*")
        assert page.locator("b.code").inner_text().strip().isalnum()
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
