"""The authorization matrix, generated from one table: every route × every role × own/other case × session state.

Every route of the app (API, pages, documents, public pages and the API docs) must have a row: a test lists the
routes that have none. API rows authenticate with a bearer token; page rows (PAGE) with the session cookie, and their
forms carry the CSRF token. No session on a page is a redirect to the login page (303); on the API a 401.

Mutations are sent with a stale version: a role that may act gets 409 (the version), one that may not gets 403 —
permission is decided before anything else, so the table tests authorization and nothing changes. Where the thing
asked for does not exist (a filing package, a case outside the callback sample) a 404 after the role check shows
that the role passed it.
"""

import dataclasses
import json
import re
import time
from datetime import datetime
from unittest import mock

import pytest
import typer
from fastapi.testclient import TestClient
from shapely.geometry import mapping
from typer.testing import CliRunner

from service.access import permissions
from service.access.auth import TokenSigner
from service.cli.app import app as cli_app
from service.clocks.calendar import LOCAL_TZ
from service.core.settings import Settings
from service.reports.statistics import Month
from tests.support.api import Api, session_cookie
from tests.support.filing import XIANAN, members, write_chain
from tests.support.onemap import b, load_one_map, lonlat
from web.app import create_app

KEY = "matrix-secret-key-0123456789abcdef"
STAFF = {
    "clerk": "clerk",
    "rev_own": "rev-village",
    "rev_other": "rev-mineral",
    "leader": "leader",
    "planner": "planner",
    "admin": "admin",
}
WHO = [*STAFF, "anonymous", "forged", "expired"]
ALL_STAFF = {"clerk": 200, "rev_own": 200, "rev_other": 404, "leader": 200, "planner": 200, "admin": 200}
EVERY_STAFF = {**ALL_STAFF, "rev_other": 200}
NO_SESSION = {"anonymous": 401, "forged": 401, "expired": 401}
PAGE_NO_SESSION = {"anonymous": 303, "forged": 303, "expired": 303}
PAGE = "page"  # authenticated by the session cookie; forms carry the CSRF token


def _only(roles, ok, other=403, case=False):
    """The status per staff role: `ok` for the roles named, `other` for the rest (rev_other 404 on a case route)."""
    out = {who: (ok if who in roles else other) for who in STAFF}
    if case:
        out["rev_other"] = 404
    return out


def _everyone(status):
    return dict.fromkeys(WHO, status)


STATS = ("leader", "planner", "admin")  # monthly statistics and conversions
CALLBACKS = ("leader", "admin")
FILING_EXPORT = ("clerk", "leader", "admin")  # service/data/filing.toml
MONTH = str(Month.of(datetime.now(LOCAL_TZ)).previous())  # an ended month
DRAWN = {"kind": "homestead", "geojson": "drawn"}
ZIP = {"files": {"file": ("x.zip", b"not a zip", "application/zip")}}
RESPONSE = {"kind": "objection", "name": "李四", "phone": "13900139000", "content": "鱼塘在范围内"}

