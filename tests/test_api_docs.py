"""The API docs are served from the app's own files: Swagger UI renders with no request leaving the server."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from tests.conftest import unavailable
from tests.support.browser import browser_page, chromium_path, screenshot


@pytest.mark.browser
def test_swagger_ui_renders_offline(sample_app):
    if not chromium_path():
        unavailable("Debian's chromium is not installed (scripts/setup installs it)")
    import httpx

    html = httpx.get(f"{sample_app}/docs").text
    links = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", html)
    assert links and all(u.startswith(("/", "data:")) for u in links), links
    with browser_page() as (page, requests, errors):
        page.goto(f"{sample_app}/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=20000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert "/api/v1/checks" in [p.strip() for p in paths]
        screenshot(page, "api_docs.png")
    hosts = {urlparse(u).netloc for u in requests if u.startswith("http")}
    assert hosts == {urlparse(sample_app).netloc}, hosts
    assert errors == [], errors
    assert httpx.get(f"{sample_app}/redoc").status_code == 404  # ReDoc would come from a CDN: not offered
