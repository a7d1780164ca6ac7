"""Security basics (#8.6): response headers, CSRF on forms and on cookie-authenticated API calls, personal data masked
in lists and logs, no secrets in the repository, and no demo passwords on a non-local bind (the failure limits of
logins and query codes: test_failure_limits.py)."""

import logging
import re
import subprocess
from pathlib import Path

from fastapi.testclient import TestClient
from shapely.geometry import mapping
from typer.testing import CliRunner

from service.access.auth import is_loopback
from service.core.personal import PersonalDataFilter, mask_text
from service.core.settings import Settings
from tests.support.api import Api
from web.app import create_app
from web.security import content_security_policy

ROOT = Path(__file__).resolve().parent.parent
KEY = "security-secret-key-0123456789abcdef"
ID = "420102199001011236"
PHONE = "13812345678"


def _drawn():
    from tests.support.onemap import b, lonlat

    return {"type": "Feature", "properties": {}, "geometry": mapping(lonlat(b(40, 240, 52, 252)))}


def _page_login(client, username, password, csrf=True):
    client.get("/login")
    data = {"username": username, "password": password}
    if csrf:
        data["csrf_token"] = client.cookies.get("lw_csrf")
    return client.post("/login", data=data, follow_redirects=False)


# --- headers -------------------------------------------------------------------------------------------------------