# (method, path, how, expected status per role); `how` is None, a JSON body, a marker, or {"page": form} /
# {"files": …} / {"data": …} / {"headers": …}
MATRIX = [
    # --- cases API
    ("GET", "/api/v1/cases", None, EVERY_STAFF),
    ("GET", "/api/v1/cases/{case_id}", None, ALL_STAFF),
    ("GET", "/api/v1/cases/{case_id}/audit", None, ALL_STAFF),
    ("GET", "/api/v1/cases/{case_id}/check", None, ALL_STAFF),
    ("GET", "/api/v1/cases/{case_id}/notices/latest", None, ALL_STAFF),
    ("GET", "/api/v1/cases/{case_id}/boundary.txt", None, ALL_STAFF),
    ("GET", "/api/v1/cases/{case_id}/boundary.gpkg", None, ALL_STAFF),
    ("GET", "/api/v1/auth/me", None, EVERY_STAFF),
    ("POST", "/api/v1/auth/logout", "logout", dict.fromkeys(STAFF, 204)),
    ("POST", "/api/v1/auth/token", "login", _everyone(200)),
    (
        "POST",
        "/api/v1/cases",
        "intake",
        {"clerk": 201, "admin": 201, "rev_own": 403, "rev_other": 403, "leader": 403, "planner": 403},
    ),
    (
        "POST",
        "/api/v1/cases/{case_id}/boundary",
        "boundary",
        {"clerk": 409, "rev_own": 403, "rev_other": 404, "leader": 403, "planner": 403, "admin": 409},
    ),
    (
        "POST",
        "/api/v1/cases/{case_id}/transitions",
        {"transition": "submit_to_leader", "version": 1},
        {"clerk": 409, "rev_own": 409, "rev_other": 404, "leader": 403, "planner": 403, "admin": 403},
    ),
    (
        "POST",
        "/api/v1/cases/{case_id}/transitions",
        {"transition": "approve", "version": 1},
        {"clerk": 403, "rev_own": 403, "rev_other": 404, "leader": 409, "planner": 403, "admin": 403},
    ),
    (
        "POST",
        "/api/v1/cases/{case_id}/materials",
        {"version": 1, "received": []},
        {"clerk": 409, "rev_own": 403, "rev_other": 404, "leader": 403, "planner": 403, "admin": 409},
    ),
    (
        "POST",
        "/api/v1/cases/{case_id}/override",
        {"version": 1, "reason": "特殊情况"},
        {"clerk": 403, "rev_own": 403, "rev_other": 404, "leader": 409, "planner": 403, "admin": 409},
    ),
    (
        "POST",
        "/api/v1/cases/{case_id}/tasks/{task_id}",
        {"version": 1, "result": "agree", "opinion": "同意"},
        {"clerk": 403, "rev_own": 409, "rev_other": 404, "leader": 403, "planner": 403, "admin": 409},
    ),
    ("POST", "/api/v1/cases/{case_id}/notices", None, _only(("clerk", "admin"), 201, case=True)),
    # site visits: the visit's transition names who may record it (clerk, reviewer); then the version is stale
    ("GET", "/api/v1/cases/{case_id}/visits", None, ALL_STAFF),
    (
        "POST",
        "/api/v1/cases/{case_id}/visits",
        {
            "data": {
                "version": "1",
                "step": "site_selection",
                "visited_on": "2026-11-30",
                "inspector": "刘强",
                "findings": "一致",
            },
            "files": {"photos": ("a.jpg", b"x", "image/jpeg")},
        },
        {"clerk": 409, "rev_own": 409, "rev_other": 404, "leader": 403, "planner": 403, "admin": 403},
    ),
    ("GET", "/api/v1/cases/{case_id}/visits/{visit_id}/photos/{photo_id}", None, dict.fromkeys(STAFF, 404)),
    # a homestead holds no mining right (404); its workflow has no renewal, and the version is stale (409)
    ("GET", "/api/v1/cases/{case_id}/mining-right", None, dict.fromkeys(STAFF, 404)),
    (
        "POST",
        "/api/v1/cases/{case_id}/mining-right",
        {"action": "renew", "version": 1, "valid_to": "2040-01-01"},
        {**dict.fromkeys(STAFF, 409), "rev_other": 404},
    ),
    (
        "POST",
        "/api/v1/recheck",
        None,
        {"clerk": 403, "rev_own": 403, "rev_other": 403, "leader": 200, "planner": 200, "admin": 200},
    ),
    ("POST", "/api/v1/checks", DRAWN, EVERY_STAFF),
    # --- applicants (the query code is the key; staff tokens change nothing)
    ("GET", "/api/v1/public/cases/{case_no}", "code", _everyone(200)),
    ("POST", "/api/v1/public/cases/{case_no}/rating", "rating", _everyone(409)),  # not decided yet
    # --- the online window (issue 19): public, limited per address; the staff's side asks case permissions
    ("POST", "/api/v1/public/applications/check", DRAWN, _everyone(200)),
    ("POST", "/api/v1/public/applications", "apply", _everyone(201)),
    ("POST", "/api/v1/public/cases/{case_no}/supplements", "supplement", _everyone(409)),  # no notice asks now
    ("GET", "/api/v1/public/register", None, _everyone(200)),
    ("GET", "/api/v1/public/announcements", None, _everyone(200)),
    ("GET", "/api/v1/public/announcements/{announcement_id}", None, _everyone(200)),
    ("POST", "/api/v1/public/announcements/{announcement_id}/responses", RESPONSE, _everyone(201)),
    ("GET", "/api/v1/cases/{case_id}/uploads", None, ALL_STAFF),
    ("GET", "/api/v1/cases/{case_id}/uploads/{upload_id}", None, dict.fromkeys(STAFF, 404)),  # the case has none
    ("POST", "/api/v1/cases/{case_id}/supplements/confirm", {"version": 1}, _only(("clerk", "admin"), 409, case=True)),
    (
        "POST",
        "/api/v1/cases/{case_id}/supplements/return",
        {"version": 1, "reason": "照片模糊"},
        _only(("clerk", "admin"), 409, case=True),
    ),
    (
        "POST",
        "/api/v1/cases/{case_id}/responses/{response_id}/answer",
        {"answer": "已核实"},
        _only(("clerk", "leader", "admin"), 404, case=True),  # no such response on the case
    ),
    # --- reports
    ("GET", f"/api/v1/reports/monthly?month={MONTH}", None, _only(STATS, 200)),
    ("GET", f"/api/v1/reports/monthly.csv?month={MONTH}", None, _only(STATS, 200)),
    ("GET", f"/api/v1/reports/monthly.xlsx?month={MONTH}", None, _only(STATS, 200)),
    ("GET", f"/api/v1/reports/callbacks?month={MONTH}", None, _only(CALLBACKS, 200)),
    ("POST", "/api/v1/reports/callbacks", {"month": MONTH}, _only(CALLBACKS, 200)),  # drawn already: 200, not 201
    (
        "POST",
        "/api/v1/reports/callbacks/{case_no}/outcome",
        {"outcome": "satisfied"},
        _only(CALLBACKS, 404),
    ),  # not sampled
    # --- conversions of farmland
    ("GET", "/api/v1/conversions", None, _only(STATS, 200)),
    ("GET", "/api/v1/conversions/audit", None, _only(STATS, 200)),
    ("GET", "/api/v1/conversions/audit.csv", None, _only(STATS, 200)),
    ("GET", "/api/v1/conversions/audit.gpkg", None, _only(STATS, 200)),
    ("GET", "/api/v1/conversions/ledger", None, _only(STATS, 200)),
    # --- upward filing (roles from service/data/filing.toml; a homestead needs no higher approval, the uploads are no
    # package or receipt, and no package has the id asked for: each refused after the role check). Reading packages
    # is open to all staff.
    ("POST", "/api/v1/cases/{case_id}/filing", None, _only(FILING_EXPORT, 409, case=True)),
    ("GET", "/api/v1/cases/{case_id}/filings", None, ALL_STAFF),
    ("GET", "/api/v1/filings", None, EVERY_STAFF),
    ("POST", "/api/v1/filings/received", ZIP, _only(("clerk", "leader", "admin"), 422)),
    ("GET", "/api/v1/filings/{package_id}", None, dict.fromkeys(STAFF, 404)),
    (
        "POST",
        "/api/v1/filings/{package_id}/decisions",
        {"decision": "presign"},
        _only(("clerk", "rev_own", "rev_other", "leader", "admin"), 404),
    ),
    ("GET", "/api/v1/filings/{package_id}/receipt", None, dict.fromkeys(STAFF, 404)),
    ("GET", "/api/v1/filings/{package_id}/archive", None, dict.fromkeys(STAFF, 404)),
    (
        "POST",
        "/api/v1/filings/receipts",
        {"files": {"file": ("r.json", b"{}", "application/json")}},
        _only(FILING_EXPORT, 422),
    ),
    # --- public, whoever asks
    ("GET", "/healthz", None, _everyone(200)),
    ("GET", "/tiles/{z}/{x}/{y}.pbf", None, _everyone(204)),  # every layer, each below its minimum zoom
    ("GET", "/tiles/{layer_name}/{z}/{x}/{y}.pbf", None, _everyone(204)),  # below the layer's minimum zoom
    ("GET", "/tiles/{layer_name}.json", None, _everyone(200)),
    # the layers of the cases are for staff: `parcels` is no layer of the cases (404 after the role check)
    ("GET", "/tiles/cases/{layer_name}/{z}/{x}/{y}.pbf", None, dict.fromkeys(STAFF, 404)),
    ("GET", "/tiles/cases/{z}/{x}/{y}.pbf", None, dict.fromkeys(STAFF, 204)),  # below the layers' minimum zoom
    ("GET", "/tiles/cases/{layer_name}.json", None, dict.fromkeys(STAFF, 404)),
    ("GET", "/openapi.json", None, _everyone(200)),
    ("GET", "/docs", None, _everyone(200)),
    ("GET", "/docs/oauth2-redirect", None, _everyone(200)),
    ("GET", "/", PAGE, _everyone(303)),
    ("GET", "/map", PAGE, _everyone(200)),
    ("GET", "/login", PAGE, _everyone(200)),
    ("POST", "/login", {PAGE: "login"}, _everyone(303)),
    ("POST", "/logout", {PAGE: {}}, _everyone(303)),
    ("GET", "/portal", PAGE, _everyone(200)),
    ("POST", "/portal", {PAGE: "code"}, _everyone(200)),
    ("POST", "/portal/rate", {PAGE: "rating"}, _everyone(200)),  # not decided: the case again with the refusal
    ("POST", "/portal/document", {PAGE: "document"}, _everyone(409)),  # the code is right; not decided yet
    ("POST", "/portal/supplement", {PAGE: "code"}, _everyone(409)),  # the code is right; no notice asks now
    ("GET", "/apply", PAGE, _everyone(200)),
    ("POST", "/apply", {PAGE: "apply"}, _everyone(200)),  # the pre-check
    ("GET", "/register", PAGE, _everyone(200)),
    ("GET", "/announcements/{announcement_id}", PAGE, _everyone(200)),
    ("POST", "/announcements/{announcement_id}/respond", {PAGE: RESPONSE}, _everyone(201)),
    # --- staff pages
    ("GET", "/workbench", PAGE, EVERY_STAFF),
    ("GET", "/cases/new", PAGE, EVERY_STAFF),
    ("POST", "/cases/new", {PAGE: "intake"}, _only(("clerk", "admin"), 303)),
    ("GET", "/cases/{case_id}", PAGE, ALL_STAFF),
    (
        "POST",
        "/cases/{case_id}/act",
        {PAGE: {"transition": "submit_to_leader", "version": "1"}},
        {"clerk": 409, "rev_own": 409, "rev_other": 404, "leader": 403, "planner": 403, "admin": 403},
    ),
    (
        "POST",
        "/cases/{case_id}/tasks/{task_id}",
        {PAGE: {"version": "1", "result": "agree", "opinion": "同意"}},
        {"clerk": 403, "rev_own": 409, "rev_other": 404, "leader": 403, "planner": 403, "admin": 409},
    ),
    ("POST", "/cases/{case_id}/notice", {PAGE: {}}, _only(("clerk", "admin"), 303, case=True)),
    # the paperwork, the exception and a new query code: a role that may is refused the stale version (409)
    ("POST", "/cases/{case_id}/materials", {PAGE: {"version": "1"}}, _only(("clerk", "admin"), 409, case=True)),
    ("POST", "/cases/{case_id}/applicant", {PAGE: {"version": "1"}}, _only(("clerk", "admin"), 409, case=True)),
    ("POST", "/cases/{case_id}/boundary", {PAGE: "boundary"}, _only(("clerk", "admin"), 409, case=True)),
    (
        "POST",
        "/cases/{case_id}/override",
        {PAGE: {"version": "1", "reason": "国家重大项目"}},
        _only(("leader", "admin"), 409, case=True),
    ),
    (
        "POST",
        "/cases/{case_id}/query-code",
        {PAGE: {"version": "1", "checked": "身份证原件已核验"}},
        _only(("clerk", "admin"), 409, case=True),
    ),
    ("GET", "/cases/{case_id}/uploads/{upload_id}", PAGE, dict.fromkeys(STAFF, 404)),  # the case has none
    (
        "POST",
        "/cases/{case_id}/supplement/confirm",
        {PAGE: {"version": "1"}},
        _only(("clerk", "admin"), 409, case=True),
    ),
    (
        "POST",
        "/cases/{case_id}/supplement/return",
        {PAGE: {"version": "1", "reason": "照片模糊"}},
        _only(("clerk", "admin"), 409, case=True),
    ),
    (
        "POST",
        "/cases/{case_id}/responses/{response_id}/answer",
        {PAGE: {"answer": "已核实"}},
        _only(("clerk", "leader", "admin"), 404, case=True),
    ),
    ("GET", "/cases/{case_id}/notice", PAGE, ALL_STAFF),
    ("GET", "/cases/{case_id}/notice.pdf", PAGE, ALL_STAFF),
    ("GET", "/cases/{case_id}/receipt", PAGE, ALL_STAFF),
    ("GET", "/cases/{case_id}/receipt.pdf", PAGE, ALL_STAFF),
    ("POST", "/cases/{case_id}/receipt", {PAGE: "receipt"}, ALL_STAFF),
    ("POST", "/cases/{case_id}/receipt.pdf", {PAGE: "receipt"}, ALL_STAFF),
    ("GET", "/cases/{case_id}/check-report", PAGE, ALL_STAFF),
    ("GET", "/cases/{case_id}/check-report.pdf", PAGE, ALL_STAFF),
    ("GET", "/cases/{case_id}/decision", PAGE, _only(STAFF, 409, case=True)),  # in review: no decision yet
    ("GET", "/cases/{case_id}/decision.pdf", PAGE, _only(STAFF, 409, case=True)),
    ("GET", "/cases/{case_id}/certificate", PAGE, _only(STAFF, 409, case=True)),
    ("GET", "/cases/{case_id}/certificate.pdf", PAGE, _only(STAFF, 409, case=True)),
    ("GET", "/cases/{case_id}/planning-permit", PAGE, _only(STAFF, 409, case=True)),  # not issued yet
    ("GET", "/cases/{case_id}/planning-permit.pdf", PAGE, _only(STAFF, 409, case=True)),
    (
        "POST",
        "/cases/{case_id}/visits",
        {
            PAGE: {
                "version": "1",
                "step": "site_selection",
                "visited_on": "2026-11-30",
                "inspector": "刘强",
                "findings": "一致",
            }
        },
        {"clerk": 409, "rev_own": 409, "rev_other": 404, "leader": 403, "planner": 403, "admin": 403},
    ),
    (
        "POST",
        "/cases/{case_id}/mining-right",
        {PAGE: {"version": "1", "action": "renew", "valid_to": "2040-01-01"}},
        {**dict.fromkeys(STAFF, 409), "rev_other": 404},
    ),
    ("GET", f"/reports/monthly?month={MONTH}", PAGE, _only(STATS, 200)),
    ("GET", f"/callbacks?month={MONTH}", PAGE, _only(CALLBACKS, 200)),
    ("POST", "/callbacks/draw", {PAGE: {"month": MONTH}}, _only(CALLBACKS, 303)),
    (
        "POST",
        "/callbacks/record",
        {PAGE: {"month": MONTH, "case_no": "{case_no}", "outcome": "satisfied"}},
        _only(CALLBACKS, 422),
    ),
    ("GET", "/planner", PAGE, _only(STATS, 200)),
    ("GET", "/planner/audit", PAGE, _only(STATS, 200)),
    ("GET", "/planner/conversions.csv", PAGE, _only(STATS, 200)),
    ("GET", "/planner/conversions.xlsx", PAGE, _only(STATS, 200)),
    # --- upward filing pages (the same permissions as the API; no package has the id asked for)
    ("GET", "/filings", PAGE, EVERY_STAFF),
    ("POST", "/filings/received", {PAGE: "zip"}, _only(("clerk", "leader", "admin"), 422)),
    ("POST", "/filings/receipts", {PAGE: "receipt_file"}, _only(FILING_EXPORT, 422)),
    ("GET", "/filings/{package_id}", PAGE, dict.fromkeys(STAFF, 404)),
    (
        "POST",
        "/filings/{package_id}/decide",
        {PAGE: {"decision": "presign"}},
        _only(("clerk", "rev_own", "rev_other", "leader", "admin"), 404),
    ),
]
PAGE_FILES = {
    "zip": {"file": ("x.zip", b"not a zip", "application/zip")},
    "receipt_file": {"file": ("r.json", b"{}", "application/json")},
}


