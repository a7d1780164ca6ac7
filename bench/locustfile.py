"""Locust users for bench/load.py: window clerks working a realistic mix against `landwindow serve`.

Each user logs in once (bearer token for the API, session cookie for the pages) and then, with a think time
between actions, opens the case list, opens a case page, pans the map (a screenful of vector tiles), checks a
drawn boundary, or takes in an application. LOAD_ANCHORS names the anchors file of the county served.
"""

from __future__ import annotations

import json
import math
import os
import random
import secrets
import uuid
from pathlib import Path

from locust import HttpUser, between, task

ROOT = Path(__file__).resolve().parent.parent
ANCHORS = json.loads(Path(os.environ.get("LOAD_ANCHORS", ROOT / "sample_parcels" / "anchors.json")).read_text())
PASSWORD = os.environ.get("LOAD_PASSWORD", "")
THINK = (float(os.environ.get("LOAD_THINK_MIN", "0.5")), float(os.environ.get("LOAD_THINK_MAX", "1.5")))
MAP_LAYERS = ("parcels", "landuse", "basic_farmland", "eco_redline", "village_boundary")


def _centre(geojson: dict) -> tuple[float, float]:
    ring = geojson["coordinates"][0]
    return sum(p[0] for p in ring) / len(ring), sum(p[1] for p in ring) / len(ring)


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 1 << z
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n)
    return x, y


PLACES = [_centre(a["geojson"]) for a in ANCHORS.values()]
HOMESTEAD = {"type": "Feature", "properties": {}, "geometry": ANCHORS["homestead_clean"]["geojson"]}
REQUISITION = {"type": "Feature", "properties": {}, "geometry": ANCHORS["requisition_50ha"]["geojson"]}


class Clerk(HttpUser):
    """A window clerk: list, case page, map, check, intake."""

    wait_time = between(*THINK)

    def on_start(self) -> None:
        """Log in once, as a browser does: the session cookie serves the pages and the API (CSRF double-submit)."""
        csrf = secrets.token_urlsafe(16)
        self.headers: dict[str, str] = {"X-CSRF-Token": csrf}  # the API's writes with the cookie need it echoed
        self.client.cookies.set("lw_csrf", csrf)
        self.client.post(
            "/login",
            data={"username": "clerk", "password": PASSWORD, "csrf_token": csrf, "next": "/workbench"},
            allow_redirects=False,
            name="login",
        )
        cases = self.client.get("/api/v1/cases?limit=200", headers=self.headers, name="case list (after login)").json()
        self.case_ids = [c["id"] for c in cases] or [1]

    @task(4)
    def case_list(self) -> None:
        """The clerk's list of cases (API, 50 newest)."""
        self.client.get("/api/v1/cases?limit=50", headers=self.headers, name="case list")

    @task(3)
    def case_page(self) -> None:
        """A case's page (server-rendered: map, report, materials, timeline)."""
        self.client.get(f"/cases/{random.choice(self.case_ids)}", name="case page")

    @task(4)
    def map_view(self) -> None:
        """A screenful of the map somewhere near a telling place: 3×2 tiles of two layers at z14–16."""
        lon, lat = random.choice(PLACES)
        z = random.choice((14, 15, 16))
        x0, y0 = _tile(lon + random.uniform(-0.01, 0.01), lat + random.uniform(-0.01, 0.01), z)
        for name in random.sample(MAP_LAYERS, 2):
            for dx in (-1, 0, 1):
                for dy in (0, 1):
                    with self.client.get(
                        f"/tiles/{name}/{z}/{x0 + dx}/{y0 + dy}.pbf", name="tile", catch_response=True
                    ) as r:
                        if r.status_code in (200, 204):
                            r.success()

    @task(2)
    def check(self) -> None:
        """The one-map check of a drawn boundary (homestead or a 50 ha requisition)."""
        kind, feature = random.choice(
            (("homestead", HOMESTEAD), ("homestead", HOMESTEAD), ("requisition", REQUISITION))
        )
        self.client.post(
            "/api/v1/checks",
            data={"kind": kind, "geojson": json.dumps(feature)},
            headers=self.headers,
            name=f"check {kind}",
        )

    @task(1)
    def intake(self) -> None:
        """Take in a homestead application with its drawn boundary (the check runs in the same transaction)."""
        key = uuid.uuid4().hex
        body = {
            "kind": "homestead",
            "applicant_name": "压测村民",
            "phone": "13800138000",
            "household_id": f"LOAD-{key[:8]}",
            "materials_received": ["application_form", "id_card"],
            "boundary": HOMESTEAD,
        }
        r = self.client.post(
            "/api/v1/cases", json=body, headers={**self.headers, "Idempotency-Key": key}, name="intake"
        )
        if r.status_code == 201:
            self.case_ids.append(r.json()["id"])
