"""Filing packages follow their case's visibility (#14): a reviewer who gets 404 on a case gets 404 on its packages,
their list and their archive (which carries the applicant's full resident ID); every read of a package is audited."""

import io
import json
import zipfile

import psycopg

from tests.test_filing import apis, city, city_db_url, county  # noqa: F401  (fixtures)

ID_NUMBER = "420102199001011236"


def _audit(url, action):
    with psycopg.connect(url) as c:
        rows = c.execute("SELECT actor, case_id, after FROM audit_log WHERE action = %s ORDER BY id", (action,))
        return [(a, cid, after) for a, cid, after in rows]


def test_a_reviewer_without_a_task_gets_404_on_the_cases_packages(apis, county, city):  # noqa: F811
    county_api, city_api = apis
    with psycopg.connect(county) as c:
        case_id = c.execute("SELECT id FROM cases").fetchone()[0]
        c.execute("UPDATE cases SET id_number = %s WHERE id = %s", (ID_NUMBER, case_id))
    sent = county_api.post(f"/api/v1/cases/{case_id}/filing", as_="leader")
    assert sent.status_code == 200, sent.text
    pkg = sent.headers["x-filing-package-id"]
    assert json.loads(zipfile.ZipFile(io.BytesIO(sent.content)).read("case.json"))["id_number"] == ID_NUMBER

    # rev-farmland's department has no task on the case: the case and everything of it answer as if it did not exist
    assert county_api.get(f"/api/v1/cases/{case_id}", as_="rev-farmland").status_code == 404
    assert county_api.get("/api/v1/filings", as_="rev-farmland").json() == []
    for path in (f"/api/v1/filings/{pkg}", f"/api/v1/filings/{pkg}/archive", f"/api/v1/cases/{case_id}/filings"):
        r = county_api.get(path, as_="rev-farmland")
        assert r.status_code == 404 and ID_NUMBER not in r.text, (path, r.status_code)
    assert _audit(county, "filing.read") == []

    # once the department has a task on the case, its reviewer reads the package like the case, and it is audited
    with psycopg.connect(county) as c:
        c.execute(
            "INSERT INTO review_tasks (case_id, department, lead, status) VALUES (%s, '耕地保护股', true, 'open')",
            (case_id,),
        )
    assert [p["package_id"] for p in county_api.get("/api/v1/filings", as_="rev-farmland").json()] == [pkg]
    assert county_api.get(f"/api/v1/filings/{pkg}", as_="rev-farmland").json()["case_id"] == case_id
    archive = county_api.get(f"/api/v1/filings/{pkg}/archive", as_="rev-farmland")
    assert archive.status_code == 200 and archive.content == sent.content
    assert _audit(county, "filing.read") == [
        ("reviewer:rev-farmland", case_id, {"package_id": pkg, "what": "view"}),
        ("reviewer:rev-farmland", case_id, {"package_id": pkg, "what": "archive"}),
    ]
    assert county_api.get("/api/v1/filings", as_="rev-village").json() == []  # another department still sees none

    # at the city, a received package has no case of its own: reviewers see none, the clerks and leaders do
    received = city_api.post("/api/v1/filings/received", files={"file": ("p.zip", archive.content, "application/zip")})
    assert received.status_code == 201, received.text
    assert city_api.get("/api/v1/filings", as_="rev-farmland").json() == []
    for path in (f"/api/v1/filings/{pkg}", f"/api/v1/filings/{pkg}/archive"):
        assert city_api.get(path, as_="rev-farmland").status_code == 404
    r = city_api.post(f"/api/v1/filings/{pkg}/decisions", as_="leader", json={"decision": "presign"})
    assert r.status_code == 200, r.text
    assert city_api.get(f"/api/v1/filings/{pkg}/receipt", as_="rev-farmland").status_code == 404
    assert city_api.get(f"/api/v1/filings/{pkg}/receipt", as_="clerk").status_code == 200
    assert [(a, after["what"]) for a, _, after in _audit(city, "filing.read")] == [("clerk:clerk", "receipt")]