@pytest.fixture(scope="module")
def expired_token():
    signer = TokenSigner(KEY, 60)

    def issue(session_id, cookie=False):
        # signed nine hours ago with the app's own key: a valid signature, past its lifetime
        with mock.patch("itsdangerous.timed.time") as clock:
            clock.time.return_value = time.time() - 9 * 3600  # logins last 8 hours
            return signer.issue(session_id, cookie=cookie)

    return issue


@pytest.fixture
def world(make_settings, db_url, conn, staff, load_layer, tmp_path, expired_token):
    load_one_map(load_layer)
    registry_file, keys = write_chain(
        tmp_path / "filing", members((XIANAN, "county"), ("咸宁市自然资源和规划局", "city"))
    )
    app = create_app(
        make_settings(
            secret_key=KEY,
            filing_key_file=keys[XIANAN],
            filing_registry=registry_file,
            online_applications_per_ip=100,  # every row × every asker from the one test address
            online_responses_per_ip=100,
        )
    )
    with TestClient(app) as client:
        api = Api(client, staff)
        drawn = {"type": "Feature", "properties": {}, "geometry": mapping(lonlat(b(40, 240, 52, 252)))}
        materials = ["application_form", "household_register", "id_card", "village_opinion", "site_plan"]
        mine = api.post(
            "/api/v1/cases",
            json={
                "kind": "homestead",
                "applicant_name": "张三",
                "household_id": "HH5",
                "materials_received": materials,
                "boundary": drawn,
            },
        ).json()
        other = api.post(
            "/api/v1/cases",
            json={
                "kind": "homestead",
                "applicant_name": "李四",
                "household_id": "HH6",
                "materials_received": materials,
                "boundary": drawn,
            },
        ).json()
        requisition = api.post(
            "/api/v1/cases",
            json={
                "kind": "requisition",
                "applicant_name": "咸安区人民政府",
                "applicant_type": "unit",
                "project_name": "标准厂房",
                "materials_received": [
                    "project_approval",
                    "planning_permit",
                    "survey_report",
                    "boundary_txt",
                    "compensation_plan",
                    "risk_assessment",
                ],
                "boundary": {"type": "Feature", "properties": {}, "geometry": mapping(lonlat(b(100, 0, 150, 100)))},
            },
        ).json()
        assert api.move(requisition, "accept").json()["status"] == "pre_announcement"  # an announcement to read
        announcement_id = conn.execute("SELECT id FROM announcements").fetchone()[0]
        code = mine["query_code"]
        mine = {
            **api.move(mine, "accept").json(),
            "query_code": code,
        }  # in review: 村镇规划股 has a task, 矿产资源管理股 has none
        assert api.post(f"/api/v1/cases/{mine['id']}/notices").status_code == 201  # a notice to read
        assert (
            api.post("/api/v1/reports/callbacks", as_="leader", json={"month": MONTH}).status_code == 201
        )  # a sample to read
        conn.execute(
            "UPDATE cases SET version = version + 5 WHERE id = %s", (mine["id"],)
        )  # every version sent is stale
        conn.commit()
        # a session still open in the database, named by a token and a cookie signed past their lifetime
        conn.execute(
            "INSERT INTO staff_sessions (id, user_id, via, expires_at) "
            "SELECT 'still-open', id, 'web', now() + interval '1 hour' FROM users WHERE username = 'clerk'"
        )
        conn.commit()
        expired, expired_cookie = expired_token("still-open"), expired_token("still-open", cookie=True)
        ids = {u: conn.execute("SELECT id FROM users WHERE username = %s", (u,)).fetchone()[0] for u in STAFF.values()}
        cookies = {who: session_cookie(client, name, staff[name]["password"]) for who, name in STAFF.items()}
        client.cookies.clear()
        yield {
            "app": app,
            "api": api,
            "mine": mine,
            "other": other,
            "drawn": drawn,
            "expired": expired,
            "expired_cookie": expired_cookie,
            "ids": ids,
            "staff": staff,
            "cookies": cookies,
            "announcement_id": announcement_id,
        }


