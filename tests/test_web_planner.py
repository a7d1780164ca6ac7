"""The planner's pages: conversions on the map and in a table with filters and totals, and the audit page."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient

from tests import test_statistics
from tests.conftest import unavailable
from tests.support.browser import browser_page, chromium_path, screenshot
from tests.support.onemap import b
from tests.test_conversions import build
from web.app import create_app

KEY = "planner-secret-key-0123456789abcdef"
window = test_statistics.window  # the hand-built window; build() adds conversions A and B approved, C pending


def login(client: TestClient, username: str, password: str) -> None:
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    r = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303


def listed(html: str) -> list[str]:
    return re.findall(r'<tr data-case="([^"]+)">', html)


def totals(html: str, state: str) -> list[str]:
    row = re.search(rf'<tr data-state="{state}">(.*?)</tr>', html, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def test_the_planner_page_filters_and_totals(make_settings, window, db_url, staff, tmp_path, load_layer):
    c = build(window)
    a, h, pending = (c[k].case_no for k in ("A", "B", "C"))
    with TestClient(create_app(make_settings(secret_key=KEY))) as client:
        login(client, "planner", staff["planner"]["password"])
        html = client.get("/planner").text
        assert listed(html) == [a, pending, h]
        assert totals(html, "approved") == ["2", "5,100.00", "7.65", "5,100.00", "7.65"]
        assert totals(html, "pending") == ["1", "5,000.00", "7.50", "5,000.00", "7.50"]
        assert totals(html, "all")[:2] == ["3", "10,100.00"]
        assert "<script" in html and "/static/" in html and "cdn" not in html.lower()
        html = client.get("/planner", params={"township": "桂花镇", "from": "2026-03-07"}).text
        assert listed(html) == [pending]
        assert 'value="2026-03-07"' in html and '<option value="桂花镇" selected>' in html
        html = client.get("/planner", params={"land_class": "03"}).text
        assert listed(html) == [] and "没有符合条件的农用地转用" in html
        r = client.get("/planner", params={"from": "7 March"})
        assert r.status_code == 422 and "from must be a date YYYY-MM-DD" in r.text
        english = client.get("/planner?lang=en").text
        assert "Farmland conversions" in english and "Approved" in english

        load_layer(
            "basic_farmland", [{"patch_no": "BF1"}, {"patch_no": "BF2"}], [b(0, 0, 100, 100), b(120, 0, 200, 100)]
        )
        audit = client.get("/planner/audit").text
        assert re.findall(r'<tr class="disagrees" data-case="([^"]+)">', audit) == [a, h]
        assert "RQ-BF" in audit and "3000.00 ㎡" in audit and "basic_farmland" in audit
        assert 'href="/api/v1/conversions/audit.gpkg"' in audit

        login(client, "clerk", staff["clerk"]["password"])
        r = client.get("/planner")
        assert r.status_code == 403 and "only planners, leaders and administrators" in r.text and a not in r.text
        assert client.get("/planner/audit").status_code == 403


@pytest.mark.browser
def test_the_planner_filters_conversions_in_chromium(make_settings, window, db_url, staff, tmp_path):
    if not chromium_path():
        unavailable("Debian's chromium is not installed (scripts/setup installs it)")
    from web.server import serving

    c = build(window)
    window.s.commit()
    with serving(make_settings(secret_key=KEY)) as url:
        with browser_page(width=1366, height=768) as (page, requests, errors):
            page.goto(f"{url}/planner")
            page.fill("input[name=username]", "planner")
            page.fill("input[name=password]", staff["planner"]["password"])
            page.click("button.primary")
            page.wait_for_selector("#conversion-list")
            # the three conversions drawn on the map, and the layers' tiles fetched and painted
            page.wait_for_function(
                "document.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive').length === 3"
            )
            page.wait_for_function("[...document.querySelectorAll('canvas.leaflet-tile')].some(c => c.width > 0)")
            assert any("/tiles/" in u and ".pbf" in u for u in requests)
            screenshot(page, "planner.png")
            page.select_option("select[name=township]", "桂花镇")
            page.click("#conversion-filter button.primary")
            page.wait_for_selector("#conversion-list")
            rows = page.locator("#conversion-list tbody tr").evaluate_all("rs => rs.map(r => r.dataset.case)")
            assert rows == [c["C"].case_no, c["B"].case_no]
            page.wait_for_function(
                "document.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive').length === 2"
            )
            assert page.inner_text("#conversion-totals tr[data-state=all] td.cultivated") == "5,100.00"
            page.locator(".leaflet-overlay-pane path.leaflet-interactive").first.click()
            page.wait_for_selector(".leaflet-popup-content")
            assert c["C"].case_no in page.inner_text(".leaflet-popup-content") or c["B"].case_no in page.inner_text(
                ".leaflet-popup-content"
            )
            screenshot(page, "planner_filtered.png")
        hosts = {urlparse(u).netloc for u in requests if u.startswith("http")}
        assert hosts == {urlparse(url).netloc}, hosts
        assert errors == [], errors
