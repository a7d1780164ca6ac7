"""A small client for the REST API as a member of staff or an applicant."""

from __future__ import annotations

from fastapi.testclient import TestClient


class Api:
    """Logs in per role once and sends JSON requests with the bearer token."""

    def __init__(self, client: TestClient, staff: dict[str, dict]) -> None:
        self.client = client
        self.staff = staff
        self.tokens: dict[str, str] = {}

    def token(self, username: str) -> str:
        if username not in self.tokens:
            r = self.client.post(
                "/api/v1/auth/token", data={"username": username, "password": self.staff[username]["password"]}
            )
            assert r.status_code == 200, r.text
            self.tokens[username] = r.json()["access_token"]
        return self.tokens[username]

    def headers(self, username: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(username)}"} if username else {}

    def get(self, path: str, as_: str | None = "clerk", **kw):
        return self.client.get(path, headers={**self.headers(as_), **kw.pop("headers", {})}, **kw)

    def post(self, path: str, as_: str | None = "clerk", **kw):
        return self.client.post(path, headers={**self.headers(as_), **kw.pop("headers", {})}, **kw)

    def move(self, case: dict, transition: str, as_: str = "clerk", reason: str | None = None):
        body = {"transition": transition, "version": case["version"]}
        if reason:
            body["reason"] = reason
        return self.post(f"/api/v1/cases/{case['id']}/transitions", as_=as_, json=body)


def session_cookie(client: TestClient, username: str, password: str) -> str:
    """Log in on the login page and return the session cookie of that real (revocable) session."""
    client.get("/login")
    data = {"username": username, "password": password, "csrf_token": client.cookies.get("lw_csrf")}
    r = client.post("/login", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    cookie = client.cookies.get("lw_session")
    assert cookie
    return cookie