def test_security_headers_on_pages_api_and_static(make_settings, db_url, tmp_path):
    with TestClient(create_app(make_settings(secret_key=KEY))) as client:
        for path in ("/map", "/login", "/portal", "/api/v1/cases", "/healthz", "/static/app.css", "/no-such-page"):
            r = client.get(path)
            h = r.headers
            assert h["x-content-type-options"] == "nosniff", path
            assert h["x-frame-options"] == "DENY", path
            assert h["referrer-policy"] == "same-origin", path
            assert "camera=()" in h["permissions-policy"] and "geolocation=()" in h["permissions-policy"], path
            assert "strict-transport-security" not in h, path  # not configured: not behind TLS
            csp = h["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "object-src 'none'" in csp, path
            assert not re.search(r"https?:", csp), (path, csp)  # no other host at all without a basemap
        # the map page names no other host either: every script, style and tile comes from here
        html = client.get("/map").text
        assert not re.findall(r"""(?:src|href)=["']https?://""", html)


def test_inline_scripts_run_only_with_the_responses_nonce(make_settings, db_url, tmp_path):
    """No 'unsafe-inline' for scripts: each response has a fresh nonce, and every inline script of the page (folium's
    map, our own) carries exactly that one; an attribute handler such as onclick is nowhere."""
    with TestClient(create_app(make_settings(secret_key=KEY))) as client:
        nonces = set()
        for path in ("/map", "/map", "/login", "/docs"):
            r = client.get(path)
            script_src = next(d for d in r.headers["content-security-policy"].split("; ") if d.startswith("script-src"))
            assert "'unsafe-inline'" not in script_src, script_src
            nonce = re.fullmatch(r"script-src 'self' 'nonce-([A-Za-z0-9_-]{20,})' 'unsafe-eval'", script_src).group(1)
            nonces.add(nonce)
            # inline scripts (JSON data blocks are not run, and need none)
            inline = re.findall(r"<script(?![^>]*\ssrc=)(?![^>]*type=\"application/json\")([^>]*)>", r.text)
            assert all(f'nonce="{nonce}"' in attrs for attrs in inline), (path, inline)
            assert inline or path == "/login"
            assert not re.search(r"\son[a-z]+=", r.text), path
        assert len(nonces) == 4


def test_csp_allows_the_configured_basemap_host_for_images_only():
    tianditu = content_security_policy(Settings(_env_file=None, basemap="tianditu", tianditu_key="k" * 32))
    img = next(d for d in tianditu.split("; ") if d.startswith("img-src"))
    assert img == "img-src 'self' data: https://*.tianditu.gov.cn"
    assert tianditu.count("tianditu") == 1  # scripts, styles and connections stay on our own origin
    xyz = content_security_policy(
        Settings(_env_file=None, basemap="xyz", basemap_url="https://{s}.tiles.example.org:8443/{z}/{x}/{y}.png")
    )
    assert "img-src 'self' data: https://*.tiles.example.org:8443;" in xyz
    local = content_security_policy(Settings(_env_file=None, basemap="xyz", basemap_url="/basemap/{z}/{x}/{y}.png"))
    assert "img-src 'self' data:;" in local


def test_hsts_only_when_configured(make_settings, db_url, tmp_path):
    with TestClient(create_app(make_settings(secret_key=KEY, hsts_max_age=31536000))) as client:
        assert client.get("/healthz").headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


# --- CSRF ----------------------------------------------------------------------------------------------------------


def _routes(app):
    def walk(routes):
        for r in routes:
            if hasattr(r, "effective_candidates"):
                yield from walk(r.effective_candidates())
            else:
                yield r

    for r in walk(app.routes):
        methods = getattr(r, "methods", None) or getattr(getattr(r, "original_route", None), "methods", None) or set()
        for m in methods:
            yield m, r.path


def test_every_form_post_needs_the_csrf_token(make_settings, db_url, staff, tmp_path):
    app = create_app(make_settings(secret_key=KEY))
    posts = sorted({path for method, path in _routes(app) if method == "POST" and not path.startswith("/api/")})
    assert {"/login", "/logout", "/portal", "/cases/new", "/cases/{case_id}/act"} <= set(posts)
    with TestClient(app) as client:
        assert _page_login(client, "admin", staff["admin"]["password"]).status_code == 303
        failures = []
        for path in posts:
            url = re.sub(r"\{[^}]+\}", "1", path)
            r = client.post(url, data={"case_no": "X", "query_code": "Y"}, follow_redirects=False)
            if r.status_code != 403:
                failures.append(f"POST {path} without csrf_token: {r.status_code}")
            r = client.post(url, data={"csrf_token": "forged-token"}, follow_redirects=False)
            if r.status_code != 403:
                failures.append(f"POST {path} with a forged csrf_token: {r.status_code}")
            r = client.post(url, data={"csrf_token": "伪造的令牌"}, follow_redirects=False)  # not ASCII: no 500
            if r.status_code != 403:
                failures.append(f"POST {path} with a non-ASCII csrf_token: {r.status_code}")
        assert failures == []
        # and with the token a form goes through (logout)
        r = client.post("/logout", data={"csrf_token": client.cookies.get("lw_csrf")}, follow_redirects=False)
        assert r.status_code == 303


def test_cookie_authenticated_api_posts_need_csrf_header_or_own_origin(make_settings, db_url, staff, tmp_path):
    with TestClient(create_app(make_settings(secret_key=KEY))) as client:
        assert _page_login(client, "admin", staff["admin"]["password"]).status_code == 303
        csrf = client.cookies.get("lw_csrf")
        assert client.get("/api/v1/auth/me").status_code == 200  # reading needs no token
        r = client.post("/api/v1/recheck")
        assert r.status_code == 403 and "CSRF" in r.json()["detail"] and "跨站" in r.json()["detail"]
        assert client.post("/api/v1/recheck", headers={"X-CSRF-Token": "forged"}).status_code == 403
        assert client.post("/api/v1/recheck", headers={"Origin": "http://evil.example"}).status_code == 403
        assert client.post("/api/v1/recheck", headers={"Origin": "null"}).status_code == 403
        assert client.post("/api/v1/recheck", headers={"X-CSRF-Token": csrf}).status_code == 200
        assert client.post("/api/v1/recheck", headers={"Origin": "http://testserver"}).status_code == 200
        # a bearer token is not sent by browsers on their own: no CSRF check, whatever the origin
        api = Api(client, staff)
        client.cookies.clear()
        r = client.post("/api/v1/recheck", headers={**api.headers("admin"), "Origin": "http://evil.example"})
        assert r.status_code == 200


# --- personal data -------------------------------------------------------------------------------------------------


def test_personal_data_masked_in_lists(make_settings, db_url, conn, staff, load_layer, tmp_path):
    from tests.support.onemap import load_one_map

    load_one_map(load_layer)
    with TestClient(create_app(make_settings(secret_key=KEY))) as client:
        api = Api(client, staff)
        r = api.post(
            "/api/v1/cases",
            json={"kind": "homestead", "applicant_name": "张三", "id_number": ID, "phone": PHONE, "boundary": _drawn()},
        )
        assert r.status_code == 201, r.text
        rows = api.get("/api/v1/cases").json()
        assert rows[0]["id_number"] == "420102********1236" and rows[0]["phone"] == "138****5678"
        assert ID not in api.get("/api/v1/cases").text and PHONE not in api.get("/api/v1/cases").text
        assert _page_login(client, "clerk", staff["clerk"]["password"]).status_code == 303
        page = client.get("/workbench")
        assert page.status_code == 200 and ID not in page.text and PHONE not in page.text


def test_log_records_are_masked(caplog):
    assert mask_text(f"id={ID}&phone={PHONE}") == "id=420102********1236&phone=138****5678"
    assert mask_text(f"身份证{ID.lower()}，电话+86 {PHONE}。") == "身份证420102********1236，电话+86********5678。"
    assert mask_text("order 4201021990010112360 and 138123456789") == "order 4201021990010112360 and 138123456789"
    create_app(Settings(_env_file=None, database_url="postgresql://x@127.0.0.1:1/x", secret_key=KEY))  # installs it
    caplog.set_level(logging.INFO)
    # uvicorn's access log: the query string is one of the record's arguments
    logging.getLogger("uvicorn.access").info(
        '%s - "%s %s HTTP/%s" %d', "127.0.0.1:5555", "GET", f"/api/v1/cases?q={ID}&phone={PHONE}", "1.1", 200
    )
    logging.getLogger("service.anything").warning(f"applicant {ID} called from {PHONE}")
    logging.getLogger("x").info("%(who)s", {"who": PHONE})
    try:
        raise ValueError(f"bad id {ID}")
    except ValueError:
        logging.getLogger("service.errors").exception("failed")
    assert ID not in caplog.text and PHONE not in caplog.text, caplog.text
    assert "420102********1236" in caplog.text and "138****5678" in caplog.text
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s", (PHONE,), None)
    PersonalDataFilter().filter(record)
    assert record.getMessage() == "138****5678"


# --- secrets and demo passwords ------------------------------------------------------------------------------------

PRIVATE_KEY = re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----")
ASSIGNED = re.compile(
    r"""(?i)\b(?:password|passwd|pwd|secret_key|api_key|tianditu_key|filing_key)\b["']?\s*[:=]\s*["']([^"'\s]{6,})["']"""
)
# tests and benchmarks make their own throwaway instances; their keys and passwords say what they are
PLACEHOLDERS = ("test", "bench", "demo", "example", "secret-key", "abc123", "wrong")
GENERATED = ("secret.key", "superuser.password", ".initdb-password", ".pgpass")


def test_no_secrets_in_the_repository():
    from service.access.auth import demo_users

    demo = {u["password"] for u in demo_users()}
    files = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    )
    found = []
    for name in filter(None, files):
        path = ROOT / name
        base = path.name
        if (
            base == ".env"
            or base.startswith(".env.")
            or base.endswith(".env")
            or base in GENERATED
            or base.endswith((".pem", ".key"))
        ):
            found.append(f"{name}: a secrets file")
        if not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        text = path.read_bytes().decode("utf-8", "ignore")
        if PRIVATE_KEY.search(text):
            found.append(f"{name}: a private key")
        if name.startswith("web/static/vendor/"):
            continue  # minified third-party builds from the npm registry (integrity in VERSIONS.txt): UI labels, not values
        for m in ASSIGNED.finditer(text):
            value = m.group(1)
            throwaway = name.startswith(("tests/", "bench/")) and any(w in value for w in PLACEHOLDERS)
            if value not in demo and not throwaway and not value.startswith(("{", "$")):
                found.append(f"{name}: {m.group(0)[:60]}")
    assert found == []


