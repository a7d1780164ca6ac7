"""Whole case lifecycles through the REST API against a real PostGIS and the hand-made one map."""

import threading
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from shapely.geometry import mapping
from typer.testing import CliRunner

from service.cli.app import app as cli
from service.core.settings import get_settings
from tests.support.api import Api
from tests.support.onemap import b, lonlat

ALL_HOMESTEAD_MATERIALS = ["application_form", "household_register", "id_card", "village_opinion", "site_plan"]


def resident_id(base17: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return base17 + "10X98765432"[sum(int(d) * w for d, w in zip(base17, weights, strict=True)) % 11]


ID_ZHANG = resident_id("42120219800101123")


def drawn(geom) -> dict:
    return {"type": "Feature", "properties": {}, "geometry": mapping(lonlat(geom))}


@pytest.fixture(autouse=True)
def _map(one_map):
    """Every test here works over the synthetic one map."""


def homestead(api: Api, geom=None, materials=ALL_HOMESTEAD_MATERIALS, household="HH2", key=None, **extra):
    body = {
        "kind": "homestead",
        "applicant_name": "张三丰",
        "id_number": ID_ZHANG,
        "phone": "13800138000",
        "village": "张家村",
        "household_id": household,
        "materials_received": list(materials),
        "boundary": drawn(geom if geom is not None else b(40, 240, 52, 252)),
        **extra,
    }
    headers = {"Idempotency-Key": key} if key else {}
    return api.post("/api/v1/cases", json=body, headers=headers)


def test_homestead_lifecycle(api: Api, conn):
    r = homestead(api, materials=ALL_HOMESTEAD_MATERIALS[:-1])
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["case_no"].startswith("XA-20") and case["case_no"].endswith("-ZJ-000001")
    assert len(case["query_code"]) == 8
    assert case["check"]["verdict"] == "pass"
    assert case["area_m2"] == pytest.approx(144.0, abs=0.01)
    assert case["id_number"] == ID_ZHANG  # staff see the full number on the case page

    r = api.move(case, "accept")
    assert r.status_code == 409
    assert "宅基地坐落平面位置图" in r.json()["detail"]

    notice = api.post(f"/api/v1/cases/{case['id']}/notices").json()
    assert [m["code"] for m in notice["missing_materials"]] == ["site_plan"]
    assert notice["findings"] == []

    case = api.move(case, "request_supplement").json()
    assert case["status"] == "awaiting_supplement" and case["pauses"][0]["resumed_at"] is None
    case = api.post(
        f"/api/v1/cases/{case['id']}/materials", json={"version": case["version"], "received": ALL_HOMESTEAD_MATERIALS}
    ).json()
    case = api.move(case, "supplement_received").json()
    assert case["status"] == "received" and case["pauses"][0]["resumed_at"] is not None

    case = api.move(case, "accept").json()
    assert case["status"] == "in_review"
    tasks = {t["department"]: t for t in case["tasks"]}
    assert set(tasks) == {"村镇规划股", "耕地保护股", "不动产登记股"} and tasks["村镇规划股"]["lead"]

    wrong = api.post(
        f"/api/v1/cases/{case['id']}/tasks/{tasks['耕地保护股']['id']}",
        as_="rev-village",
        json={"version": case["version"], "result": "agree", "opinion": "同意"},
    )
    assert wrong.status_code == 403
    for user, dept in (("rev-village", "村镇规划股"), ("rev-farmland", "耕地保护股"), ("rev-registry", "不动产登记股")):
        r = api.post(
            f"/api/v1/cases/{case['id']}/tasks/{tasks[dept]['id']}",
            as_=user,
            json={"version": case["version"], "result": "agree", "opinion": f"{dept}同意"},
        )
        assert r.status_code == 200, r.text
        case = r.json()
    assert case["status"] == "leader_approval"  # the last opinion moved the case on

    case = api.move(case, "approve", as_="leader").json()
    assert case["status"] == "approved"
    case = api.move(case, "issue_certificate").json()
    case = api.move(case, "archive").json()
    assert case["status"] == "archived"

    trail = [e["action"] for e in api.get(f"/api/v1/cases/{case['id']}/audit").json()]
    for action in (
        "case.create",
        "check.run",
        "notice.issue",
        "transition.request_supplement",
        "review.done",
        "transition.submit_to_leader",
        "transition.approve",
        "transition.archive",
    ):
        assert action in trail


def test_blocking_finding_stops_acceptance_until_a_leader_overrides(api: Api):
    case = homestead(api, geom=b(90, 90, 105, 102)).json()
    assert case["check"]["verdict"] == "block"
    r = api.move(case, "accept")
    assert r.status_code == 409
    assert "HS-BF" in r.json()["detail"] and "HS-CAP" in r.json()["detail"]
    notice = api.post(f"/api/v1/cases/{case['id']}/notices").json()
    rules = {f["rule"]: f for f in notice["findings"]}
    assert set(rules) == {"HS-BF", "HS-VIL", "HS-CAP"}
    assert rules["HS-BF"]["overlap_m2"] == pytest.approx(100.0, abs=0.01)
    assert "第三十五条" in rules["HS-BF"]["basis"]
    assert (
        api.post(
            f"/api/v1/cases/{case['id']}/override", json={"version": case["version"], "reason": "我是窗口"}
        ).status_code
        == 403
    )
    case = api.post(
        f"/api/v1/cases/{case['id']}/override",
        as_="leader",
        json={"version": case["version"], "reason": "县重点民生工程，经集体研究同意"},
    ).json()
    assert api.move(case, "accept").json()["status"] == "in_review"


def test_illegal_and_stale_transitions_are_409(api: Api):
    case = homestead(api).json()
    r = api.move(case, "approve", as_="leader")
    assert r.status_code == 409
    assert sorted(r.json()["allowed"]) == ["accept", "refuse", "request_supplement"]
    api.move(case, "request_supplement")
    r = api.move(case, "supplement_received")  # still the old version
    assert r.status_code == 409 and r.json()["current_version"] == case["version"] + 1
    r = api.move({**case, "version": case["version"] + 1}, "refuse")
    assert r.status_code == 422 and "理由" in r.json()["detail"]


def test_concurrent_approvals_exactly_one_wins(api: Api, conn):
    case = homestead(api).json()
    case = api.move(case, "accept").json()
    conn.execute(
        "UPDATE review_tasks SET status = 'done', result = 'agree', opinion = 'ok' WHERE case_id = %s", (case["id"],)
    )
    conn.execute("UPDATE cases SET status = 'leader_approval', version = version + 1 WHERE id = %s", (case["id"],))
    conn.commit()
    case = api.get(f"/api/v1/cases/{case['id']}").json()
    api.token("leader")
    barrier = threading.Barrier(2)

    def approve(_):
        barrier.wait()
        return api.move(case, "approve", as_="leader").status_code

    with ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(approve, range(2)))
    assert codes == [200, 409]
    n = conn.execute(
        "SELECT count(*) FROM audit_log WHERE case_id = %s AND action = 'transition.approve'", (case["id"],)
    ).fetchone()[0]
    assert n == 1