def _headers(world, who):
    api = world["api"]
    if who in STAFF:
        return api.headers(STAFF[who])
    return {
        "anonymous": {},
        "forged": {"Authorization": "Bearer eyJ1aWQiOjF9.forged.signature"},
        "expired": {"Authorization": f"Bearer {world['expired']}"},
    }[who]


CSRF = "matrix-csrf-token"


def _session_cookie(world, who):
    if who in STAFF:
        return world["cookies"][who]
    return {"anonymous": None, "forged": "eyJ1aWQiOjF9.forged.signature", "expired": world["expired_cookie"]}[who]


def _page_form(world, spec, fill):
    mine, staff = world["mine"], world["staff"]
    if spec == "login":
        return {"username": "clerk", "password": staff["clerk"]["password"]}
    if spec == "code":
        return {"case_no": mine["case_no"], "query_code": mine["query_code"]}
    if spec == "rating":
        return {"case_no": mine["case_no"], "query_code": mine["query_code"], "stars": "5"}
    if spec == "receipt":
        return {"query_code": mine["query_code"]}
    if spec == "document":
        return {"case_no": mine["case_no"], "query_code": mine["query_code"], "document": "decision"}
    if spec == "boundary":
        return {"version": "1", "boundary_geojson": json.dumps(world["drawn"])}
    if spec == "apply":
        return {
            "kind": "homestead",
            "applicant_name": "王五",
            "phone": "13800138000",
            "action": "check",
            "boundary_geojson": json.dumps(world["drawn"]),
        }
    if spec == "intake":
        return {
            "kind": "homestead",
            "applicant_name": "王五",
            "action": "create",
            "boundary_geojson": json.dumps(world["drawn"]),
        }
    return {k: fill(v) for k, v in spec.items()}


