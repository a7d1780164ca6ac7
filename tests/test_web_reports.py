"""The reports API and pages over the hand-built March: figures, downloads, the callback page and who may see what."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from tests.conftest import unavailable
from tests.support.api import Api
from tests.support.browser import browser_page, chromium_path, screenshot
from tests.test_statistics import CLERK2_ROW, TOTAL_ROW, build_march, window  # noqa: F401
from web.app import create_app

KEY = "reports-secret-key-0123456789abcdef"


@pytest.fixture
def march(make_settings, window, db_url, staff, tmp_path):  # noqa: F811
    cases = build_march(window)
    with TestClient(create_app(make_settings(secret_key=KEY))) as client:
        yield {"client": client, "api": Api(client, {**staff}), "cases": cases}


def login(client: TestClient, username: str, password: str) -> None:
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    r = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def cells(html: str, key: str) -> list[str]:
    row = re.search(rf'<tr data-group="\w+" data-key="{key}">(.*?)</tr>', html, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def shown(value) -> str:
    return "—" if value is None else f"{value:.2f}" if isinstance(value, float) else str(value)


def test_the_statistics_api_and_downloads(march):
    api = march["api"]
    r = api.get("/api/v1/reports/monthly?month=2026-03", as_="leader")
    assert r.status_code == 200
    body = r.json()
    assert body["month"] == "2026-03" and [c["key"] for c in body["columns"]][:2] == ["carried_over", "received"]
    assert {k: body["total"][k] for k in TOTAL_ROW} == TOTAL_ROW
    assert [(c["township"], c["cases"]) for c in body["conversions"]] == [("向阳镇", 1), ("桂花镇", 2)]

    r = api.get("/api/v1/reports/monthly.csv?month=2026-03", as_="planner")
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.headers["content-disposition"] == 'attachment; filename="monthly-2026-03.csv"'
    assert r.content.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    total = next(row for row in rows if row[:1] == ["合计 Total"])
    assert total[2:4] == ["2", "6"]

    r = api.get("/api/v1/reports/monthly.xlsx?month=2026-03", as_="admin")
    assert r.status_code == 200 and r.headers["content-disposition"] == 'attachment; filename="monthly-2026-03.xlsx"'
    sheet = load_workbook(io.BytesIO(r.content))["办件统计 Cases"]
    assert [c.value for c in sheet[sheet.max_row]][2:6] == [2, 6, 3, 2]

    for who, code in (
        ("clerk", 403),
        ("rev-village", 403),
        ("leader", 200),
        ("planner", 200),
        ("admin", 200),
        (None, 401),
    ):
        for path in ("/api/v1/reports/monthly", "/api/v1/reports/monthly.csv", "/api/v1/reports/monthly.xlsx"):
            assert api.get(f"{path}?month=2026-03", as_=who).status_code == code, (who, path)
    r = api.get("/api/v1/reports/monthly?month=2026-3", as_="leader")
    assert r.status_code == 422 and "YYYY-MM" in r.json()["detail"]


def test_the_callbacks_api(march):
    api, cases = march["api"], march["cases"]
    assert api.get("/api/v1/reports/callbacks?month=2026-03", as_="leader").status_code == 404
    for who, code in (("clerk", 403), ("planner", 403), ("rev-village", 403), (None, 401)):
        assert api.post("/api/v1/reports/callbacks", as_=who, json={"month": "2026-03", "seed": 9}).status_code == code
        assert api.get("/api/v1/reports/callbacks?month=2026-03", as_=who).status_code == code
    r = api.post("/api/v1/reports/callbacks", as_="leader", json={"month": "2026-03", "size": 4, "seed": 9})
    assert r.status_code == 201, r.text
    sample = r.json()
    assert (sample["seed"], sample["population"], len(sample["entries"])) == (9, 4, 4)
    assert all(re.fullmatch(r"\d{3}\*+\d{4}", e["phone"]) for e in sample["entries"])  # masked in the API
    assert (
        api.post("/api/v1/reports/callbacks", as_="admin", json={"month": "2026-03", "size": 4, "seed": 9}).status_code
        == 200
    )
    r = api.post("/api/v1/reports/callbacks", as_="admin", json={"month": "2026-03", "seed": 10})
    assert r.status_code == 409 and r.json()["seed"] == 9
    h2 = cases["H2"].case_no
    assert (
        api.post(f"/api/v1/reports/callbacks/{h2}/outcome", as_="clerk", json={"outcome": "satisfied"}).status_code
        == 403
    )
    r = api.post(
        f"/api/v1/reports/callbacks/{h2}/outcome", as_="admin", json={"outcome": "dissatisfied", "note": "补正来回两次"}
    )
    assert r.status_code == 200 and r.json()["outcome"] == "dissatisfied"
    r = api.get("/api/v1/reports/callbacks?month=2026-03", as_="leader").json()
    assert r["summary"]["dissatisfied"] == 1 and r["summary"]["pending"] == 3


def test_the_pages_for_a_leader(march):
    client = march["client"]
    login(client, "leader", "leader-demo-2026")
    r = client.get("/reports/monthly?month=2026-03")
    assert r.status_code == 200
    html = r.text
    assert cells(html, "clerk2") == [shown(CLERK2_ROW[k]) for k in CLERK2_ROW]
    assert cells(html, "")[:8] == ["2", "6", "3", "2", "4", "3", "1", "4"]  # the total row
    assert "向阳镇" in html and "2,500.00" in html and "3.7500" in html
    assert (
        'href="/api/v1/reports/monthly.xlsx?month=2026-03"' in html and 'href="/reports/monthly?month=2026-02"' in html
    )
    assert (
        client.get("/api/v1/reports/monthly.xlsx?month=2026-03").status_code == 200
    )  # the link works with the session

    page = client.get("/callbacks?month=2026-03").text
    assert 'id="draw-form"' in page
    r = client.post(
        "/callbacks/draw",
        data={"csrf_token": csrf(page), "month": "2026-03", "size": "3", "seed": "21"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/callbacks?month=2026-03"
    page = client.get("/callbacks?month=2026-03").text
    phones = re.findall(r'<td class="phone"><a href="tel:([^"]+)">', page)
    assert len(phones) == 3 and all(re.fullmatch(r"\d{11}", p) for p in phones)  # in full, on this page only
    first = re.findall(r'name="case_no" value="([^"]+)"', page)[0]
    r = client.post(
        "/callbacks/record",
        data={"csrf_token": csrf(page), "month": "2026-03", "case_no": first, "outcome": "satisfied", "note": "很满意"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get("/callbacks?month=2026-03").text
    assert "✓ 满意" in page and 'value="很满意"' in page
    r = client.post(
        "/callbacks/record", data={"csrf_token": csrf(page), "month": "2026-03", "case_no": first, "outcome": "meh"}
    )
    assert r.status_code == 422 and "unknown outcome" in r.text
    assert (
        client.post(
            "/callbacks/record",
            data={"csrf_token": "forged", "month": "2026-03", "case_no": first, "outcome": "satisfied"},
        ).status_code
        == 403
    )


def test_the_pages_refuse_a_clerk(march):
    client = march["client"]
    login(client, "clerk", "clerk-demo-2026")
    r = client.get("/reports/monthly?month=2026-03")
    assert r.status_code == 403 and "only leaders, planners and administrators" in r.text
    r = client.get("/callbacks?month=2026-03")
    assert r.status_code == 403 and "only leaders and administrators" in r.text and "1380000" not in r.text
    assert 'href="/reports/monthly"' not in client.get("/workbench").text  # no nav link either


@pytest.mark.browser
def test_the_monthly_page_in_chromium(make_settings, window, db_url, staff, tmp_path):  # noqa: F811
    if not chromium_path():
        unavailable("Debian's chromium is not installed (scripts/setup installs it)")
    from web.server import serving

    build_march(window)
    with serving(make_settings(secret_key=KEY)) as url:
        with browser_page(width=1600, height=900) as (page, requests, errors):
            page.goto(f"{url}/reports/monthly?month=2026-03")
            page.fill("input[name=username]", "leader")
            page.fill("input[name=password]", "leader-demo-2026")
            page.click("button.primary")
            page.wait_for_selector("#monthly-figures")  # the login comes back to the page (its path, this month)
            page.goto(f"{url}/reports/monthly?month=2026-03")
            total = page.locator("tbody.total td").all_inner_texts()
            assert total[:8] == ["2", "6", "3", "2", "4", "3", "1", "4"]
            screenshot(page, "reports_monthly.png")
            page.goto(f"{url}/callbacks?month=2026-03")
            page.fill("input[name=seed]", "21")
            page.click("#draw-form button")
            page.wait_for_selector("#callback-sample")
            assert page.locator("#callback-sample tbody tr").count() == 4
            first = page.locator("form.callback-form").first
            first.locator("select").select_option("basically_satisfied")
            first.locator("input[name=note]").fill("希望缩短等待时间")
            first.locator("button").click()
            page.wait_for_selector("small.recorded")
            assert "基本满意" in page.inner_text("#callback-sample tbody tr:first-child")
            screenshot(page, "callbacks.png")
        hosts = {urlparse(u).netloc for u in requests if u.startswith("http")}
        assert hosts == {urlparse(url).netloc}, hosts
        assert errors == [], errors
