"""After grant: an approved mining case becomes a valid right in mining_rights; 延续, 变更, 转让 and 注销 change it
through the workflow (its roles, reasons and guards) and keep its history; a refused change writes nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support.cases import Window
from tests.support.onemap import b


@pytest.fixture
def w(api, conn, one_map) -> Window:
    return Window(api, conn)


def today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def granted(w: Window, geom=None, top=250.0, bottom=50.0) -> dict:
    case = w.intake(
        "mining",
        geom or b(600, 0, 700, 100),
        applicant="丙矿业有限公司",
        mineral="石灰岩",
        depth_top=top,
        depth_bottom=bottom,
    )
    return w.move(w.approve(case), "issue_certificate")


def right_row(conn, case_no: str):
    return conn.execute(
        "SELECT licence_no, holder, mineral, depth_top, depth_bottom, valid_from, valid_to FROM mining_rights "
        "WHERE props->>'case_no' = %s",
        (case_no,),
    ).fetchone()


def act(w: Window, case: dict, as_: str = "leader", **body):
    fresh = w.api.get(f"/api/v1/cases/{case['id']}").json()
    return w.api.post(f"/api/v1/cases/{case['id']}/mining-right", as_=as_, json={"version": fresh["version"], **body})


def test_an_approved_mining_case_becomes_a_valid_right_with_its_history(w: Window, conn, api):
    version_before = conn.execute("SELECT version FROM layer_versions WHERE layer = 'mining_rights'").fetchone()[0]
    case = granted(w)
    licence, holder, mineral, top, bottom, start, end = right_row(conn, case["case_no"])
    assert licence == f"C421202{today().year}000001"
    assert (holder, mineral, top, bottom) == ("丙矿业有限公司", "石灰岩", 250.0, 50.0)
    assert start == today() and end == start.replace(year=start.year + 10) - timedelta(days=1)
    assert conn.execute("SELECT version FROM layer_versions WHERE layer = 'mining_rights'").fetchone()[0] == (
        version_before + 1
    )
    right = api.get(f"/api/v1/cases/{case['id']}/mining-right").json()
    assert right["licence_no"] == licence and right["valid"] is True
    assert [h["action"] for h in right["history"]] == ["grant"]
    assert right["history"][0]["after"]["valid_to"] == end.isoformat()
    # the approval is no bare move on the way: a second grant is impossible, the changes need their form
    r = api.move(api.get(f"/api/v1/cases/{case['id']}").json(), "renew_right", as_="leader")
    assert r.status_code == 409 and "mining-right" in r.json()["detail"]


def test_renewal_transfer_and_change_keep_the_history(w: Window, conn, api):
    case = granted(w)
    licence, *_, end = right_row(conn, case["case_no"])
    # only the leader decides; the new date must lie after the present one and within 30 years
    assert act(w, case, as_="clerk", action="renew", valid_to="2040-01-01").status_code == 403
    r = act(w, case, action="renew")
    assert r.status_code == 422 and "valid_to" in r.json()["detail"]
    r = act(w, case, action="renew", valid_to=(end - timedelta(days=1)).isoformat())
    assert r.status_code == 422 and "must be after the present one" in r.json()["detail"]
    too_late = today().replace(year=today().year + 31)
    r = act(w, case, action="renew", valid_to=too_late.isoformat())
    assert r.status_code == 422 and "at most" in r.json()["detail"]
    new_end = end.replace(year=end.year + 5)
    r = act(w, case, action="renew", valid_to=new_end.isoformat(), reason="储量未采完")
    assert r.status_code == 200, r.text
    assert r.json()["right"]["valid_to"] == new_end.isoformat()
    r = act(w, case, action="transfer", holder="丙矿业有限公司")
    assert r.status_code == 422 and "present one" in r.json()["detail"]
    r = act(w, case, action="transfer", holder="庚矿业集团", reason="整体转让")
    assert r.status_code == 200 and r.json()["right"]["holder"] == "庚矿业集团"
    r = act(w, case, action="change", mineral="白云岩")
    assert r.status_code == 200 and r.json()["right"]["mineral"] == "白云岩"
    assert right_row(conn, case["case_no"])[:3] == (licence, "庚矿业集团", "白云岩")
    history = r.json()["right"]["history"]
    assert [h["action"] for h in history] == ["grant", "renew", "transfer", "change"]
    assert (
        history[1]["before"]["valid_to"] == end.isoformat() and history[1]["after"]["valid_to"] == new_end.isoformat()
    )
    assert (history[2]["before"]["holder"], history[2]["after"]["holder"]) == ("丙矿业有限公司", "庚矿业集团")
    assert history[1]["reason"] == "储量未采完"
    assert r.json()["case"]["status"] == "certified"
    trail = [e["action"] for e in api.get(f"/api/v1/cases/{case['id']}/audit").json()]
    assert {"transition.renew_right", "transition.transfer_right", "transition.change_right"} <= set(trail)


def test_a_change_of_depths_into_another_right_is_refused_and_writes_nothing(w: Window, conn):
    # beside C001 (depths 100–300 m, valid to 2030): 2 000 m² over it in plan, below it in depth
    case = granted(w, b(480, 0, 560, 100), top=50.0, bottom=0.0)
    before = right_row(conn, case["case_no"])
    version = w.api.get(f"/api/v1/cases/{case['id']}").json()["version"]
    r = act(w, case, action="change", depth_top=150.0)
    assert r.status_code == 409
    assert "C001" in r.json()["detail"] and "2000.00" in r.json()["detail"]
    assert right_row(conn, case["case_no"]) == before
    assert w.api.get(f"/api/v1/cases/{case['id']}").json()["version"] == version
    assert [h["action"] for h in w.api.get(f"/api/v1/cases/{case['id']}/mining-right").json()["history"]] == ["grant"]
    r = act(w, case, action="change", depth_top=-10.0, depth_bottom=0.0)
    assert r.status_code == 422 and "must be above its bottom" in r.json()["detail"]


def test_cancellation_ends_the_right_and_frees_the_area(w: Window, conn):
    case = granted(w)
    blocked = w.intake("mining", b(650, 0, 750, 100), applicant="丁矿业有限公司", depth_top=200, depth_bottom=0)
    assert w.rule(blocked, "MN-RIGHT")["status"] == "block"
    assert act(w, case, action="cancel").status_code == 422  # a cancellation needs its reason
    r = act(w, case, action="cancel", reason="矿山闭坑，申请注销")
    assert r.status_code == 200, r.text
    assert r.json()["case"]["status"] == "cancelled"
    right = r.json()["right"]
    assert right["valid_to"] == (today() - timedelta(days=1)).isoformat() and right["valid"] is False
    assert [h["action"] for h in right["history"]] == ["grant", "cancel"]
    # the application waiting beside it was checked again at once: the area is free
    assert w.rule(blocked, "MN-RIGHT")["status"] == "pass"
    assert w.check(blocked)["verdict"] == "pass"
    assert conn.execute("SELECT on_map FROM cases WHERE id = %s", (case["id"],)).fetchone()[0] is None