def _request(world, method, path, how, who):
    """Send one cell of the matrix; return the response."""
    api, mine = world["api"], world["mine"]
    task = next(t for t in mine["tasks"] if t["department"] == "村镇规划股")
    values = {
        "case_id": mine["id"],
        "task_id": task["id"],
        "case_no": mine["case_no"],
        "package_id": "0" * 32,
        "visit_id": 1,
        "photo_id": 1,
        "layer_name": "parcels",
        "announcement_id": world["announcement_id"],
        "upload_id": 999999,
        "response_id": 999999,
        "z": 0,
        "x": 0,
        "y": 0,
    }

    def fill(text):
        return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), text)

    url = fill(path)
    client = api.client
    client.cookies.clear()
    if how == PAGE or (isinstance(how, dict) and PAGE in how):
        cookie = _session_cookie(world, who)
        if path == "/logout" and who in STAFF:  # a login of its own: ending it must not end the matrix's sessions
            cookie = session_cookie(client, STAFF[who], world["staff"][STAFF[who]]["password"])
            client.cookies.clear()
        if cookie:
            client.cookies.set("lw_session", cookie)
        client.cookies.set("lw_csrf", CSRF)
        spec = None if how == PAGE else how[PAGE]
        files = PAGE_FILES.get(spec) if isinstance(spec, str) else None
        if files is not None:
            data = {"csrf_token": CSRF}
        else:
            data = None if spec is None else {**_page_form(world, spec, fill), "csrf_token": CSRF}
        try:
            return client.request(method, url, data=data, files=files, follow_redirects=False)
        finally:
            client.cookies.clear()
    kw: dict = {"headers": dict(_headers(world, who))}
    if how == "logout" and who in STAFF:  # a login of its own: ending it must not end the matrix's tokens
        name = STAFF[who]
        r = client.post("/api/v1/auth/token", data={"username": name, "password": world["staff"][name]["password"]})
        kw["headers"] = {"Authorization": f"Bearer {r.json()['access_token']}"}
    if how == "intake":
        kw["json"] = {"kind": "homestead", "applicant_name": "王五", "boundary": world["drawn"]}
    elif how == "login":
        kw["data"] = {"username": "clerk", "password": world["staff"]["clerk"]["password"]}
    elif how == "code":
        kw["headers"]["X-Query-Code"] = mine["query_code"]
    elif how == "apply":
        kw["data"] = {
            "kind": "homestead",
            "applicant_name": "王五",
            "phone": "13800138000",
            "geojson": json.dumps(world["drawn"]),
        }
    elif how == "supplement":
        kw["headers"]["X-Query-Code"] = mine["query_code"]
        kw["files"] = {"materials": ("a.pdf", b"%PDF-1.4 x", "application/pdf")}
        kw["data"] = {"material_codes": "id_card"}
    elif how == "rating":
        kw["headers"]["X-Query-Code"] = mine["query_code"]
        kw["json"] = {"stars": 5}
    elif how == "boundary":
        kw["data"] = {"version": "1"}
        kw["files"] = {"file": ("b.geojson", json.dumps(world["drawn"]).encode(), "application/geo+json")}
    elif how is DRAWN:
        kw["data"] = {"kind": "homestead", "geojson": json.dumps(world["drawn"])}
    elif isinstance(how, dict) and "files" in how:
        kw["files"] = how["files"]
        kw["data"] = how.get("data")
    elif how is not None and how != "logout":
        kw["json"] = how
    return client.request(method, url, follow_redirects=False, **kw)


