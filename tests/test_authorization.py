"""The authorization matrix, generated from one table: every endpoint × every role × own/other case × session state.

Mutations are sent with a stale version: a role that may act gets 409 (the version), one that may not gets 403 —
permission is decided before anything else, so the table tests authorization and nothing changes.
"""

import time
from unittest import mock

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import mapping

from service.auth import TokenSigner
from service.settings import Settings
from tests.support.api import Api
from tests.support.onemap import b, load_one_map, lonlat
from web.app import create_app

KEY = "matrix-secret-key-0123456789abcdef"
STAFF = {"clerk": "clerk", "rev_own": "rev-village", "rev_other": "rev-mineral", "leader": "leader", "planner": "planner", "admin": "admin"}
WHO = [*STAFF, "anonymous", "forged", "expired"]
ALL_STAFF = {"clerk": 200, "rev_own": 200, "rev_other": 404, "leader": 200, "planner": 200, "admin": 200}
NO_SESSION = {"anonymous": 401, "forged": 401, "expired": 401}

# (method, path, body, expected status per role)
MATRIX = [
    ("GET", "/api/v1/cases", None, {**ALL_STAFF, "rev_other": 200}),
    ("GET", "/api/v1/cases/{id}", None, ALL_STAFF),
    ("GET", "/api/v1/cases/{id}/audit", None, ALL_STAFF),
    ("GET", "/api/v1/cases/{id}/check", None, ALL_STAFF),
    ("GET", "/api/v1/cases/{id}/boundary.txt", None, ALL_STAFF),
    ("GET", "/api/v1/cases/{id}/boundary.gpkg", None, ALL_STAFF),
    ("GET", "/api/v1/auth/me", None, {**ALL_STAFF, "rev_other": 200}),
    ("POST", "/api/v1/cases", "intake", {"clerk": 201, "admin": 201, "rev_own": 403, "rev_other": 403, "leader": 403, "planner": 403}),
    ("POST", "/api/v1/cases/{id}/transitions", {"transition": "submit_to_leader", "version": 1},
     {"clerk": 409, "rev_own": 409, "rev_other": 404, "leader": 403, "planner": 403, "admin": 403}),
    ("POST", "/api/v1/cases/{id}/transitions", {"transition": "approve", "version": 1},
     {"clerk": 403, "rev_own": 403, "rev_other": 404, "leader": 409, "planner": 403, "admin": 403}),
    ("POST", "/api/v1/cases/{id}/materials", {"version": 1, "received": []},
     {"clerk": 409, "rev_own": 403, "rev_other": 404, "leader": 403, "planner": 403, "admin": 409}),
    ("POST", "/api/v1/cases/{id}/override", {"version": 1, "reason": "特殊情况"},
     {"clerk": 403, "rev_own": 403, "rev_other": 404, "leader": 409, "planner": 403, "admin": 409}),
    ("POST", "/api/v1/cases/{id}/tasks/{task}", {"version": 1, "result": "agree", "opinion": "同意"},
     {"clerk": 403, "rev_own": 409, "rev_other": 404, "leader": 403, "planner": 403, "admin": 409}),
    ("POST", "/api/v1/cases/{id}/notices", None, {"clerk": 201, "rev_own": 403, "rev_other": 403, "leader": 403, "planner": 403, "admin": 201}),
    ("POST", "/api/v1/recheck", None, {"clerk": 403, "rev_own": 403, "rev_other": 403, "leader": 200, "planner": 200, "admin": 200}),
    ("POST", "/api/v1/checks", {"kind": "homestead", "geojson": "drawn"}, {**ALL_STAFF, "rev_other": 200}),
]  # fmt: skip


@pytest.fixture(scope="module")
def expired_token():
    signer = TokenSigner(KEY, 60)

    def issue(user):
        # signed nine hours ago with the app's own key: a valid signature, past its lifetime
        with mock.patch("itsdangerous.timed.time") as clock:
            clock.time.return_value = time.time() - 9 * 3600  # logins last 8 hours
            return signer.issue(user)

    return issue


@pytest.fixture
def world(db_url, conn, staff, load_layer, tmp_path, expired_token):
    load_one_map(load_layer)
    with TestClient(create_app(Settings(_env_file=None, database_url=db_url, data_dir=tmp_path, secret_key=KEY))) as client:
        api = Api(client, staff)
        drawn = {"type": "Feature", "properties": {}, "geometry": mapping(lonlat(b(40, 240, 52, 252)))}
        materials = ["application_form", "household_register", "id_card", "village_opinion", "site_plan"]
        mine = api.post("/api/v1/cases", json={"kind": "homestead", "applicant_name": "张三", "household_id": "HH5",
                                                "materials_received": materials, "boundary": drawn}).json()  # fmt: skip
        other = api.post("/api/v1/cases", json={"kind": "homestead", "applicant_name": "李四", "household_id": "HH6",
                                                 "materials_received": materials, "boundary": drawn}).json()  # fmt: skip
        code = mine["query_code"]
        mine = {**api.move(mine, "accept").json(), "query_code": code}  # in review: 村镇规划股 has a task, 矿产资源管理股 has none
        conn.execute("UPDATE cases SET version = version + 5 WHERE id = %s", (mine["id"],))  # every version sent is stale
        conn.commit()
        user = next(u for u in staff.values() if u["role"] == "clerk")
        expired = expired_token(type("U", (), {"id": 1, "username": user["username"], "role": "clerk", "department": None})())
        yield {"api": api, "mine": mine, "other": other, "drawn": drawn, "expired": expired}


def _headers(world, who):
    api = world["api"]
    if who in STAFF:
        return api.headers(STAFF[who])
    return {"anonymous": {}, "forged": {"Authorization": "Bearer eyJ1aWQiOjF9.forged.signature"},
            "expired": {"Authorization": f"Bearer {world['expired']}"}}[who]  # fmt: skip


def test_authorization_matrix(world):
    api, mine = world["api"], world["mine"]
    task = next(t for t in mine["tasks"] if t["department"] == "村镇规划股")
    failures = []
    for method, path, body, expected in MATRIX:
        url = path.format(id=mine["id"], task=task["id"])
        for who in WHO:
            want = expected.get(who, NO_SESSION.get(who))
            kw = {}
            if body == "intake":
                kw["json"] = {"kind": "homestead", "applicant_name": "王五", "boundary": world["drawn"]}
            elif isinstance(body, dict) and path.endswith("/checks"):
                kw["data"] = {"kind": "homestead", "geojson": __import__("json").dumps(world["drawn"])}
            elif body is not None:
                kw["json"] = body
            r = api.client.request(method, url, headers=_headers(world, who), **kw)
            if r.status_code != want:
                failures.append(f"{method} {path} as {who}: {r.status_code} (expected {want}) {r.text[:120]}")
    assert failures == []


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
