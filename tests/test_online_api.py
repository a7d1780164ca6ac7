"""Issue 19 through the REST API: applying online (pre-check, files, case number and query code, the 网上预受理
state, take-in with the clock starting or refusal with its reason), answering the one-time notice online, the public
register, the announcements with objections and hearing requests counted before the next step, and the limits."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from service.cases import records
from tests.support.api import Api
from tests.support.onemap import b
from tests.test_cases_api import ALL_HOMESTEAD_MATERIALS, ID_ZHANG, drawn

PUBLIC = "/api/v1/public"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture(autouse=True)
def _map(one_map):
    """Every test here works over the synthetic one map."""


def form(**extra) -> dict:
    """An applicant's homestead form as the page or an app sends it."""
    return {
        "kind": "homestead",
        "applicant_name": "赵六",
        "id_number": ID_ZHANG,
        "phone": "138 0013 8000",
        "village": "张家村",
        "household_id": "HH2",
        "geojson": json.dumps(drawn(b(40, 240, 52, 252))),
        **extra,
    }


def files(*items: tuple[str, str, bytes]) -> list:
    """The multipart parts of materials: (checklist code, file name, bytes) each."""
    return [("materials", (name, data, "application/octet-stream")) for _, name, data in items]


def codes(*items: tuple[str, str, bytes]) -> list[str]:
    return [code for code, _, _ in items]


def apply(api: Api, materials=(), headers=None, **extra):
    data = {**form(**extra), "material_codes": codes(*materials)}
    return api.client.post(f"{PUBLIC}/applications", data=data, files=files(*materials) or None, headers=headers)


def counts(conn) -> tuple[int, ...]:
    """Cases, uploads, audit entries and text messages in the database."""
    return tuple(
        conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("cases", "case_uploads", "audit_log", "outbox")
    )


def test_the_precheck_speaks_plain_words_and_stores_nothing(api: Api, conn):
    before = counts(conn)
    r = api.client.post(
        f"{PUBLIC}/applications/check", data={"kind": "homestead", "geojson": form()["geojson"], "household_id": "HH2"}
    )
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["verdict"] == "pass" and v["summary"].startswith("一张图预检未发现问题")
    assert v["area_m2"] == pytest.approx(144.0, abs=0.01) and v["village"] == "张家村"
    # on basic farmland: blocked, the rule's own sentence in plain words
    farmland = json.dumps(drawn(b(10, 10, 30, 30)))
    v = api.client.post(f"{PUBLIC}/applications/check", data={"kind": "homestead", "geojson": farmland}).json()
    assert v["verdict"] == "block" and "很可能不予受理" in v["summary"]
    assert any("永久基本农田" in f["title"] for f in v["findings"] if f["status"] == "block")
    assert counts(conn) == before


def test_an_application_sent_online_waits_for_the_window(api: Api, conn):
    sent = (("application_form", "申请表.pdf", PDF), ("id_card", "身份证.jpg", JPEG))
    r = apply(api, sent)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["status"] == "online_pending" and out["status_title"] == "网上预受理" and out["files"] == 2
    assert out["case_no"].endswith("-ZJ-000001") and len(out["query_code"]) == 8
    row = conn.execute(
        "SELECT channel, phone, statutory_due, received_by, submitted_at FROM cases WHERE case_no = %s",
        (out["case_no"],),
    ).fetchone()
    assert row[0] == "online" and row[1] == "13800138000" and row[2] is None and row[3] is None and row[4]
    uploads = conn.execute(
        "SELECT purpose, material_code, media_type, size, geom IS NOT NULL FROM case_uploads ORDER BY id"
    ).fetchall()
    assert uploads == [
        ("application", "application_form", "application/pdf", len(PDF), False),
        ("application", "id_card", "image/jpeg", len(JPEG), False),
        ("application", None, "application/geo+json", len(form()["geojson"].encode()), True),
    ]
    # the applicant is told by text message, and the clerks with a phone too (none here: no staff phones yet)
    msgs = conn.execute("SELECT event, recipient, body FROM outbox ORDER BY id").fetchall()
    assert [(m[0], m[1]) for m in msgs] == [("submitted_online", "13800138000")]
    assert out["case_no"] in msgs[0][2]
    # the applicant reads it with the query code: sent online, waiting, no deadline yet
    view = api.client.get(f"{PUBLIC}/cases/{out['case_no']}", headers={"X-Query-Code": out["query_code"]}).json()
    assert view["status"] == "online_pending" and view["channel"] == "online"
    assert [s["title"] for s in view["timeline"]] == ["网上申报"]
    assert len(view["uploads"]) == 3