def test_authorization_matrix(world):
    failures = []
    for method, path, how, expected in MATRIX:
        page = how == PAGE or (isinstance(how, dict) and PAGE in how)
        for who in WHO:
            want = expected.get(who, (PAGE_NO_SESSION if page else NO_SESSION).get(who))
            r = _request(world, method, path, how, who)
            if r.status_code != want:
                failures.append(f"{method} {path} as {who}: {r.status_code} (expected {want}) {r.text[:120]}")
    assert failures == [], "\n".join(failures)


def _app_routes(app):
    def walk(routes):
        for r in routes:
            if hasattr(r, "effective_candidates"):  # an included router (FastAPI ≥ 0.13x)
                yield from walk(r.effective_candidates())
            else:
                yield r

    for r in walk(app.routes):
        methods = getattr(r, "methods", None) or getattr(getattr(r, "original_route", None), "methods", None)
        if not methods:
            continue  # the static files mount: public, checked for its headers in test_security
        for m in sorted(set(methods) - {"HEAD"}):
            yield m, r.path


def test_every_route_is_in_the_matrix():
    app = create_app(Settings(_env_file=None, database_url="postgresql://x@127.0.0.1:1/x", secret_key=KEY))
    rows = {(m, re.sub(r"/boundary\.\w+$", "/boundary.{fmt}", p.split("?")[0])) for m, p, _, _ in MATRIX}
    missing = sorted(f"{m} {p}" for m, p in set(_app_routes(app)) - rows)
    assert missing == [], "routes without a row in MATRIX:\n" + "\n".join(missing)
    stale = sorted(f"{m} {p}" for m, p in rows - set(_app_routes(app)))
    assert stale == [], "rows of MATRIX without a route:\n" + "\n".join(stale)


