"""Cases set up through the REST API of a live test server (for the browser tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from shapely.geometry import mapping

ROOT = Path(__file__).resolve().parent.parent.parent
CLEAN_TXT = ROOT / "sample_parcels" / "applications" / "homestead_clean.txt"
HOMESTEAD_MATERIALS = ["application_form", "household_register", "id_card", "village_opinion", "site_plan"]
PASSWORDS = {"clerk": "clerk-demo-2026", "leader": "leader-demo-2026", "admin": "admin-demo-2026"}


class LiveApi:
    """Staff calls against a served app, one bearer token per user."""

    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=30)
        self.tokens: dict[str, str] = {}
        self.codes: dict[str, str] = {}
        """The query code of each case taken in through this client, by case number."""

    def _headers(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            password = PASSWORDS.get(user, "reviewer-demo-2026")
            r = self.client.post("/api/v1/auth/token", data={"username": user, "password": password})
            r.raise_for_status()
            self.tokens[user] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def post(self, path: str, user: str = "clerk", **kw: Any) -> dict[str, Any]:
        r = self.client.post(path, headers=self._headers(user), **kw)
        assert r.status_code < 300, (path, r.status_code, r.text)
        body = r.json()
        if isinstance(body, dict) and body.get("query_code") and body.get("case_no"):
            self.codes[body["case_no"]] = body["query_code"]
        return body

    def clean_homestead(self, applicant: str = "张秀兰") -> dict[str, Any]:
        """Take in the sample county's clean homestead (passes the check) with every material."""
        from gis.boundary import county_extent
        from service.cases.boundaries import boundary_from_upload

        geom = boundary_from_upload(CLEAN_TXT.read_bytes(), CLEAN_TXT.name, 10 * 1024 * 1024, county_extent()).geometry
        return self.post(
            "/api/v1/cases",
            json={
                "kind": "homestead",
                "applicant_name": applicant,
                "phone": "13907150001",
                "village": "张家村",
                "household_id": "HH421202005001-9001",
                "materials_received": HOMESTEAD_MATERIALS,
                "boundary": {"type": "Feature", "properties": {}, "geometry": mapping(geom)},
            },
        )

    def move(
        self, case: dict[str, Any], transition: str, user: str = "clerk", reason: str | None = None
    ) -> dict[str, Any]:
        return self.post(
            f"/api/v1/cases/{case['id']}/transitions",
            user,
            json={"transition": transition, "version": case["version"], "reason": reason},
        )

    def review(self, case: dict[str, Any], department: str, user: str, result: str, opinion: str) -> dict[str, Any]:
        task = next(t for t in case["tasks"] if t["department"] == department)
        return self.post(
            f"/api/v1/cases/{case['id']}/tasks/{task['id']}",
            user,
            json={"version": case["version"], "result": result, "opinion": opinion},
        )


ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def resident_id(first17: str) -> str:
    """Return a resident ID number (GB 11643) with its check character, from its first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def anchor(name: str) -> dict[str, Any]:
    """Return one of the sample county's telling places (sample_parcels/anchors.json)."""
    import json

    return json.loads((ROOT / "sample_parcels" / "anchors.json").read_text("utf-8"))[name]
