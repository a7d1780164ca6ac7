"""A database outage (#14): with PostgreSQL stopped, every API route and tile answers the declared 503 ErrorOut JSON
and every page that needs the database a 503 page — never a plain-text 500 — and /healthz tells anonymous callers
no more than that the database is unreachable. When the database is back, so is the service."""

import re
import socket
import tempfile
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.access.auth import demo_users, hash_secret
from service.core.cluster import ClusterError, EmbeddedCluster
from service.core.db import migrate
from service.core.settings import Settings
from tests.conftest import unavailable
from tests.support.api import session_cookie
from web.app import create_app

KEY = "outage-secret-key-0123456789abcdef"
VALUES = {
    "case_id": "1",
    "task_id": "1",
    "visit_id": "1",
    "photo_id": "1",
    "package_id": "p1",
    "case_no": "XA-ZJD-2026-0001",
    "layer_name": "parcels",
    "z": "14",
    "x": "13457",
    "y": "6777",
    "fmt": "txt",
    "announcement_id": "1",
    "upload_id": "1",
    "response_id": "1",
}
NEEDS_NO_DATABASE = {
    "GET /openapi.json",
    "GET /docs",
    "GET /docs/oauth2-redirect",
    "GET /login",
    "GET /portal",
    "GET /apply",  # the online application form: the map and the checklist, no row read
    "GET /",
}


@pytest.fixture
def stoppable():
    """A PostGIS cluster of this test's own, so it can be stopped and started again."""
    root = Path(tempfile.mkdtemp(prefix="landwindow-outage-", dir="/tmp"))
    root.chmod(0o755)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cluster = EmbeddedCluster(root=root, port=port, db_name="lw_outage")
    try:
        cluster.check_binaries()
        cluster.start(extra_conf={"fsync": "off", "synchronous_commit": "off"})
    except ClusterError as exc:
        cluster.destroy()
        unavailable(str(exc))
    try:
        migrate(cluster.url())
        yield cluster
    finally:
        cluster.destroy()


def _routes(app):
    def walk(routes):
        for r in routes:
            yield from walk(r.effective_candidates()) if hasattr(r, "effective_candidates") else [r]

    for r in walk(app.routes):
        methods = getattr(r, "methods", None) or getattr(getattr(r, "original_route", None), "methods", None)
        for method in sorted(set(methods or ()) - {"HEAD"}):
            yield method, r.path


def _send(client, method, path, token, csrf):
    url = re.sub(r"\{(\w+)\}", lambda m: VALUES[m.group(1)], path)
    headers = {"X-Query-Code": "ABCD2345"}
    if path.startswith("/api/"):
        headers["Authorization"] = f"Bearer {token}"
    kw = {}
    if method == "POST":
        if path in ("/api/v1/auth/token", "/login"):
            kw["data"] = {"username": "clerk", "password": "clerk-demo-2026", "csrf_token": csrf}
        elif path.startswith("/api/v1/public/applications"):  # the online window's forms, well-formed
            kw["data"] = {"kind": "homestead", "applicant_name": "王五", "phone": "13800138000", "geojson": "{}"}
        elif path.endswith("/responses"):
            kw["json"] = {"kind": "objection", "name": "李四", "phone": "13900139000", "content": "异议"}
        elif path.startswith("/api/"):
            kw["json"] = {"stars": 5}
        else:
            kw["data"] = {
                "csrf_token": csrf,
                "case_no": VALUES["case_no"],
                "query_code": "ABCD2345",
                "stars": "5",
                "document": "decision",
            }
    return client.request(method, url, headers=headers, follow_redirects=False, **kw)


def test_every_route_answers_503_while_the_database_is_down(stoppable, tmp_path):
    import psycopg

    with psycopg.connect(stoppable.url()) as c:
        for u in demo_users():
            c.execute(
                "INSERT INTO users (username, display_name, role, department, password_hash) VALUES (%s, '', %s, %s, %s)",
                (u["username"], u["role"], u.get("department"), hash_secret(u["password"])),
            )
    settings = Settings(
        _env_file=None, database_url=stoppable.url(), data_dir=tmp_path, secret_key=KEY, db_wait_seconds=0.5
    )
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        token = client.post("/api/v1/auth/token", data={"username": "admin", "password": "admin-demo-2026"})
        token = token.json()["access_token"]
        session_cookie(client, "admin", "admin-demo-2026")
        csrf = client.cookies.get("lw_csrf")
        assert client.get("/healthz").status_code == 200

        stoppable.stop()
        wrong = []
        for method, path in sorted(set(_routes(app))):
            r = _send(client, method, path, token, csrf)
            route = f"{method} {path}"
            machine = path.startswith(("/api/", "/tiles/", "/healthz"))
            if route in NEEDS_NO_DATABASE:
                ok = r.status_code in (200, 303)
            elif machine:
                body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {}
                ok = r.status_code == 503 and (
                    body == {"detail": body.get("detail"), "error": "Unavailable"}
                    and "数据库暂时无法访问" in body["detail"]
                    or path == "/healthz"
                )
            else:
                ok = (
                    r.status_code == 503
                    and 'data-status="503"' in r.text
                    and "the database cannot be reached" in r.text
                )
            if not ok:
                wrong.append(f"{route}: {r.status_code} {r.headers.get('content-type')} {r.text[:100]!r}")
        assert wrong == [], "\n".join(wrong)

        health = client.get("/healthz")
        assert health.status_code == 503 and health.json() == {"status": "error", "database": "unreachable"}

        stoppable.start(extra_conf={"fsync": "off"})
        deadline = time.monotonic() + 30
        while client.get("/healthz").status_code != 200 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert client.get("/healthz").status_code == 200
        r = client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text  # the login survived the outage
