"""Failure limits of logins and query codes (#14): counted in PostgreSQL, so they hold across workers and restarts;
counted before the attempt, so a parallel burst gets no more than the limit; and per name *and* address first, so a
stranger's wrong passwords from another address never lock the owner out."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from fastapi.testclient import TestClient
from shapely.geometry import mapping

from service.core.settings import Settings
from tests.support.api import Api
from tests.support.onemap import b, load_one_map, lonlat
from web.app import create_app
from web.server import serving

KEY = "limits-secret-key-0123456789abcdef"
OWNER, STRANGER, OTHER = ("10.0.0.1", 40001), ("10.0.0.66", 40002), ("10.0.0.77", 40003)


def _login(client, username, password):
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def _page_login(client, username, password):
    client.get("/login")
    data = {"username": username, "password": password, "csrf_token": client.cookies.get("lw_csrf")}
    return client.post("/login", data=data, follow_redirects=False)


def _counts(conn, scope):
    rows = conn.execute("SELECT key, attempts FROM attempt_counts WHERE scope = %s ORDER BY key", (scope,)).fetchall()
    return dict(rows)


def test_a_strangers_wrong_passwords_do_not_lock_the_owner_out(make_settings, db_url, conn, staff):
    settings = make_settings(secret_key=KEY, login_failures_per_user_and_ip=3, login_failures_per_ip=5)
    app = create_app(settings)
    with TestClient(app, client=STRANGER) as stranger, TestClient(app, client=OWNER) as owner:
        for _ in range(3):
            assert _login(stranger, "clerk", "wrong-password").status_code == 401
        r = _login(stranger, "clerk", staff["clerk"]["password"])
        assert r.status_code == 429, r.text  # blocked: the right password too, or guessing would go on
        assert 0 < int(r.headers["retry-after"]) <= 900
        assert "登录失败次数过多" in r.json()["detail"] and "too many failed attempts" in r.json()["detail"]
        r = _page_login(stranger, "clerk", staff["clerk"]["password"])  # the page shares the counters
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0 and "too many failed attempts" in r.text
        # the owner, at their own window, is not slowed down at all
        assert _login(owner, "clerk", staff["clerk"]["password"]).status_code == 200
        assert _page_login(owner, "clerk", staff["clerk"]["password"]).status_code == 303
        # the stranger's address has a limit of its own: two more names, then nothing from there
        for _ in range(2):
            assert _login(stranger, "admin", "wrong-password").status_code == 401
        assert _login(stranger, "leader", staff["leader"]["password"]).status_code == 429
        assert _login(owner, "leader", staff["leader"]["password"]).status_code == 200
    assert _counts(conn, "login:user+ip") == {"10.0.0.66 admin": 2, "10.0.0.66 clerk": 3}
    assert _counts(conn, "login:ip") == {"10.0.0.66": 5, "10.0.0.1": 0}


def test_an_account_guessed_from_many_addresses_is_blocked_everywhere(make_settings, db_url, staff):
    app = create_app(make_settings(secret_key=KEY, login_failures_per_user=4))
    for i in range(4):
        with TestClient(app, client=(f"10.1.0.{i}", 1)) as c:
            assert _login(c, "clerk", "wrong-password").status_code == 401
    with TestClient(app, client=OWNER) as owner:
        r = _login(owner, "clerk", staff["clerk"]["password"])
        assert r.status_code == 429 and "too many failed attempts" in r.json()["detail"]


def test_successes_never_count_and_the_window_ends(make_settings, db_url, conn, staff):
    settings = make_settings(secret_key=KEY, login_failures_per_user_and_ip=2, failure_window_seconds=2)
    with TestClient(create_app(settings), client=OWNER) as client:
        for _ in range(6):
            assert _login(client, "leader", staff["leader"]["password"]).status_code == 200
        assert _login(client, "clerk", "wrong-password").status_code == 401
        assert _login(client, "clerk", staff["clerk"]["password"]).status_code == 200  # forgets this address's one
        assert _counts(conn, "login:user+ip") == {}
        for _ in range(2):
            assert _login(client, "clerk", "wrong-password").status_code == 401
        r = _login(client, "clerk", staff["clerk"]["password"])
        assert r.status_code == 429 and int(r.headers["retry-after"]) in (1, 2)
        time.sleep(2.1)
        assert _login(client, "clerk", staff["clerk"]["password"]).status_code == 200


def test_the_limits_hold_across_workers_and_restarts(make_settings, db_url, staff):
    settings = make_settings(secret_key=KEY, login_failures_per_user_and_ip=3)
    with (
        TestClient(create_app(settings), client=STRANGER) as worker1,
        TestClient(create_app(settings), client=STRANGER) as worker2,
    ):
        assert _login(worker1, "clerk", "wrong-password").status_code == 401
        assert _login(worker2, "clerk", "wrong-password").status_code == 401
        assert _login(worker1, "clerk", "wrong-password").status_code == 401
        assert _login(worker2, "clerk", staff["clerk"]["password"]).status_code == 429
    with TestClient(create_app(settings), client=STRANGER) as restarted:
        assert _login(restarted, "clerk", staff["clerk"]["password"]).status_code == 429


def test_a_parallel_burst_gets_exactly_the_limit(db_url, conn, staff, tmp_path):
    """40 wrong passwords sent at once get 5 tries (401) and 35 refusals (429); before, a burst got 2.4 × the limit."""
    settings = Settings(_env_file=None, database_url=db_url, data_dir=tmp_path, secret_key=KEY)
    with serving(settings) as base:
        barrier = threading.Barrier(40)

        def guess(i):
            with httpx.Client(base_url=base, timeout=60) as c:
                barrier.wait()
                return c.post("/api/v1/auth/token", data={"username": "clerk", "password": f"guess-{i}"}).status_code

        with ThreadPoolExecutor(40) as pool:
            codes = list(pool.map(guess, range(40)))
    assert sorted(codes).count(401) == 5 and codes.count(429) == 35, codes
    assert _counts(conn, "login:user+ip") == {"127.0.0.1 clerk": 5}


def _case(api):
    drawn = {"type": "Feature", "properties": {}, "geometry": mapping(lonlat(b(40, 240, 52, 252)))}
    r = api.post("/api/v1/cases", json={"kind": "homestead", "applicant_name": "张三", "boundary": drawn})
    assert r.status_code == 201, r.text
    return r.json()


def test_query_code_limits_per_case_and_address(make_settings, db_url, conn, staff, load_layer):
    load_one_map(load_layer)
    settings = make_settings(secret_key=KEY, query_code_failures_per_case_and_ip=3, query_code_failures_per_ip=5)
    app = create_app(settings)
    with TestClient(app, client=STRANGER) as stranger, TestClient(app, client=OWNER) as owner:
        api = Api(owner, staff)
        mine, other = _case(api), _case(api)
        url = f"/api/v1/public/cases/{mine['case_no']}"
        for _ in range(4):  # the right code opens it again and again
            assert owner.get(url, headers={"X-Query-Code": mine["query_code"]}).status_code == 200
        for _ in range(3):
            assert stranger.get(url, headers={"X-Query-Code": "WRONG234"}).status_code == 404
        r = stranger.get(url, headers={"X-Query-Code": mine["query_code"]})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0 and "查询失败次数过多" in r.json()["detail"]
        stranger.get("/portal")  # the portal form counts the same way
        form = {"case_no": mine["case_no"], "query_code": mine["query_code"], "csrf_token": stranger.cookies["lw_csrf"]}
        r = stranger.post("/portal", data=form)
        assert r.status_code == 429 and "retry-after" in r.headers and "too many failed attempts" in r.text
        # the applicant, from their own phone, still gets in
        assert owner.get(url, headers={"X-Query-Code": mine["query_code"]}).status_code == 200
        # the stranger's address: two more failures on another case, then that address gets nothing
        other_url = f"/api/v1/public/cases/{other['case_no']}"
        for _ in range(2):
            assert stranger.get(other_url, headers={"X-Query-Code": "WRONG234"}).status_code == 404
        assert stranger.get(other_url, headers={"X-Query-Code": other["query_code"]}).status_code == 429
        assert owner.get(other_url, headers={"X-Query-Code": other["query_code"]}).status_code == 200


def test_expired_counts_are_swept(make_settings, db_url, conn, staff):
    from service.http.lifespan import sweep

    app = create_app(make_settings(secret_key=KEY, failure_window_seconds=1))
    with TestClient(app, client=STRANGER) as c:
        assert _login(c, "clerk", "wrong-password").status_code == 401
        assert _counts(conn, "login:ip") == {"10.0.0.66": 1}
        time.sleep(1.1)
        sweep(app.state.engine, app.state.failure_limiter)
        assert _counts(conn, "login:ip") == {}