def test_intake_is_idempotent_and_numbers_are_gap_free_under_concurrency(api: Api, conn):
    first = homestead(api, key="window-3-0001")
    again = homestead(api, key="window-3-0001")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and again.json()["query_code"] is None
    api.token("clerk")
    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(lambda i: homestead(api, key=f"k-{i % 8}").status_code, range(16)))
    assert codes.count(201) == 8 - 1 or codes.count(201) == 8  # k-0..k-7, none repeating "window-3-0001"
    numbers = [r[0] for r in conn.execute("SELECT case_no FROM cases ORDER BY case_no")]
    seqs = [int(n.rsplit("-", 1)[1]) for n in numbers]
    assert seqs == list(range(1, len(numbers) + 1))
    assert len(numbers) == 9


def test_requisition_announcements_and_submission_upward(api: Api, conn):
    body = {
        "kind": "requisition",
        "applicant_name": "咸安区人民政府",
        "applicant_type": "unit",
        "project_name": "咸安经济开发区标准厂房",
        "industry": "制造业",
        "green_channel": True,
        "materials_received": [
            "project_approval",
            "planning_permit",
            "survey_report",
            "boundary_txt",
            "compensation_plan",
            "risk_assessment",
        ],
        "boundary": drawn(b(100, 0, 150, 100)),
    }
    case = api.post("/api/v1/cases", json=body).json()
    assert case["case_no"].endswith("-ZS-000001")
    case = api.move(case, "accept").json()
    assert case["status"] == "pre_announcement"
    r = api.move(case, "end_pre_announcement")
    assert r.status_code == 409 and "10 个工作日" in r.json()["detail"]
    conn.execute("UPDATE cases SET state_entered_at = now() - interval '20 days' WHERE id = %s", (case["id"],))
    conn.commit()
    case = api.move(case, "end_pre_announcement").json()
    assert case["status"] == "in_review" and len(case["tasks"]) == 4
    for t in case["tasks"]:
        user = next(u for u, s in api.staff.items() if s.get("department") == t["department"])
        case = api.post(
            f"/api/v1/cases/{case['id']}/tasks/{t['id']}",
            as_=user,
            json={"version": case["version"], "result": "agree", "opinion": "同意"},
        ).json()
    assert case["status"] == "compensation_announcement"
    assert api.move(case, "end_compensation_announcement").status_code == 409
    conn.execute("UPDATE cases SET state_entered_at = now() - interval '31 days' WHERE id = %s", (case["id"],))
    conn.commit()
    case = api.move(case, "end_compensation_announcement").json()
    assert case["status"] == "leader_approval"
    report = api.get(f"/api/v1/cases/{case['id']}/check").json()
    assert report["approval_level"]["level"] == "province"
    case = api.move(case, "submit_higher", as_="leader").json()
    assert case["status"] == "submitted_higher"
    assert api.move(case, "approve", as_="leader").json()["status"] == "approved"


