"""Reviewers and leaders on the web pages: the review worklist, the opinion form, the leader's queue and decision;
domain errors on page routes as HTML pages with their 4xx status while the API keeps JSON."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.test_cases_api import homestead


@pytest.fixture
def web(api, one_map):
    client = api.client
    case = homestead(api).json()
    case = api.move(case, "accept").json()
    assert case["status"] == "in_review", case
    yield client, api, case


def login(client: TestClient, username: str, password: str) -> None:
    client.cookies.clear()
    token = csrf(client.get("/login").text)
    r = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303, r.text


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def section(html: str, id_: str) -> str:
    m = re.search(rf'<(\w+)[^>]* id="{id_}"[^>]*>(.*?)</\1>', html, re.S)
    return m.group(2) if m else ""


def review(client: TestClient, case_id: int, result: str, opinion: str, lang: str = "") -> object:
    page = client.get(f"/cases/{case_id}{lang}").text
    form = section(page, "review-form")
    action = re.search(r'action="(/cases/\d+/tasks/\d+)"', page).group(1)
    version = re.search(r'name="version" value="(\d+)"', form).group(1)
    return client.post(
        action,
        data={"csrf_token": csrf(page), "version": version, "result": result, "opinion": opinion},
        follow_redirects=False,
    )


def test_reviewers_give_opinions_and_the_leader_decides_with_them_in_view(web):
    client, api, case = web
    login(client, "rev-village", "reviewer-demo-2026")
    bench = client.get("/workbench").text
    assert case["case_no"] in section(bench, "my-reviews") and "主办" in section(bench, "my-reviews")
    assert 'id="awaiting-decision"' not in bench
    page = client.get(f"/cases/{case['id']}").text
    assert (
        'id="review-form"' in page
        and 'name="result" value="agree"' in page
        and "村镇规划股" in section(page, "review-opinions")
    )
    # no result chosen: the case page again with what is missing, 422
    r = client.post(
        re.search(r'action="(/cases/\d+/tasks/\d+)"', page).group(1),
        data={"csrf_token": csrf(page), "version": case["version"], "opinion": "同意"},
    )
    assert r.status_code == 422 and "result must be" in r.text and 'id="case-error"' in r.text and "folium" in r.text
    r = review(client, case["id"], "agree", "选址位于村庄建设用地范围内，同意。")
    assert r.status_code == 303
    page = client.get(f"/cases/{case['id']}").text
    assert 'id="review-form"' not in page and "选址位于村庄建设用地范围内，同意。" in section(page, "review-opinions")
    assert case["case_no"] not in section(client.get("/workbench").text, "my-reviews")

    # a reviewer of a department without a task on the case does not see it at all (an HTML 404)
    login(client, "rev-mineral", "reviewer-demo-2026")
    assert case["case_no"] not in client.get("/workbench").text
    r = client.get(f"/cases/{case['id']}")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html") and 'id="error-page"' in r.text

    login(client, "rev-farmland", "reviewer-demo-2026")
    assert review(client, case["id"], "agree", "不占用耕地。", lang="?lang=en").status_code == 303
    login(client, "rev-registry", "reviewer-demo-2026")
    assert review(client, case["id"], "disagree", "该户已有宅基地登记，需核实。").status_code == 303

    login(client, "leader", "leader-demo-2026")
    bench = client.get("/workbench").text
    waiting = section(bench, "awaiting-decision")
    assert case["case_no"] in waiting and "领导审批" in waiting and "2 同意 · 1 不同意（共 3 个科室）" in waiting
    page = client.get(f"/cases/{case['id']}").text
    opinions = section(page, "review-opinions")
    for text in ("选址位于村庄建设用地范围内，同意。", "不占用耕地。", "该户已有宅基地登记，需核实。", "不同意"):
        assert text in opinions
    assert 'data-transition="approve"' in page and 'data-transition="reject"' in page and 'name="reason"' in page
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    # rejecting needs a reason: the page again, 422, nothing changed
    r = client.post(
        f"/cases/{case['id']}/act",
        data={"csrf_token": csrf(page), "transition": "reject", "version": version, "reason": " "},
    )
    assert r.status_code == 422 and "needs a reason" in r.text and "领导审批" in r.text
    # 不动产登记股 disagreed: approving asks for a confirmation first (409, nothing changed), then goes through
    assert 'id="confirm-approve"' in page and "我已阅读不同意意见，仍予批准" in page
    r = client.post(
        f"/cases/{case['id']}/act",
        data={"csrf_token": csrf(page), "transition": "approve", "version": version},
        follow_redirects=False,
    )
    assert r.status_code == 409 and "不动产登记股 不同意，批准前请确认已阅读其意见" in r.text
    assert "领导审批" in section(r.text, "case-status")
    r = client.post(
        f"/cases/{case['id']}/act",
        data={"csrf_token": csrf(page), "transition": "approve", "version": version, "confirmed": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/cases/{case['id']}?lang=en").text
    assert "Approved" in section(page, "case-status")
    steps = re.findall(r'<li data-action="([\w.]+)">', section(page, "timeline"))
    assert steps.count("review.done") == 3 and steps[-2:] == ["transition.submit_to_leader", "transition.approve"], (
        steps
    )
    assert "case.view_personal" not in steps
    assert case["case_no"] not in section(client.get("/workbench").text, "awaiting-decision")


def test_domain_errors_on_pages_are_html_and_on_the_api_json(web):
    client, api, case = web
    login(client, "clerk", "clerk-demo-2026")
    r = client.get("/cases/999999")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert 'id="error-page"' in r.text and "case 999999 not found" in r.text and "GET /cases/999999" in r.text
    assert 'href="/static/app.css"' in r.text or "app.css" in r.text
    r = client.get("/cases/999999?lang=en")
    assert (
        r.status_code == 404
        and "Not found" in r.text
        and "case 999999 not found" in r.text
        and "案件不存在" not in section(r.text, "error-page")
    )
    r = api.get("/api/v1/cases/999999")
    assert r.status_code == 404 and r.headers["content-type"] == "application/json" and r.json()["error"] == "NotFound"

    # stale version: the case page again with the message and 409
    page = client.get(f"/cases/{case['id']}").text
    r = client.post(
        f"/cases/{case['id']}/act", data={"csrf_token": csrf(page), "transition": "submit_to_leader", "version": 1}
    )
    assert r.status_code == 409 and "reload and try again" in r.text and 'id="case-error"' in r.text
    r = api.post(f"/api/v1/cases/{case['id']}/transitions", json={"transition": "submit_to_leader", "version": 1})
    assert r.status_code == 409 and r.json()["error"] == "Conflict"

    # a role that may not: 403 on the page, 403 JSON on the API
    r = client.post(
        f"/cases/{case['id']}/act", data={"csrf_token": csrf(page), "transition": "approve", "version": case["version"]}
    )
    assert r.status_code in (403, 409) and r.headers["content-type"].startswith("text/html")
    login(client, "rev-village", "reviewer-demo-2026")
    page = client.get(f"/cases/{case['id']}").text
    r = client.post(f"/cases/{case['id']}/notice", data={"csrf_token": csrf(page)})
    assert (
        r.status_code == 403
        and "only clerks issue notices" in r.text
        and r.headers["content-type"].startswith("text/html")
    )
    r = api.post(f"/api/v1/cases/{case['id']}/notices", as_="rev-village")
    assert r.status_code == 403 and r.headers["content-type"] == "application/json"

    # a form missing a field and an unknown page: HTML on pages, JSON under /api/
    r = client.post(f"/cases/{case['id']}/act", data={"csrf_token": csrf(page), "version": case["version"]})
    assert r.status_code == 422 and 'id="error-page"' in r.text and "transition" in r.text
    r = client.get("/no-such-page?lang=en")
    assert r.status_code == 404 and "There is no such page" in r.text
    r = client.get("/tiles/parcels/3/99/99.pbf")  # off the grid: a tile client gets JSON, not a page
    assert r.status_code == 400 and r.headers["content-type"] == "application/json"
    r = client.get("/api/v1/no-such-thing")
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"
    r = client.post("/api/v1/cases", headers=api.headers("clerk"), json={"kind": "homestead"})
    assert r.status_code == 422 and r.headers["content-type"] == "application/json"