def test_the_clerk_takes_it_in_and_the_clock_starts(api: Api, conn, monkeypatch):
    out = apply(api, (("application_form", "a.pdf", PDF),)).json()
    case_id = conn.execute("SELECT id FROM cases WHERE case_no = %s", (out["case_no"],)).fetchone()[0]
    case = api.get(f"/api/v1/cases/{case_id}").json()
    assert case["status"] == "online_pending" and case["statutory"]["due"] is None
    on_map = "SELECT on_map FROM cases WHERE id = %s"
    assert conn.execute(on_map, (case_id,)).fetchone() == (None,)  # not on the one map before the window takes it
    assert {t["name"] for t in case["allowed_transitions"]} == {"take_in_online", "refuse"}
    later = records.now() + timedelta(hours=3)
    monkeypatch.setattr(records, "now", lambda: later)
    moved = api.move(case, "take_in_online")
    assert moved.status_code == 200, moved.text
    moved = moved.json()
    assert moved["status"] == "received" and moved["statutory"]["due"] is not None
    row = conn.execute(
        "SELECT received_at, submitted_at, received_by FROM cases WHERE id = %s", (case["id"],)
    ).fetchone()
    assert row[0] == later and row[1] < later and row[2] is not None  # received when taken in, by that clerk
    conn.commit()
    assert conn.execute(on_map, (case_id,)).fetchone() == ("pending",)  # now on the layer of pending cases
    assert "take_in_online" not in {t["name"] for t in moved["allowed_transitions"]}
    # the files sent with the application count as received once the window takes it in (audited)
    assert [m["code"] for m in moved["materials"] if m["received"]] == ["application_form"]
    ticked = conn.execute("SELECT detail FROM audit_log WHERE action = 'case.materials'").fetchall()
    assert ticked == [("网上提交",)]


def test_a_refusal_reaches_the_applicant_with_its_reason(api: Api, conn):
    out = apply(api).json()
    case_id = conn.execute("SELECT id FROM cases WHERE case_no = %s", (out["case_no"],)).fetchone()[0]
    case = api.get(f"/api/v1/cases/{case_id}").json()
    assert api.move(case, "refuse").status_code == 422  # a reason is required
    r = api.move(case, "refuse", reason="申请人不属于本集体经济组织成员")
    assert r.status_code == 200 and r.json()["status"] == "refused"
    view = api.client.get(f"{PUBLIC}/cases/{out['case_no']}", headers={"X-Query-Code": out["query_code"]}).json()
    assert view["status"] == "refused" and "申请人不属于本集体经济组织成员" in json.dumps(view, ensure_ascii=False)
    body = conn.execute("SELECT body FROM outbox WHERE event = 'transition'").fetchone()[0]
    assert "不予受理" in body and "申请人不属于本集体经济组织成员" in body


@pytest.mark.parametrize(
    ("extra", "status", "words"),
    [
        ({"phone": "12345"}, 422, ("手机号码", "is not a mobile number")),
        ({"phone": "02787654321"}, 422, ("手机号码", "is not a mobile number")),
        ({"applicant_name": " "}, 422, ("申请人", "applicant_name")),
        ({"kind": "castle"}, 422, ("申请类型", "unknown kind")),
        ({"geojson": ""}, 422, ("用地范围", "draw the plot")),
        ({"geojson": "{not json"}, 422, ("GeoJSON 无法解析", "does not parse")),
        ({"id_number": "420102198001011234"}, 422, ("身份证", "")),
    ],
)
def test_bad_applications_are_refused_in_both_languages_and_leave_nothing(api: Api, conn, extra, status, words):
    before = counts(conn)
    r = apply(api, **extra)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert " / " in detail and all(w in detail for w in words), detail
    assert counts(conn) == before