def test_mining_first_come_first_served(api: Api):
    def mining(name, geom):
        return api.post(
            "/api/v1/cases",
            json={
                "kind": "mining",
                "applicant_name": name,
                "applicant_type": "unit",
                "company": name,
                "mineral": "石灰岩",
                "depth_top": 250,
                "depth_bottom": 50,
                "boundary": drawn(geom),
                "materials_received": [
                    "licence_application",
                    "geological_report",
                    "development_plan",
                    "environmental_assessment",
                    "corner_coordinates",
                    "business_licence",
                ],
            },
        ).json()

    first = mining("丙矿业有限公司", b(600, 0, 700, 100))
    second = mining("丁矿业有限公司", b(650, 0, 750, 100))
    assert first["check"]["verdict"] == "pass"
    assert second["check"]["verdict"] == "block"
    report = api.get(f"/api/v1/cases/{second['id']}/check").json()
    pend = next(r for r in report["rules"] if r["rule"] == "MN-PEND")
    assert [f["attrs"]["case_no"] for f in pend["features"]] == [first["case_no"]]
    assert pend["overlap_m2"] == pytest.approx(5000.0, abs=0.01)


def test_applicant_sees_only_their_own_case_and_rates_it_once(api: Api, conn):
    mine = homestead(api).json()
    other = homestead(api, household="HH3").json()
    code = mine["query_code"]
    r = api.get(f"/api/v1/public/cases/{mine['case_no']}", as_=None, headers={"X-Query-Code": code})
    assert r.status_code == 200
    body = r.json()
    assert body["applicant_name"] == "张**"
    assert "id_number" not in body and "phone" not in body
    assert body["area_mu"] == pytest.approx(144 / (10000 / 15), abs=1e-6)
    assert body["boundary"]["type"] == "MultiPolygon"
    assert body["timeline"][0]["title"] == "收件"
    for case_no, qc in ((other["case_no"], code), (mine["case_no"], "WRONG234"), ("XA-2026-ZJ-999999", code)):
        r = api.get(f"/api/v1/public/cases/{case_no}", as_=None, headers={"X-Query-Code": qc})
        assert r.status_code == 404 and r.json()["detail"] == "案件编号或查询码不正确 / wrong case number or query code"
    r = api.post(
        f"/api/v1/public/cases/{mine['case_no']}/rating", as_=None, headers={"X-Query-Code": code}, json={"stars": 5}
    )
    assert r.status_code == 409  # not decided yet
    api.move(mine, "refuse", reason="申请人撤回")
    r = api.post(
        f"/api/v1/public/cases/{mine['case_no']}/rating",
        as_=None,
        headers={"X-Query-Code": code},
        json={"stars": 4, "comment": "办事快"},
    )
    assert r.status_code == 201
    again = api.post(
        f"/api/v1/public/cases/{mine['case_no']}/rating", as_=None, headers={"X-Query-Code": code}, json={"stars": 1}
    )
    assert again.status_code == 409
    clerk = conn.execute("SELECT u.username FROM ratings r JOIN users u ON u.id = r.clerk_id").fetchone()[0]
    assert clerk == "clerk"