def test_serve_refuses_a_public_bind_while_demo_passwords_are_in_use(cli_db, staff):
    from service.cli.app import app

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("127.8.0.1")
    assert (
        not is_loopback("0.0.0.0")
        and not is_loopback("::")
        and not is_loopback("192.168.1.5")
        and not is_loopback("example.org")
    )
    runner = CliRunner()
    r = runner.invoke(app, ["serve", "--host", "0.0.0.0", "--port", "8999"])
    assert r.exit_code == 2, r.output
    said = " ".join(r.output.split())
    assert (
        "演示密码" in said and "demo passwords" in said and "clerk, leader" in said and "landwindow user passwd" in said
    )
    for u in staff:
        assert runner.invoke(app, ["user", "passwd", u, "--password", f"changed-{u}-2026"]).exit_code == 0
    from sqlalchemy.orm import Session

    from service.access.auth import demo_passwords_in_use
    from service.core.db import make_engine

    with Session(make_engine(cli_db, pool_size=1)) as session:
        assert demo_passwords_in_use(session) == []


def test_serve_refuses_public_host_from_settings(cli_db, staff, monkeypatch):
    from service.cli.app import app
    from service.core.settings import get_settings

    monkeypatch.setenv("LANDWINDOW_HOST", "0.0.0.0")
    get_settings.cache_clear()
    r = CliRunner().invoke(app, ["serve"])
    assert r.exit_code == 2 and "0.0.0.0" in r.output
