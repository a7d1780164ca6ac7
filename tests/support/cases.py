"""Cases taken in and carried to a decision through the REST API (the real workflow, every guard), for the tests of
what follows decisions."""

from __future__ import annotations

import tomllib
from pathlib import Path

from shapely.geometry import mapping

from tests.support.api import Api
from tests.support.onemap import lonlat

MATERIALS = {
    "homestead": ["application_form", "household_register", "id_card", "village_opinion", "site_plan"],
    "requisition": [
        "project_approval",
        "planning_permit",
        "survey_report",
        "boundary_txt",
        "compensation_plan",
        "risk_assessment",
    ],
    "mining": [
        "licence_application",
        "geological_report",
        "development_plan",
        "environmental_assessment",
        "corner_coordinates",
        "business_licence",
    ],
}
_DEMO = tomllib.loads((Path(__file__).resolve().parents[2] / "service/data/demo_users.toml").read_text("utf-8"))
REVIEWERS = {u["department"]: u["username"] for u in _DEMO["users"] if u.get("department")}


def drawn(geom) -> dict:
    """A drawn boundary (GeoJSON Feature, lon/lat) from a box of the test map (EPSG:4526)."""
    return {"type": "Feature", "properties": {}, "geometry": mapping(lonlat(geom))}


class Window:
    """The staff of the window through the API; `conn` lets announcement periods pass (state_entered_at)."""

    def __init__(self, api: Api, conn) -> None:
        self.api = api
        self.conn = conn

    def intake(self, kind: str, geom, applicant: str = "张三", **extra) -> dict:
        body = {"kind": kind, "applicant_name": applicant, "materials_received": MATERIALS[kind], **extra}
        if kind != "homestead":
            body.setdefault("applicant_type", "unit")
            body.setdefault("company", applicant)
        if geom is not None:
            body["boundary"] = drawn(geom)
        r = self.api.post("/api/v1/cases", json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def move(self, case: dict, name: str, as_: str = "clerk", reason: str | None = None) -> dict:
        r = self.api.move(case, name, as_=as_, reason=reason)
        assert r.status_code == 200, r.text
        return r.json()

    def review(self, case: dict) -> dict:
        for task in case["tasks"]:
            if task["status"] == "done":
                continue
            r = self.api.post(
                f"/api/v1/cases/{case['id']}/tasks/{task['id']}",
                as_=REVIEWERS[task["department"]],
                json={"version": case["version"], "result": "agree", "opinion": "同意"},
            )
            assert r.status_code == 200, r.text
            case = r.json()
        return case

    def elapse(self, case: dict, days: int) -> dict:
        """Let the case's current state (an announcement) have run for `days` days."""
        self.conn.execute(
            "UPDATE cases SET state_entered_at = state_entered_at - make_interval(days => %s) WHERE id = %s",
            (days, case["id"]),
        )
        self.conn.commit()
        return self.api.get(f"/api/v1/cases/{case['id']}").json()

    def to_leader(self, case: dict) -> dict:
        """Carry a received case to the leader's approval (accept, announcements, reviews)."""
        if case["kind"] == "requisition":
            case = self.move(case, "accept")
            case = self.move(self.elapse(case, 30), "end_pre_announcement")
            case = self.review(case)  # the last opinion announces the compensation plan
            case = self.move(self.elapse(case, 40), "end_compensation_announcement")
            return self.move(case, "submit_higher", as_="leader")
        return self.review(self.move(case, "accept"))

    def approve(self, case: dict) -> dict:
        """Carry a received case through its workflow to approval."""
        case = self.move(self.to_leader(case), "approve", as_="leader")
        assert case["status"] == "approved", case
        return case

    def check(self, case: dict) -> dict:
        return self.api.get(f"/api/v1/cases/{case['id']}/check").json()

    def rule(self, case: dict, rule: str) -> dict:
        return next(r for r in self.check(case)["rules"] if r["rule"] == rule)