def test_case_list_masks_personal_data(api: Api):
    homestead(api)
    rows = api.get("/api/v1/cases").json()
    assert rows[0]["applicant_name"] == "张**"
    assert rows[0]["phone"] == "138****8000"
    assert rows[0]["id_number"] == ID_ZHANG[:6] + "********" + ID_ZHANG[-4:]


def test_bad_intake_input_is_422_with_the_field(api: Api):
    wrong_check_digit = ID_ZHANG[:-1] + ("1" if ID_ZHANG[-1] != "1" else "2")
    r = homestead(api, id_number=wrong_check_digit)
    assert r.status_code == 422 and "id_number" in r.text
    r = homestead(api, materials=["passport"])
    assert r.status_code == 422 and "passport" in r.json()["detail"]
    r = api.post("/api/v1/cases", json={"kind": "fishing", "applicant_name": "x"})
    assert r.status_code == 422


def test_audit_log_refuses_update_and_delete(api: Api, db_url):
    homestead(api)
    with psycopg.connect(db_url) as c:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            c.execute("UPDATE audit_log SET actor = 'nobody'")
    with psycopg.connect(db_url) as c:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("DELETE FROM audit_log")
    with psycopg.connect(db_url) as c:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("TRUNCATE audit_log")


def test_mining_lifecycle_and_the_due_lists(api: Api, conn, monkeypatch):
    materials = [
        "licence_application",
        "geological_report",
        "development_plan",
        "environmental_assessment",
        "corner_coordinates",
        "business_licence",
    ]
    case = api.post(
        "/api/v1/cases",
        json={
            "kind": "mining",
            "applicant_name": "丙矿业有限公司",
            "applicant_type": "unit",
            "company": "丙矿业有限公司",
            "mineral": "石灰岩",
            "depth_top": 250,
            "depth_bottom": 50,
            "materials_received": materials,
            "boundary": drawn(b(600, 0, 700, 100)),
        },
    ).json()
    assert case["case_no"].endswith("-CK-000001") and case["check"]["verdict"] == "pass"
    assert case["step"]["state"] == "received" and case["step"]["budget_working_days"] == 1
    case = api.move(case, "accept").json()
    assert {t["department"] for t in case["tasks"]} == {"矿产资源管理股", "国土空间规划股", "生态修复股"}
    for user in ("rev-mineral", "rev-planning", "rev-ecology"):
        task = next(t for t in case["tasks"] if t["department"] == api.staff[user]["department"])
        case = api.post(
            f"/api/v1/cases/{case['id']}/tasks/{task['id']}",
            as_=user,
            json={"version": case["version"], "result": "agree", "opinion": "同意"},
        ).json()
    assert case["status"] == "leader_approval"
    case = api.move(case, "approve", as_="leader").json()
    case = api.move(case, "issue_certificate").json()
    assert api.move(case, "archive").json()["status"] == "archived"

    # a homestead whose promise (3.5 working days) has run out is listed as overdue, and not as due soon
    late = homestead(api).json()
    conn.execute(
        "UPDATE cases SET received_at = now() - interval '20 days', state_entered_at = now() - interval '20 days' WHERE id = %s",
        (late["id"],),
    )
    conn.commit()
    monkeypatch.setenv("LANDWINDOW_DATABASE_URL", api.client.app.state.settings.database_url)
    get_settings.cache_clear()
    try:
        assert CliRunner().invoke(cli, ["calendar", "recompute"]).exit_code == 0
    finally:
        get_settings.cache_clear()
    overdue = api.get("/api/v1/cases?due=overdue").json()
    assert [c["case_no"] for c in overdue] == [late["case_no"]]
    assert overdue[0]["promised"]["status"] == "overdue" and overdue[0]["promised"]["remaining_working_days"] < 0
    assert late["case_no"] not in [c["case_no"] for c in api.get("/api/v1/cases?due=soon").json()]
