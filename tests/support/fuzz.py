"""Shared pieces of the fuzz tests: the sample county app in-process, seeded cases, example budgets."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[2]
APPLICATIONS = ROOT / "sample_parcels" / "applications"
ROLES: tuple[str | None, ...] = ("clerk", "leader", "planner", "admin", "rev-farmland", None)

# how many examples each fuzzed thing gets; the quick defaults keep `make test` short, `make fuzz` raises them
API_EXAMPLES = int(os.environ.get("LANDWINDOW_FUZZ_API_EXAMPLES", "5"))
FILE_EXAMPLES = int(os.environ.get("LANDWINDOW_FUZZ_FILE_EXAMPLES", "60"))
SEED = int(os.environ.get("LANDWINDOW_FUZZ_SEED", "0"))


def load_sample_county(conn: psycopg.Connection) -> None:
    """Load every layer of the committed sample county into the test database."""
    from gis.catalog import catalog
    from gis.importer import load, read

    county = ROOT / "sample_parcels" / "county.gpkg"
    for name in catalog():
        load(conn, read(county, name))


@dataclass
class Seeded:
    """What the seeded database holds, for path parameters that hit real rows."""

    case_ids: list[int] = field(default_factory=list)
    case_nos: list[str] = field(default_factory=list)
    query_codes: dict[str, str] = field(default_factory=dict)
    task_ids: list[int] = field(default_factory=list)
    online: dict[str, list[int]] = field(default_factory=dict)
    """Ids of the online window's rows (announcements, responses, uploads) by path parameter."""


def seed_cases(api: Any, accept: bool = True) -> Seeded:
    """Take in one case of each kind, each boundary uploaded from a sample application file; accept the homestead."""
    seeded = Seeded()
    bodies = [
        (
            {
                "kind": "homestead",
                "applicant_name": "张三",
                "household_id": "HH-FUZZ",
                "materials_received": [
                    "application_form",
                    "household_register",
                    "id_card",
                    "village_opinion",
                    "site_plan",
                ],
            },
            "homestead_clean.txt",
        ),
        (
            {
                "kind": "requisition",
                "applicant_name": "县工业园管委会",
                "applicant_type": "unit",
                "project_name": "工业园一期",
            },
            "requisition.geojson",
        ),
        (
            {
                "kind": "mining",
                "applicant_name": "咸安矿业有限公司",
                "applicant_type": "unit",
                "depth_top": 80,
                "depth_bottom": 20,
            },
            "mining_overlap.txt",
        ),
    ]
    for body, filename in bodies:
        r = api.post("/api/v1/cases", json=body)
        assert r.status_code == 201, r.text
        case = r.json()
        r = api.post(
            f"/api/v1/cases/{case['id']}/boundary",
            data={"version": str(case["version"])},
            files={"file": (filename, (APPLICATIONS / filename).read_bytes())},
        )
        assert r.status_code == 200, r.text
        seeded.case_ids.append(case["id"])
        seeded.case_nos.append(case["case_no"])
        seeded.query_codes[case["case_no"]] = case["query_code"]
    if not accept:
        return seeded
    # move the homestead into review so it has tasks a reviewer sees
    case = api.get(f"/api/v1/cases/{seeded.case_ids[0]}").json()
    r = api.move(case, "accept")
    assert r.status_code == 200, r.text
    seeded.task_ids = [t["id"] for t in r.json()["tasks"]]
    return seeded


def counts(conn: psycopg.Connection) -> dict[str, Any]:
    """Rows of every table an upload could write, and each case's geometry and version."""
    with conn.cursor() as cur:
        out: dict[str, Any] = {}
        for table in ("cases", "check_runs", "audit_log", "case_materials"):
            cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
            row = cur.fetchone()
            out[table] = row[0] if row else 0
        cur.execute("SELECT id, version, md5(coalesce(ST_AsEWKB(geom), '')::text) FROM cases ORDER BY id")
        out["case_rows"] = cur.fetchall()
    conn.commit()
    return out


@contextmanager
def no_writes(conn: psycopg.Connection) -> Iterator[None]:
    """Assert that the block writes nothing an upload could write."""
    before = counts(conn)
    yield
    after = counts(conn)
    assert after == before, f"a rejected upload wrote something: {before} → {after}"


def seed_online(api: Any, seeded: Seeded, conn: psycopg.Connection) -> dict[str, list[int]]:
    """Give the online window rows to aim at: the seeded requisition in its pre-announcement with an objection, and
    an application sent online with a file; return the announcement, response and upload ids."""
    case = api.get(f"/api/v1/cases/{seeded.case_ids[1]}").json()
    codes = [m["code"] for m in case["materials"]]
    case = api.post(f"/api/v1/cases/{case['id']}/materials", json={"version": case["version"], "received": codes})
    assert case.status_code == 200, case.text
    r = api.move(case.json(), "accept")
    assert r.status_code == 200 and r.json()["status"] == "pre_announcement", r.text
    announcement = conn.execute("SELECT id FROM announcements").fetchone()[0]
    objection = {"kind": "objection", "name": "李四", "phone": "13900139000", "content": "鱼塘在范围内"}
    r = api.client.post(f"/api/v1/public/announcements/{announcement}/responses", json=objection)
    assert r.status_code == 201, r.text
    geojson = (APPLICATIONS / "requisition.geojson").read_text("utf-8")
    r = api.client.post(
        "/api/v1/public/applications",
        data={
            "kind": "requisition",
            "applicant_name": "某公司",
            "applicant_type": "unit",
            "phone": "13800138000",
            "geojson": geojson,
            "material_codes": ["project_approval"],
        },
        files={"materials": ("批文.pdf", b"%PDF-1.4 fuzz", "application/pdf")},
    )
    assert r.status_code == 201, r.text
    seeded.case_nos.append(r.json()["case_no"])
    seeded.query_codes[r.json()["case_no"]] = r.json()["query_code"]
    conn.commit()
    return {
        "announcement_id": [announcement],
        "response_id": [row[0] for row in conn.execute("SELECT id FROM announcement_responses")],
        "upload_id": [row[0] for row in conn.execute("SELECT id FROM case_uploads")],
    }
