"""Security headers on every response (pages, API, static files), as one ASGI middleware.

The Content-Security-Policy allows our own origin and nothing else, except the configured basemap's tile host for
images. Inline scripts run only with the response's nonce (a fresh one per response): folium's map scripts and the
few of our templates carry it (web/pages/common.py, `script_nonce` and `nonced`); an injected `<script>` or event
handler attribute does not run. What it still has to allow, and why:
- script-src 'unsafe-eval': leaflet-measure 2.1.7 compiles its lodash templates with `new Function` when it loads;
- style-src 'unsafe-inline': folium's <style> blocks and style attributes (Leaflet's own are set from script);
- img-src data:: icons in the vendored CSS (Bootstrap, Leaflet.draw) are data: URIs.
The map fetches vector tiles from /tiles (connect-src 'self'); nothing is framed and nothing frames us.
"""

from __future__ import annotations

import re
import secrets

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.core.settings import Settings
from web.map.builder import Basemap
from web.pages.common import CSP_NONCE, basemap_of

_ORIGIN = re.compile(r"^(?P<scheme>https?)://(?P<host>[^/?#:]+)(?P<port>:\d+)?(?:[/?#]|$)", re.IGNORECASE)
_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=(), "
    "interest-cohort=()"
)


def basemap_sources(basemap: Basemap) -> list[str]:
    """Return the CSP sources of the basemap's tile hosts (a `{s}` subdomain as a `*.` wildcard); empty for none."""
    sources: list[str] = []
    for url, _, _ in basemap.layers():
        m = _ORIGIN.match(url)
        if m is None:
            continue
        host, port = m["host"].lower(), m["port"] or ""
        labels = host.split(".")
        if "{" in labels[0]:  # t{s}.tianditu.gov.cn → *.tianditu.gov.cn
            labels[0] = "*"
        if (
            len(labels) < 2
            or any(not _LABEL.fullmatch(label) for label in labels[1:])
            or not _LABEL.fullmatch(labels[0].replace("*", "x"))
        ):
            continue
        source = f"{m['scheme'].lower()}://{'.'.join(labels)}{port}"
        if source not in sources:
            sources.append(source)
    return sources


def content_security_policy(settings: Settings, nonce: str = "{nonce}") -> str:
    """Return the Content-Security-Policy for this installation and a response's script nonce."""
    img = " ".join(["'self'", "data:", *basemap_sources(basemap_of(settings))])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}' 'unsafe-eval'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {img}",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(settings: Settings) -> list[tuple[bytes, bytes]]:
    """Return the headers every response carries besides the CSP (HSTS only when configured: behind TLS)."""
    headers = {
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": PERMISSIONS_POLICY,
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if settings.hsts_max_age:
        headers["Strict-Transport-Security"] = f"max-age={settings.hsts_max_age}; includeSubDomains"
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]


class SecurityHeaders:
    """Add the security headers to every HTTP response that does not set them itself, with a fresh script nonce in
    each response's CSP (kept in the request's state for the templates)."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.headers = security_headers(settings)
        self.policy = content_security_policy(settings)  # its "{nonce}" filled in per response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on with its nonce; add the headers to the response's start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})[CSP_NONCE] = nonce
        policy = self.policy.replace("{nonce}", nonce).encode("latin-1")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "content-security-policy" not in headers:
                    headers.raw.append((b"content-security-policy", policy))
                for name, value in self.headers:
                    if name.decode("latin-1") not in headers:
                        headers.raw.append((name, value))
            await send(message)

        await self.app(scope, receive, send_with_headers)