@pytest.mark.parametrize(
    ("sent", "status", "words"),
    [
        ((("application_form", "表.pdf", b"<html><script>alert(1)</script></html>"),), 422, ("只接受", "only PDF")),
        ((("application_form", "表.jpg", PNG),), 422, ("与扩展名", "is a PNG")),
        ((("application_form", "表.pdf", b""),), 422, ("文件是空的", "empty")),
        ((("castle_deed", "表.pdf", PDF),), 422, ("未知材料", "unknown material")),
        ((("application_form", "big.pdf", PDF + b"0" * (8 * 1024 * 1024)),), 413, ("上限", "limit of 8 MiB")),
    ],
)
def test_bad_materials_are_refused_before_anything_is_written(api: Api, conn, sent, status, words):
    before = counts(conn)
    r = apply(api, sent)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert all(w in detail for w in words), detail
    assert counts(conn) == before


def test_a_failure_after_the_case_was_numbered_leaves_no_half_case(api: Api, conn, monkeypatch):
    """The boundary's check fails after the case, its checklist and its audit entry were written: all rolled back."""
    from service.cases import online

    def broken(*a, **kw):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(online, "store", broken)
    before = counts(conn)
    with pytest.raises(RuntimeError):
        apply(api, (("application_form", "a.pdf", PDF),))
    assert counts(conn) == before