def _asks(dependant):
    """Return the permissions (permissions.toml actions) a route's dependencies ask, however deep."""
    found = set()
    for d in dependant.dependencies:
        action = getattr(d.call, "permission", None)
        if action:
            found.add(action)
        found |= _asks(d)
    return found


def test_every_route_asks_the_permissions_module():
    """Each route declares the permission it asks (a dependency from service.http.deps), or is public by the list in
    permissions.toml; every action named exists in the table."""
    app = create_app(Settings(_env_file=None, database_url="postgresql://x@127.0.0.1:1/x", secret_key=KEY))
    silent, public_but_asking = [], []
    for route in _routes_with_dependants(app):
        asks = _asks(route.dependant)
        for method in sorted(route.methods - {"HEAD"}):
            public = permissions.is_public_route(method, route.path)
            if not asks and not public:
                silent.append(f"{method} {route.path}")
            if asks and public:
                public_but_asking.append(f"{method} {route.path}")
            for action in asks:
                permissions.action(action)  # a KeyError names an action missing from permissions.toml
    assert silent == [], "routes that ask no permission and are not declared public:\n" + "\n".join(silent)
    assert public_but_asking == [], "routes declared public that ask a permission:\n" + "\n".join(public_but_asking)


def _routes_with_dependants(app):
    def walk(routes):
        for r in routes:
            if hasattr(r, "effective_candidates"):
                yield from walk(r.effective_candidates())
            elif hasattr(r, "dependant"):
                yield getattr(r, "original_route", r)

    yield from walk(app.routes)


