"""Revocation (#14): a token or cookie names a login session that is read on every request, so a logout, a changed
password or role, or a deactivation ends the old tokens and cookies at once — a deactivated clerk can no longer take
in a case with the token they still hold."""

import time

import psycopg
from fastapi.testclient import TestClient
from shapely.geometry import mapping
from typer.testing import CliRunner

from service.access.auth import SESSION_PRINCIPAL
from service.cli.app import app as cli_app
from tests.support.api import session_cookie
from tests.support.onemap import b, load_one_map, lonlat
from web.app import create_app

KEY = "revocation-secret-key-0123456789abcdef"


def _token(client, username, password):
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _intake(client, headers):
    drawn = {"type": "Feature", "properties": {}, "geometry": mapping(lonlat(b(40, 240, 52, 252)))}
    return client.post(
        "/api/v1/cases", headers=headers, json={"kind": "homestead", "applicant_name": "张三", "boundary": drawn}
    )


def test_logout_ends_the_cookie_even_a_copy_of_it(make_settings, db_url, staff):
    with TestClient(create_app(make_settings(secret_key=KEY))) as client:
        cookie = session_cookie(client, "clerk", staff["clerk"]["password"])
        assert client.get("/workbench").status_code == 200
        r = client.post("/logout", data={"csrf_token": client.cookies.get("lw_csrf")}, follow_redirects=False)
        assert r.status_code == 303
        client.cookies.set("lw_session", cookie)  # the copy an attacker kept
        r = client.get("/workbench", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/workbench"
        r = client.get("/api/v1/auth/me")
        assert r.status_code == 401 and "the session has ended" in r.json()["detail"]


def test_api_logout_ends_the_token(make_settings, db_url, staff):
    with TestClient(create_app(make_settings(secret_key=KEY))) as client:
        token = _token(client, "leader", staff["leader"]["password"])
        other = _token(client, "leader", staff["leader"]["password"])  # another login of the same person
        assert client.get("/api/v1/auth/me", headers=token).status_code == 200
        assert client.post("/api/v1/auth/logout", headers=token).status_code == 204
        assert client.get("/api/v1/auth/me", headers=token).status_code == 401
        assert client.get("/api/v1/auth/me", headers=other).json()["username"] == "leader"  # only that one ended


def test_a_deactivated_clerk_can_no_longer_take_in_a_case(make_settings, db_url, staff, load_layer, cli_db):
    load_one_map(load_layer)
    with TestClient(create_app(make_settings(secret_key=KEY))) as client:
        token = _token(client, "clerk", staff["clerk"]["password"])
        cookie = session_cookie(client, "clerk", staff["clerk"]["password"])
        assert _intake(client, token).status_code == 201
        r = CliRunner().invoke(cli_app, ["user", "deactivate", "clerk"])
        assert r.exit_code == 0 and "sessions have ended" in r.output, r.output
        r = _intake(client, token)
        assert r.status_code == 401 and "deactivated" in r.json()["detail"]
        client.cookies.clear()
        client.cookies.set("lw_session", cookie)
        assert client.get("/cases/new", follow_redirects=False).status_code == 303
        client.cookies.clear()
        r = client.post("/api/v1/auth/token", data={"username": "clerk", "password": staff["clerk"]["password"]})
        assert r.status_code == 401  # and no new login either
        assert CliRunner().invoke(cli_app, ["user", "activate", "clerk"]).exit_code == 0
        assert _intake(client, token).status_code == 401  # the old token stays dead
        assert _intake(client, _token(client, "clerk", staff["clerk"]["password"])).status_code == 201


def test_a_changed_password_ends_the_old_tokens_and_cookies(make_settings, db_url, staff, cli_db):
    with TestClient(create_app(make_settings(secret_key=KEY))) as client:
        token = _token(client, "admin", staff["admin"]["password"])
        cookie = session_cookie(client, "admin", staff["admin"]["password"])
        r = CliRunner().invoke(cli_app, ["user", "passwd", "admin", "--password", "changed-admin-2026"])
        assert r.exit_code == 0, r.output
        assert client.get("/api/v1/auth/me", headers=token).status_code == 401
        client.cookies.clear()
        client.cookies.set("lw_session", cookie)
        assert client.get("/workbench", follow_redirects=False).status_code == 303
        client.cookies.clear()
        assert client.get("/api/v1/auth/me", headers=_token(client, "admin", "changed-admin-2026")).status_code == 200


def test_a_changed_role_ends_the_old_sessions(make_settings, db_url, staff, cli_db):
    with TestClient(create_app(make_settings(secret_key=KEY))) as client:
        token = _token(client, "leader", staff["leader"]["password"])
        assert client.post("/api/v1/recheck", headers=token).status_code == 200
        r = CliRunner().invoke(cli_app, ["user", "role", "leader", "--role", "clerk"])
        assert r.exit_code == 0 and "now clerk" in r.output, r.output
        assert client.post("/api/v1/recheck", headers=token).status_code == 401
        fresh = _token(client, "leader", staff["leader"]["password"])
        assert client.get("/api/v1/auth/me", headers=fresh).json()["role"] == "clerk"
        assert client.post("/api/v1/recheck", headers=fresh).status_code == 403


def test_the_role_is_read_from_the_account_on_every_request(make_settings, db_url, conn, staff):
    """Even a change made straight in the database (no command, no session ended) takes effect at the next request."""
    with TestClient(create_app(make_settings(secret_key=KEY))) as client:
        token = _token(client, "planner", staff["planner"]["password"])
        assert client.post("/api/v1/recheck", headers=token).status_code == 200
        conn.execute("UPDATE users SET role = 'clerk' WHERE username = 'planner'")
        conn.commit()
        assert client.post("/api/v1/recheck", headers=token).status_code == 403
        conn.execute("UPDATE users SET active = false WHERE username = 'planner'")
        conn.commit()
        assert client.get("/api/v1/auth/me", headers=token).status_code == 401


def test_the_per_request_check_is_one_indexed_query(db_url, conn, staff):
    """Two primary-key lookups whatever the number of sessions (100 000 here), well under a millisecond."""
    conn.execute(
        "INSERT INTO staff_sessions (id, user_id, via, expires_at) "
        "SELECT 's' || g, (SELECT min(id) FROM users), 'api', now() + interval '1 hour' FROM generate_series(1, 100000) g"
    )
    conn.execute("ANALYZE staff_sessions")
    conn.commit()
    plan = conn.execute("EXPLAIN (FORMAT JSON) " + SESSION_PRINCIPAL, ("s77777",)).fetchone()[0]

    def nodes(n):
        yield n
        for child in n.get("Plans", []):
            yield from nodes(child)

    kinds = {(n["Node Type"], n.get("Relation Name")) for n in nodes(plan[0]["Plan"])}
    assert ("Seq Scan", "staff_sessions") not in kinds and ("Seq Scan", "users") not in kinds, kinds
    assert {n.get("Index Name") for n in nodes(plan[0]["Plan"])} >= {"pk_staff_sessions"}
    with psycopg.connect(db_url) as c:
        c.execute(SESSION_PRINCIPAL, ("s77777",)).fetchone()  # warm
        started = time.perf_counter()
        for i in range(200):
            assert c.execute(SESSION_PRINCIPAL, (f"s{i + 1}",)).fetchone() is not None
        per_query = (time.perf_counter() - started) / 200
    assert per_query < 0.002, per_query