def test_the_same_sending_twice_opens_one_case(api: Api, conn):
    first = apply(api, headers={"Idempotency-Key": "phone-42"})
    again = apply(api, headers={"Idempotency-Key": "phone-42"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["case_no"] == first.json()["case_no"] and again.json()["query_code"] is None
    assert conn.execute("SELECT count(*) FROM cases").fetchone()[0] == 1


def test_applications_are_limited_per_address(make_settings, staff):
    from fastapi.testclient import TestClient

    from web.app import create_app

    with TestClient(create_app(make_settings(online_applications_per_ip=2))) as client:
        api = Api(client, staff)
        assert apply(api, phone="1").status_code == 422  # wrong or right, every sending counts
        assert apply(api).status_code == 201
        r = apply(api)
        assert r.status_code == 429 and "Retry-After" in r.headers
        assert "网上申报次数已达上限" in r.json()["detail"] and "try again in" in r.json()["detail"]


# --- answering the one-time notice online ---------------------------------------------------------------------


def _pending_with_notice(api: Api, conn) -> tuple[dict, dict]:
    out = apply(api, (("application_form", "a.pdf", PDF),)).json()
    case_id = conn.execute("SELECT id FROM cases WHERE case_no = %s", (out["case_no"],)).fetchone()[0]
    case = api.move(api.get(f"/api/v1/cases/{case_id}").json(), "take_in_online").json()
    assert api.post(f"/api/v1/cases/{case_id}/notices").status_code == 201
    case = api.move(case, "request_supplement").json()
    assert case["status"] == "awaiting_supplement"
    return out, case


def test_the_applicant_answers_the_notice_and_the_clerk_confirms(api: Api, conn):
    out, case = _pending_with_notice(api, conn)
    key = {"X-Query-Code": out["query_code"]}
    view = api.client.get(f"{PUBLIC}/cases/{out['case_no']}", headers=key).json()
    asked = {m["code"] for m in view["notice"]["missing_materials"]}
    assert view["can_supplement"] and asked == set(ALL_HOMESTEAD_MATERIALS) - {"application_form"}
    missing = [(m, f"{m}.pdf", PDF) for m in ALL_HOMESTEAD_MATERIALS]
    moved = json.dumps(drawn(b(42, 242, 54, 254)))
    r = api.client.post(
        f"{PUBLIC}/cases/{out['case_no']}/supplements",
        headers=key,
        data={"material_codes": codes(*missing), "geojson": moved},
        files=files(*missing),
    )
    assert r.status_code == 201, r.text
    assert len(r.json()["uploads"]) == 6
    # nothing on the case changes until the clerk confirms; the clerk sees what waits
    detail = api.get(f"/api/v1/cases/{case['id']}").json()
    assert detail["status"] == "awaiting_supplement"
    assert sum(u["purpose"] == "supplement" and u["status"] == "received" for u in detail["uploads"]) == 6
    r = api.post(f"/api/v1/cases/{case['id']}/supplements/confirm", json={"version": detail["version"]})
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "received"
    assert all(m["received"] for m in done["materials"] if m["required"]), done["materials"]
    assert done["area_m2"] == pytest.approx(144.0, abs=0.01)
    bounds = conn.execute(
        "SELECT ST_XMin(ST_Transform(geom, 4526)) - 38530000 FROM cases WHERE id = %s", (case["id"],)
    ).fetchone()[0]
    assert bounds == pytest.approx(42, abs=0.01)  # the corrected boundary replaced the first
    pauses = conn.execute("SELECT resumed_at IS NOT NULL FROM case_pauses WHERE case_id = %s", (case["id"],)).fetchall()
    assert pauses == [(True,)]  # the clock resumed
    view = api.client.get(f"{PUBLIC}/cases/{out['case_no']}", headers=key).json()
    assert not view["can_supplement"] and "网上提交补正材料" in [s["title"] for s in view["timeline"]]


def test_the_clerk_asks_again_with_a_reason_the_applicant_reads(api: Api, conn):
    out, case = _pending_with_notice(api, conn)
    key = {"X-Query-Code": out["query_code"]}
    sent = (("id_card", "id.png", PNG),)
    r = api.client.post(
        f"{PUBLIC}/cases/{out['case_no']}/supplements",
        headers=key,
        data={"material_codes": codes(*sent)},
        files=files(*sent),
    )
    assert r.status_code == 201, r.text
    version = api.get(f"/api/v1/cases/{case['id']}").json()["version"]
    r = api.post(f"/api/v1/cases/{case['id']}/supplements/return", json={"version": version, "reason": "照片模糊"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "awaiting_supplement"
    view = api.client.get(f"{PUBLIC}/cases/{out['case_no']}", headers=key).json()
    assert view["notice"]["note"] == "照片模糊" and view["can_supplement"]
    assert [u["status"] for u in view["uploads"] if u["purpose"] == "supplement"] == ["returned"]
    assert [u["note"] for u in view["uploads"] if u["purpose"] == "supplement"] == ["照片模糊"]
    # nothing waits now: confirming is refused
    version = api.get(f"/api/v1/cases/{case['id']}").json()["version"]
    r = api.post(f"/api/v1/cases/{case['id']}/supplements/confirm", json={"version": version})
    assert r.status_code == 409 and "没有待确认的网上补正" in r.json()["detail"]


def test_a_supplement_needs_the_code_and_a_notice(api: Api, conn):
    out = apply(api).json()
    sent = (("id_card", "id.png", PNG),)
    data = {"material_codes": codes(*sent)}
    r = api.client.post(
        f"{PUBLIC}/cases/{out['case_no']}/supplements",
        headers={"X-Query-Code": "WRONGCOD"},
        data=data,
        files=files(*sent),
    )
    assert r.status_code == 404
    r = api.client.post(
        f"{PUBLIC}/cases/{out['case_no']}/supplements",
        headers={"X-Query-Code": out["query_code"]},
        data=data,
        files=files(*sent),
    )
    assert r.status_code == 409 and "没有需要补正的告知书" in r.json()["detail"]


# --- the public register and the announcements -----------------------------------------------------------------


def test_the_register_shows_masked_names_and_no_personal_data(api: Api, conn):
    pending = apply(api).json()  # not on the register until the window took it in
    taken = apply(api, applicant_name="欧阳娜娜").json()
    case_id = conn.execute("SELECT id FROM cases WHERE case_no = %s", (taken["case_no"],)).fetchone()[0]
    api.move(api.get(f"/api/v1/cases/{case_id}").json(), "take_in_online")
    r = api.client.get(f"{PUBLIC}/register")
    assert r.status_code == 200
    reg = r.json()
    assert reg["total"] == 1 and [c["case_no"] for c in reg["cases"]] == [taken["case_no"]]
    row = reg["cases"][0]
    assert row["applicant"] == "欧**娜" or row["applicant"].startswith("欧") and "阳娜" not in row["applicant"]
    text = r.text
    for secret in ("13800138000", ID_ZHANG, "欧阳娜娜", pending["case_no"]):
        assert secret not in text
    assert api.client.get(f"{PUBLIC}/register?kind=mining").json()["total"] == 0


def _requisition(api: Api) -> dict:
    body = {
        "kind": "requisition",
        "applicant_name": "咸安区人民政府",
        "applicant_type": "unit",
        "project_name": "咸安经济开发区标准厂房",
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
    return api.move(case, "accept").json()


def test_an_objection_is_counted_before_the_next_step(api: Api, conn):
    case = _requisition(api)
    assert case["status"] == "pre_announcement"
    items = api.client.get(f"{PUBLIC}/announcements").json()
    assert [(a["stage"], a["case_no"], a["open"]) for a in items] == [("pre_announcement", case["case_no"], True)]
    one = api.client.get(f"{PUBLIC}/announcements/{items[0]['id']}").json()
    assert one["boundary"]["type"] == "MultiPolygon" and one["applicant"] == "咸安区人民政府"
    assert one["accepts"] == ["objection"]
    objection = {"kind": "objection", "name": "李四", "phone": "13900139000", "content": "范围包括我家的鱼塘"}
    hearing = {**objection, "kind": "hearing"}
    url = f"{PUBLIC}/announcements/{items[0]['id']}/responses"
    r = api.client.post(url, json=hearing)
    assert r.status_code == 422 and "只受理异议" in r.json()["detail"]
    r = api.client.post(url, json={**objection, "phone": "call me"})
    assert r.status_code == 422 and "电话" in r.json()["detail"]
    r = api.client.post(url, json=objection)
    assert r.status_code == 201, r.text
    response_id = r.json()["id"]
    assert api.client.get(f"{PUBLIC}/announcements/{items[0]['id']}").json()["responses"] == {"objection": 1}
    assert "李四" not in api.client.get(f"{PUBLIC}/announcements/{items[0]['id']}").text
    # the announcement's time is over, but the objection waits for its answer
    conn.execute("UPDATE cases SET state_entered_at = now() - interval '20 days' WHERE id = %s", (case["id"],))
    conn.commit()
    r = api.move(case, "end_pre_announcement")
    assert r.status_code == 409 and "1 条异议" in r.json()["detail"] and "not been answered" in r.json()["detail"]
    detail = api.get(f"/api/v1/cases/{case['id']}").json()
    assert [(x["name"], x["content"]) for x in detail["responses"]] == [("李四", "范围包括我家的鱼塘")]
    answer = f"/api/v1/cases/{case['id']}/responses/{response_id}/answer"
    assert api.post(answer, as_="planner", json={"answer": "x"}).status_code == 403
    r = api.post(answer, json={"answer": "经核实，鱼塘不在征收范围内"})
    assert r.status_code == 200, r.text
    assert api.post(answer, json={"answer": "again"}).status_code == 409
    told = conn.execute("SELECT recipient, body FROM outbox WHERE event = 'response_answered'").fetchall()
    assert told and told[0][0] == "13900139000"
    r = api.move(case, "end_pre_announcement")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_review"


def test_responses_are_refused_once_the_announcement_ended(api: Api, conn):
    case = _requisition(api)
    conn.execute("UPDATE announcements SET ends_at = now() - interval '1 minute' WHERE case_id = %s", (case["id"],))
    conn.commit()
    item = api.client.get(f"{PUBLIC}/announcements").json()[0]
    assert item["open"] is False and api.client.get(f"{PUBLIC}/announcements?open=true").json() == []
    r = api.client.post(
        f"{PUBLIC}/announcements/{item['id']}/responses",
        json={"kind": "objection", "name": "李四", "phone": "13900139000", "content": "x"},
    )
    assert r.status_code == 409 and "公告期已于" in r.json()["detail"] and "ended on" in r.json()["detail"]
