"""The applicant portal: the own case with the query code, nobody else's, and the rating once decided."""

import re

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import mapping

from tests.support.onemap import b, lonlat


@pytest.fixture
def portal(api, one_map):
    client = api.client
    plot = {"type": "Feature", "properties": {}, "geometry": mapping(lonlat(b(40, 240, 52, 252)))}
    mine = api.post(
        "/api/v1/cases",
        json={"kind": "homestead", "applicant_name": "张三丰", "household_id": "HH8", "boundary": plot},
    ).json()
    other = api.post(
        "/api/v1/cases",
        json={"kind": "homestead", "applicant_name": "李四", "household_id": "HH9", "boundary": plot},
    ).json()
    yield client, api, mine, other


def _csrf(client: TestClient) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/portal").text).group(1)


def test_applicant_sees_their_plot_and_nobody_elses(portal):
    client, api, mine, other = portal
    token = _csrf(client)
    r = client.post("/portal", data={"csrf_token": token, "case_no": mine["case_no"], "query_code": mine["query_code"]})
    assert r.status_code == 200
    assert mine["case_no"] in r.text and "张**" in r.text and "张三丰" not in r.text
    assert "144.00 ㎡（0.2160 亩）" in r.text
    assert "folium-map" in r.text or "leaflet" in r.text.lower()
    r = client.post(
        "/portal", data={"csrf_token": token, "case_no": other["case_no"], "query_code": mine["query_code"]}
    )
    assert r.status_code == 404 and "wrong case number or query code" in r.text and "李四" not in r.text
    r = client.post(
        "/portal", data={"csrf_token": "forged", "case_no": mine["case_no"], "query_code": mine["query_code"]}
    )
    assert r.status_code == 403


def test_rating_form_once_decided(portal):
    client, api, mine, other = portal
    token = _csrf(client)
    form = {"csrf_token": token, "case_no": mine["case_no"], "query_code": mine["query_code"]}
    assert 'action="/portal/rate"' not in client.post("/portal", data=form).text
    api.move(mine, "refuse", reason="申请人撤回")
    assert 'action="/portal/rate"' in client.post("/portal", data=form).text
    r = client.post("/portal/rate", data={**form, "stars": 5, "comment": "快"})
    assert r.status_code == 200 and "感谢您的评价" in r.text and "★★★★★" in r.text
    r = client.post("/portal/rate", data={**form, "stars": 1})
    assert "已评价" in r.text


@pytest.mark.browser
def test_the_portal_on_a_phone_and_the_workbench_on_a_laptop(sample_app):
    from tests.conftest import unavailable
    from tests.support.browser import browser_page, chromium_path, screenshot
    from tests.support.live import LiveApi

    if not chromium_path():
        unavailable("Debian's chromium is not installed (scripts/setup installs it)")
    api = LiveApi(sample_app)
    created = api.clean_homestead("王小明")
    api.move(created, "accept")
    with browser_page(390, 844, mobile=True) as (page, requests, errors):
        page.goto(f"{sample_app}/portal")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.fill("input[name=case_no]", created["case_no"])
        page.fill("input[name=query_code]", created["query_code"])
        page.click("button.primary")
        page.wait_for_selector("#progress")
        page.wait_for_function("document.querySelectorAll('.leaflet-tile-loaded').length > 2", timeout=15000)
        page.wait_for_timeout(400)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        for sel in ("#case-status", "#deadline", "#progress", "#map-wrap", "#plot-area"):
            box = page.locator(sel).bounding_box()
            assert box is not None and box["width"] > 0 and box["x"] >= 0 and box["x"] + box["width"] <= 390, (sel, box)
        assert "受理" in page.inner_text("#progress") and "王**" in page.inner_text("#case-status")
        layers = page.locator(".leaflet-control-layers")
        assert "leaflet-control-layers-expanded" not in layers.get_attribute("class")  # folded on a phone
        screenshot(page, "portal_phone.png")
        map_box = page.locator("#map-wrap").bounding_box()
        assert 280 <= map_box["height"] <= 0.6 * 844, map_box  # the plot visible, the progress reachable below it
        assert (
            page.locator("path[stroke='#1f5fbf' i]").count() >= 1
            or page.locator(".leaflet-overlay-pane path").count() >= 1
        )
        page.screenshot(path=str(screenshot(page, "portal_phone_full.png")), full_page=True)
    with browser_page(1366, 768) as (page, requests, more_errors):
        page.goto(f"{sample_app}/login")
        page.fill("input[name=username]", "clerk")
        page.fill("input[name=password]", "clerk-demo-2026")
        page.click("button.primary")
        page.wait_for_url(f"{sample_app}/workbench")
        assert page.locator(f"#all-cases >> text={created['case_no']}").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366
        screenshot(page, "workbench_laptop.png")
        page.goto(f"{sample_app}/workbench?lang=en")
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366
    assert errors == [] and more_errors == [], errors + more_errors