def _commands(group, prefix=""):
    for name, cmd in group.commands.items():
        full = f"{prefix}{name}"
        if hasattr(cmd, "commands"):
            yield from _commands(cmd, full + " ")
        else:
            yield full, cmd


def _command_permission(callback):
    while callback is not None:
        action = getattr(callback, "permission", None)
        if action:
            return action
        callback = getattr(callback, "__wrapped__", None)
    return None


def test_every_command_asks_the_permissions_module():
    """Each `landwindow` command that changes or reads the bureau's data asks as the operator; the rest are declared."""
    group = typer.main.get_command(cli_app)
    silent, declared_but_asking = [], []
    for name, cmd in _commands(group):
        action = _command_permission(cmd.callback)
        if action is None and not permissions.is_public_command(name):
            silent.append(name)
        if action is not None:
            permissions.action(action)
            if permissions.is_public_command(name):
                declared_but_asking.append(name)
    assert silent == [], "commands that ask no permission and are not declared public:\n" + "\n".join(silent)
    assert declared_but_asking == []


def test_a_command_refused_to_the_operator_fails_cleanly(monkeypatch):
    """The operator's role comes from permissions.toml: a table that denies it stops the command before it runs."""
    table = permissions.table()
    denied = dataclasses.replace(table.actions["users.manage"], roles=("leader",))
    monkeypatch.setattr(
        permissions, "table", lambda: dataclasses.replace(table, actions={**table.actions, "users.manage": denied})
    )
    r = CliRunner().invoke(cli_app, ["user", "demo"])
    assert r.exit_code == 2 and "only administrators manage staff accounts" in r.output


def test_applicants_see_only_their_own_case(world):
    api, mine, other = world["api"], world["mine"], world["other"]
    cases = {"own": mine, "other": other}
    codes = {"own": mine["query_code"], "wrong": "ABCDEFGH", "none": None}
    for which, case in cases.items():
        for code_name, code in codes.items():
            headers = {"X-Query-Code": code} if code else {}
            r = api.client.get(f"/api/v1/public/cases/{case['case_no']}", headers=headers)
            want = 200 if (which, code_name) == ("own", "own") else 422 if code is None else 404
            assert r.status_code == want, (which, code_name, r.text)
    # a staff token is no key to the applicant endpoint, and the query code is no key to staff endpoints
    r = api.client.get(f"/api/v1/public/cases/{mine['case_no']}", headers=api.headers("clerk"))
    assert r.status_code == 422
    r = api.client.get(f"/api/v1/cases/{mine['id']}", headers={"X-Query-Code": mine["query_code"]})
    assert r.status_code == 401


def test_forged_session_cookie_is_refused(world):
    api, mine = world["api"], world["mine"]
    api.client.cookies.set("lw_session", "forged.cookie.value")
    try:
        assert api.client.get(f"/api/v1/cases/{mine['id']}").status_code == 401
    finally:
        api.client.cookies.clear()
