"""Issue 15 below the browser: what the journeys rely on, each with the exact figure, status and message — Beijing
times everywhere a person reads them, the paperwork open only while the state allows (audited), the intake's token,
the figures a clerk reads out, search and paging, the map's finder, query codes as typed and reissued, the notice's
signature, the receipt on one page, places from the map, the planner's refusals and downloads."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader
from sqlalchemy import event

from service.cases import records
from service.cases.lookup import normal_case_no, normal_query_code
from service.clocks.local_time import local, local_day, local_day_zh, local_minute
from service.core.models import AuditEntry
from tests.support.onemap import b, lonlat
from tests.test_cases_api import ALL_HOMESTEAD_MATERIALS, ID_ZHANG, drawn, homestead
from tests.test_web_review import csrf, login, section

NIGHT = datetime(2026, 12, 2, 17, 30, tzinfo=UTC)  # 2026-12-03 01:30 in Beijing: the date differs


# --- item 4: one formatting helper ---------------------------------------------------------------------------------


def test_a_stored_utc_time_is_shown_in_beijing_time():
    assert local_minute(NIGHT) == "2026-12-03 01:30"
    assert local_day(NIGHT) == "2026-12-03" and local_day_zh(NIGHT) == "2026年12月03日"
    assert local_minute("2026-12-02T17:30:00+00:00") == "2026-12-03 01:30"  # ISO text from a JSON view
    assert local_minute("2026-12-03T01:30:00+08:00") == "2026-12-03 01:30"  # already Beijing: unchanged
    assert local_minute(datetime(2026, 12, 2, 17, 30)) == "2026-12-03 01:30"  # naive = UTC, as stored
    assert local(NIGHT).utcoffset().total_seconds() == 8 * 3600
    assert local_minute(None) == "" and local_minute("", "—") == "—"


@pytest.fixture
def night(monkeypatch):
    """The service's clock at 01:30 Beijing time (17:30 UTC the day before), the audit log's too."""
    monkeypatch.setattr(records, "now", lambda: NIGHT)

    def stamp(mapper, connection, entry):
        entry.at = NIGHT

    event.listen(AuditEntry, "before_insert", stamp)
    yield NIGHT
    event.remove(AuditEntry, "before_insert", stamp)


def test_pages_documents_and_downloads_show_beijing_time(api, one_map, night):
    client = api.client
    case = homestead(api, geom=b(40, 40, 52, 52), materials=ALL_HOMESTEAD_MATERIALS[:3]).json()
    code = case["query_code"]
    assert api.post(f"/api/v1/cases/{case['id']}/notices").status_code == 201
    case = api.move(case, "request_supplement").json()
    login(client, "clerk", "clerk-demo-2026")
    page = client.get(f"/cases/{case['id']}").text
    timeline = section(page, "timeline")
    assert "2026-12-03 01:30" in timeline and "2026-12-02 17:30" not in timeline
    assert "自 2026-12-03 01:30 起暂停" in section(page, "clock-paused")
    assert "2026年12月03日" in client.get(f"/cases/{case['id']}/notice").text  # not the UTC date, 12月02日
    receipt = client.get(f"/cases/{case['id']}/receipt").text
    assert "2026-12-03 01:30" in receipt and "2026年12月03日" in receipt
    portal = client.post(
        "/portal", data={"csrf_token": csrf(client.get("/portal").text), "case_no": case["case_no"], "query_code": code}
    ).text
    assert "2026-12-03 01:30" in section(portal, "progress") and "2026-12-03 01:30" in section(portal, "portal-paused")
    login(client, "planner", "planner-demo-2026")
    table = list(csv.reader(io.StringIO(client.get("/planner/conversions.csv").content.decode("utf-8-sig"))))
    assert (
        table[1][0] == case["case_no"] and table[1][1] == "村民建房（农村宅基地）" and table[1][6] == "2026-12-03 01:30"
    )
    # a day chosen in Beijing finds it: 12-03, not the UTC 12-02
    assert case["case_no"] in client.get("/planner", params={"from": "2026-12-03", "to": "2026-12-03"}).text
    assert case["case_no"] not in client.get("/planner", params={"from": "2026-12-02", "to": "2026-12-02"}).text


# --- item 1: the paperwork while the state allows it, audited ----------------------------------------------------


def test_the_paperwork_changes_while_open_and_every_change_is_audited(api, one_map, conn):
    client = api.client
    case = homestead(api, materials=ALL_HOMESTEAD_MATERIALS[:3]).json()
    login(client, "clerk", "clerk-demo-2026")
    page = client.get(f"/cases/{case['id']}").text
    token, version = csrf(page), case["version"]
    # a wrong ID number is refused with what and where, nothing changes
    r = client.post(
        f"/cases/{case['id']}/applicant",
        data={"csrf_token": token, "version": version, "applicant_name": "张三丰", "id_number": "421202198001010000"},
    )
    assert r.status_code == 422 and "身份证号：421202198001010000 校验不通过" in section(r.text, "case-error")
    # a new household: the check runs again (一户一宅 reads it), audited with before and after
    r = client.post(
        f"/cases/{case['id']}/applicant",
        data={"csrf_token": token, "version": version, "applicant_name": "张三丰", "household_id": "HH1"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    detail = api.get(f"/api/v1/cases/{case['id']}").json()
    assert detail["household_id"] == "HH1" and detail["check"]["verdict"] == "block"  # HH1 holds JC001 already
    row = conn.execute(
        "SELECT before, after FROM audit_log WHERE case_id = %s AND action = 'case.applicant'", (case["id"],)
    ).fetchone()
    assert row == ({"household_id": "HH2"}, {"household_id": "HH1"})
    triggers = [
        r[0] for r in conn.execute("SELECT trigger FROM check_runs WHERE case_id = %s ORDER BY id", (case["id"],))
    ]
    assert triggers == ["boundary", "applicant"]
    # back to the household that holds nothing: checked again, passes
    r = client.post(
        f"/cases/{case['id']}/applicant",
        data={"csrf_token": token, "version": detail["version"], "applicant_name": "张三丰", "household_id": "HH2"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    # the materials ticked on the page; once accepted, nothing of the paperwork changes any more
    detail = api.get(f"/api/v1/cases/{case['id']}").json()
    assert detail["check"]["verdict"] == "pass"
    r = client.post(
        f"/cases/{case['id']}/materials",
        data={"csrf_token": token, "version": detail["version"], "materials": ALL_HOMESTEAD_MATERIALS},
        follow_redirects=False,
    )
    assert r.status_code == 303
    detail = api.get(f"/api/v1/cases/{case['id']}").json()
    assert all(m["received"] for m in detail["materials"] if m["required"])
    moved = api.move(detail, "accept").json()
    assert moved["status"] == "in_review" and moved["editable"] is False
    r = api.post(f"/api/v1/cases/{case['id']}/materials", json={"version": moved["version"], "received": []})
    assert r.status_code == 409 and "不能再修改材料（仅在已收件、待补正时可改）" in r.json()["detail"]
    page = client.get(f"/cases/{case['id']}").text
    assert 'id="materials-form"' not in page and 'id="edit-applicant"' not in page and 'id="edit-boundary"' not in page


# --- item 3: the intake form's token --------------------------------------------------------------------------------


def test_the_same_intake_form_sent_twice_takes_one_case_in(api, one_map, conn):
    client = api.client
    login(client, "clerk", "clerk-demo-2026")
    form = client.get("/cases/new").text
    token = re.search(r'name="intake_token" value="([^"]+)"', form).group(1)
    data = {
        "csrf_token": csrf(form),
        "intake_token": token,
        "kind": "homestead",
        "applicant_name": "王五",
        "household_id": "HH7",
        "action": "create",
        "boundary_geojson": json.dumps(drawn(b(40, 240, 52, 252))),
    }
    first = client.post("/cases/new", data=data, follow_redirects=False)
    again = client.post("/cases/new", data=data, follow_redirects=False)
    assert first.status_code == 303 and again.status_code == 303
    case_id = int(first.headers["location"].rsplit("/", 1)[1])
    assert again.headers["location"] == f"/cases/{case_id}?already=1"
    assert conn.execute("SELECT count(*) FROM cases").fetchone()[0] == 1
    assert "这份申请已经收件，没有重复登记" in client.get(again.headers["location"]).text
    # a new form is a new application
    other = client.get("/cases/new").text
    assert re.search(r'name="intake_token" value="([^"]+)"', other).group(1) != token


def test_a_refused_intake_keeps_the_drawn_boundary_and_its_check(api, one_map):
    client = api.client
    login(client, "clerk", "clerk-demo-2026")
    form = client.get("/cases/new").text
    plot = json.dumps(drawn(b(40, 240, 52, 252)))
    r = client.post(
        "/cases/new",
        data={
            "csrf_token": csrf(form),
            "kind": "homestead",
            "applicant_name": "",
            "action": "create",
            "boundary_geojson": plot,
        },
    )
    assert r.status_code == 422 and "申请人：请填写申请人姓名或单位名称" in section(r.text, "intake-error")
    assert 'id="check-report"' in r.text and "144.00 ㎡" in r.text  # the check stays beside the refusal
    kept = re.search(r'id="boundary_geojson" value="([^"]*)"', r.text).group(1)
    assert json.loads(kept.replace("&#34;", '"').replace("&quot;", '"')) == json.loads(plot)


# --- item 6: what a clerk reads instead of codes ----------------------------------------------------------------------


def test_the_pages_name_verdicts_people_fields_and_land_classes(api, one_map):
    client = api.client
    case = homestead(api).json()
    login(client, "clerk", "clerk-demo-2026")
    page = client.get(f"/cases/{case['id']}").text
    report = section(page, "check-report")
    assert "通过" in report and not re.search(r">\s*(pass|warn|block)\s*<", report)
    assert "窗口受理员 王芳" in section(page, "timeline") and "clerk:clerk" not in page
    assert 'id="map-legend"' in page and "禁止类冲突" in page and "永久基本农田" in section(page, "map-legend")
    labels = json.loads(re.search(r'id="lw-map-labels">(.*?)</script>', page, re.S).group(1))
    assert labels["fields"]["dlbm"] == "地类" and labels["values"]["owner_kind"]["person"] == "个人"
    assert labels["landuse"]["0101"] == "水田" and labels["landuse"]["01"] == "耕地"
    english = json.loads(
        re.search(r'id="lw-map-labels">(.*?)</script>', client.get(f"/cases/{case['id']}?lang=en").text, re.S).group(1)
    )
    assert english["fields"]["owner_kind"] == "Owner" and english["values"]["owner_kind"]["state"] == "state-owned"
    one_map_page = client.get("/map?lang=zh").text
    assert "01 耕地" in section(one_map_page, "landuse-legend") and "12 其他土地" in one_map_page
    bench = client.get("/workbench").text
    assert ">通过<" in section(bench, "all-cases") and "窗口受理人员" in bench and "clerk · clerk" not in bench


def test_the_notice_is_signed_by_the_office_and_the_clerk_and_prints_no_maintainer_notes(api, one_map):
    client = api.client
    # 150 m² on paddy: over the 140 m² cap for cultivated land, whose basis carries a [verify] note in the data
    case = homestead(api, geom=b(40, 40, 52, 52.5), materials=ALL_HOMESTEAD_MATERIALS[:2]).json()
    assert api.post(f"/api/v1/cases/{case['id']}/notices").status_code == 201
    login(client, "clerk", "clerk-demo-2026")
    notice = client.get(f"/cases/{case['id']}/notice").text
    assert "HS-CAP" in notice and "140平方米" in notice and "[verify]" not in notice
    sign = re.search(r'<div class="sign">(.*?)</div>', notice, re.S).group(1)
    assert (
        "咸宁市咸安区自然资源和规划局" in sign
        and "经办人：窗口受理员 王芳" in sign
        and "县自然资源和规划局" not in sign
    )
    receipt_sign = re.search(r'<div class="sign">(.*?)<br>', client.get(f"/cases/{case['id']}/receipt").text).group(1)
    assert receipt_sign in sign  # the same office on both
    assert "[verify]" not in client.get(f"/cases/{case['id']}/check-report").text


def test_the_receipt_fits_on_one_page(api, one_map, tmp_path):
    client = api.client
    case = homestead(api, materials=ALL_HOMESTEAD_MATERIALS[:4]).json()
    login(client, "clerk", "clerk-demo-2026")
    page = client.get(f"/cases/{case['id']}").text
    pdf = client.post(
        f"/cases/{case['id']}/receipt.pdf", data={"csrf_token": csrf(page), "query_code": case["query_code"]}
    ).content
    (tmp_path / "receipt.pdf").write_bytes(pdf)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1


# --- item 7: the figures a clerk reads out -------------------------------------------------------------------------


def test_the_case_page_reads_out_farmland_owners_and_compensation_without_state_land(api, one_map, load_layer):
    load_layer(
        "parcels",
        [
            {
                "parcel_no": "JA001",
                "owner": "张家村第一村民小组",
                "owner_kind": "collective",
                "right_type": "集体土地所有权",
            },
            {
                "parcel_no": "GY001",
                "owner": "咸安区人民政府",
                "owner_kind": "state",
                "right_type": "国有建设用地使用权",
            },
        ],
        [b(0, 0, 100, 100), b(100, 0, 200, 100)],
    )
    case = api.post(
        "/api/v1/cases",
        json={
            "kind": "requisition",
            "applicant_type": "unit",
            "applicant_name": "县工业园",
            "boundary": drawn(b(0, 0, 200, 100)),
        },
    ).json()
    fig = case["figures"]
    assert fig["cultivated_m2"] == pytest.approx(20000, abs=0.5) and fig["cultivated_mu"] == pytest.approx(
        30, abs=0.001
    )
    comp = fig["compensation"]
    # zone Ⅰ (50 000 yuan/mu) holds 150 m of the boundary, zone Ⅱ (60 000) 50 m; the state's parcel (x 100–200)
    # takes 50 m of each: Ⅰ keeps 10 000 m² = 15 mu = 750 000 yuan, Ⅱ nothing
    # (the zones' areas come from the check, the state's share from PostGIS: they agree to a few cm²)
    assert comp["total"] == pytest.approx(750_000, rel=1e-5) and comp["state_m2"] == pytest.approx(10_000, abs=0.5)
    assert [round(z["amount"], -2) for z in comp["zones"]] == [750_000, 0]
    assert comp["land_compensation"] == pytest.approx(300_000, rel=1e-5)
    assert [(o["owner"], o["compensated"]) for o in fig["owners"]] == [
        ("张家村第一村民小组", True),
        ("咸安区人民政府", False),
    ] or [(o["owner"], o["compensated"]) for o in fig["owners"]] == [
        ("咸安区人民政府", False),
        ("张家村第一村民小组", True),
    ]
    login(api.client, "clerk", "clerk-demo-2026")
    page = api.client.get(f"/cases/{case['id']}").text
    assert re.fullmatch(r"<b>750,00[0-9]\.\d\d</b>", section(page, "compensation-total").strip())
    assert re.search(r"国有土地 (9,999\.9\d|10,000\.0\d) 平方米（15\.0000 亩）不属征收范围，未计入补偿估算", page)
    assert "20,000.00 ㎡" in section(page, "figures") and "国有" in section(page, "owners")
    report = api.client.get(f"/cases/{case['id']}/check-report").text  # the printed report says the same
    assert re.search(r"<b>750,00[0-9]\.\d\d</b>", report) and "不属征收范围，未计入补偿估算" in report
    assert "其中农用地 20,000.00 平方米" in report and "<td>国有</td>" in report


def test_mining_depth_and_mineral_go_from_the_intake_form_to_the_report(api, one_map, conn):
    client = api.client
    login(client, "clerk", "clerk-demo-2026")
    form = client.get("/cases/new").text
    assert 'name="mineral"' in form and 'name="depth_top"' in form
    r = client.post(
        "/cases/new",
        data={
            "csrf_token": csrf(form),
            "kind": "mining",
            "applicant_type": "unit",
            "applicant_name": "丙矿业有限公司",
            "mineral": "建筑用灰岩",
            "depth_top": "100",
            "depth_bottom": "300",
            "action": "create",
            "boundary_geojson": json.dumps(drawn(b(420, 20, 480, 80))),
        },
    )
    assert r.status_code == 422 and "开采标高：上限 100 米须高于下限 300 米" in r.text
    r = client.post(
        "/cases/new",
        data={
            "csrf_token": csrf(form),
            "kind": "mining",
            "applicant_type": "unit",
            "applicant_name": "丙矿业有限公司",
            "mineral": "建筑用灰岩",
            "depth_top": "300",
            "depth_bottom": "150",
            "action": "create",
            "boundary_geojson": json.dumps(drawn(b(420, 20, 480, 80))),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    case_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert conn.execute("SELECT mineral, depth_top, depth_bottom FROM cases WHERE id = %s", (case_id,)).fetchone() == (
        "建筑用灰岩",
        300.0,
        150.0,
    )
    report = client.get(f"/cases/{case_id}/check-report").text
    assert "建筑用灰岩" in report and "300 米至 150 米标高" in report
    assert "标高 300.0 米至 150.0 米" in client.get(f"/cases/{case_id}").text


# --- item 8: finding things -------------------------------------------------------------------------------------------


def test_the_workbench_finds_cases_and_pages_past_three_hundred(api, one_map):
    client = api.client
    mine = homestead(api, geom=b(10, 10, 30, 30)).json()  # over parcel JA001 of 张家村第一村民小组
    for i in range(301):
        assert (
            api.post("/api/v1/cases", json={"kind": "homestead", "applicant_name": f"申请人{i:03d}"}).status_code == 201
        )
    login(client, "clerk", "clerk-demo-2026")
    for typed in (mine["case_no"].lower(), "三丰", ID_ZHANG, "JA001", "张家村", "13800138000"):
        html = client.get("/workbench", params={"q": typed}).text
        assert re.findall(r'<a href="/cases/(\d+)">', section(html, "all-cases")) == [str(mine["id"])], typed
    html = client.get("/workbench", params={"q": "没有这个人"}).text
    assert "没有与“没有这个人”相符的案件" in html
    first = client.get("/workbench").text
    assert "第 1–100 件，共 302 件" in first and "第 1 / 4 页" in first
    last = client.get("/workbench", params={"page": 4}).text
    assert "第 301–302 件，共 302 件" in last and mine["case_no"] in last and 'rel="next"' not in last
    assert 'href="/workbench?page=3" rel="prev"' in last


def test_the_map_goes_to_a_parcel_a_village_or_a_coordinate(api, one_map):
    client = api.client
    r = client.get("/map", params={"go": "JA001"})
    assert r.status_code == 200 and "宗地" in section(r.text, "map-found") and "JA001" in section(r.text, "map-found")
    assert "fitBounds" in r.text
    r = client.get("/map", params={"go": "张家村"})
    assert r.status_code == 200 and "村" in section(r.text, "map-found")
    point = lonlat(b(50, 50, 50.001, 50.001)).centroid
    r = client.get("/map", params={"go": f"{point.y:.6f}, {point.x:.6f}"})  # lat, lon as a phone's GPS shows it
    assert r.status_code == 200 and f"{point.x:.6f}, {point.y:.6f}" in section(r.text, "map-found")
    r = client.get("/map", params={"go": "3303050, 38530050"})  # a surveyor's X, Y in zone 38
    assert r.status_code == 200 and "坐标" in section(r.text, "map-found")
    r = client.get("/map", params={"go": "ZZ999"})
    assert r.status_code == 404 and "一张图上没有找到“ZZ999”" in section(r.text, "map-search-error")
    r = client.get("/map", params={"go": "200, 100"})
    assert r.status_code == 422 and "坐标“200, 100”不在可识别的范围" in r.text


# --- items 10 and 12: query codes as typed; a lost one reissued --------------------------------------------------------


def test_case_numbers_and_query_codes_are_read_as_typed():
    assert normal_case_no(" xa-2026-zj-000001 ") == "XA-2026-ZJ-000001"
    assert normal_case_no("Xa－2026－Zj－000001") == "XA-2026-ZJ-000001"  # full-width dashes of a Chinese keyboard
    assert normal_case_no("ＸＡ—2026—ZJ—000001") == "XA-2026-ZJ-000001"
    assert normal_query_code("2ugp h8q7") == "2UGPH8Q7" and normal_query_code("２ＵＧＰ-Ｈ８Ｑ７") == "2UGPH8Q7"


def test_a_typed_case_number_and_code_find_the_case_and_burn_no_attempt(api, one_map, make_settings):
    case = homestead(api).json()
    typed_no = " " + case["case_no"].lower().replace("-", "－") + " "
    typed_code = case["query_code"].lower()[:4] + " " + case["query_code"].lower()[4:]
    r = api.get(f"/api/v1/public/cases/{typed_no.strip()}", as_=None, headers={"X-Query-Code": typed_code})
    assert r.status_code == 200 and r.json()["case_no"] == case["case_no"]
    # wrong codes under the number typed both ways count against the one case number
    for i in range(10):
        number = case["case_no"] if i % 2 else case["case_no"].lower()
        assert (
            api.get(f"/api/v1/public/cases/{number}", as_=None, headers={"X-Query-Code": "WRONG222"}).status_code == 404
        )
    r = api.get(f"/api/v1/public/cases/{case['case_no']}", as_=None, headers={"X-Query-Code": case["query_code"]})
    assert r.status_code == 429


def test_a_clerk_reissues_a_lost_query_code_and_the_old_one_stops_working(api, one_map, conn):
    client = api.client
    case = homestead(api).json()
    old = case["query_code"]
    login(client, "clerk", "clerk-demo-2026")
    page = client.get(f"/cases/{case['id']}").text
    version = re.search(r'id="reissue-code".*?name="version" value="(\d+)"', page, re.S).group(1)
    r = client.post(
        f"/cases/{case['id']}/query-code", data={"csrf_token": csrf(page), "version": version, "checked": " "}
    )
    assert r.status_code == 422 and "补发查询码：请写明核验申请人身份的方式" in r.text
    r = client.post(
        f"/cases/{case['id']}/query-code",
        data={"csrf_token": csrf(page), "version": version, "checked": "身份证原件已核验"},
    )
    assert r.status_code == 200
    new = re.search(r'<b class="code">(\w+)</b>', section(r.text, "query-code")).group(1)
    assert new != old
    headers = {"X-Query-Code": old}
    assert api.get(f"/api/v1/public/cases/{case['case_no']}", as_=None, headers=headers).status_code == 404
    assert (
        api.get(f"/api/v1/public/cases/{case['case_no']}", as_=None, headers={"X-Query-Code": new}).status_code == 200
    )
    actor, detail, after = conn.execute(
        "SELECT actor, detail, after FROM audit_log WHERE case_id = %s AND action = 'case.query_code'", (case["id"],)
    ).fetchone()
    assert actor == "clerk:clerk" and detail == "身份证原件已核验" and after == {"reissued": True}
    assert new not in json.dumps(after) and old not in json.dumps(after)
    login(client, "leader", "leader-demo-2026")
    assert 'id="reissue-code"' not in client.get(f"/cases/{case['id']}").text  # a clerk's task (permissions.toml)


# --- item 11: what the applicant reads ----------------------------------------------------------------------------------


def test_the_applicant_reads_the_notice_while_it_asks_and_the_decision_once_made(api, one_map):
    client = api.client
    case = homestead(api, materials=ALL_HOMESTEAD_MATERIALS[:3]).json()
    code = case["query_code"]
    api.post(f"/api/v1/cases/{case['id']}/notices")
    case = api.move(case, "request_supplement").json()
    view = api.get(f"/api/v1/public/cases/{case['case_no']}", as_=None, headers={"X-Query-Code": code}).json()
    assert [m["code"] for m in view["notice"]["missing_materials"]] == ["village_opinion", "site_plan"]
    assert view["paused_since"] and view["decision"] is None
    case = api.move(case, "supplement_received").json()
    case = api.post(
        f"/api/v1/cases/{case['id']}/materials", json={"version": case["version"], "received": ALL_HOMESTEAD_MATERIALS}
    ).json()
    view = api.get(f"/api/v1/public/cases/{case['case_no']}", as_=None, headers={"X-Query-Code": code}).json()
    assert view["notice"] is None and view["paused_since"] is None  # supplied: the notice no longer asks
    case = api.move(case, "refuse", reason="申请人自愿撤回申请。").json()
    view = api.get(f"/api/v1/public/cases/{case['case_no']}", as_=None, headers={"X-Query-Code": code}).json()
    decision = view["decision"]
    assert decision["outcome"] == "refuse" and decision["title"] == "不予受理决定书"
    assert decision["reason"] == "申请人自愿撤回申请。" and "行政复议" in decision["appeal"]
    assert decision["documents"] == ["decision"]
    portal = client.post(
        "/portal", data={"csrf_token": csrf(client.get("/portal").text), "case_no": case["case_no"], "query_code": code}
    ).text
    assert "申请人自愿撤回申请。" in section(portal, "decision-reason")
    assert re.search(r'name="stars" value="\d"[^>]*checked', portal) is None  # the rating starts unselected
    r = client.post(
        "/portal/document",
        data={
            "csrf_token": csrf(portal),
            "case_no": case["case_no"].lower(),
            "query_code": code.lower(),
            "document": "decision",
        },
    )
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert r.headers["content-disposition"] == f'attachment; filename="decision-{case["case_no"]}.pdf"'
    r = client.post(
        "/portal/document",
        data={"csrf_token": csrf(portal), "case_no": case["case_no"], "query_code": code, "document": "certificate"},
    )
    assert r.status_code == 409 and "未获批准" in r.text


# --- item 13: places from the map, the planner's refusals ---------------------------------------------------------------


def test_the_village_comes_from_the_map_and_a_different_one_is_a_warning(api, one_map, load_layer):
    load_layer("townships", [{"name": "向阳镇", "code": "421202100"}], [b(-1000, -1000, 1000, 1000)])
    plain = homestead(api, village="").json()
    assert (plain["township"], plain["village"]) == ("向阳镇", "张家村") and plain["place_warnings"] == []
    assert plain["boundary_source"]["places_from_map"] == ["township", "village"]
    wrong = homestead(api, village="李家村", household="HH3").json()
    assert wrong["village"] == "李家村" and wrong["township"] == "向阳镇"
    assert wrong["place_warnings"] == [
        {
            "field": "village",
            "entered": "李家村",
            "map": "张家村",
            "message": "填写的村“李家村”与一张图不符：用地范围位于“张家村” / the entered village '李家村' differs from "
            "the map, which puts the boundary in '张家村'",
        }
    ]
    login(api.client, "clerk", "clerk-demo-2026")
    assert "与一张图不符" in api.client.get(f"/cases/{wrong['id']}").text


def test_a_reversed_period_lists_nothing_and_says_why(api, one_map):
    homestead(api, geom=b(40, 40, 52, 52))  # a pending conversion of paddy
    login(api.client, "planner", "planner-demo-2026")
    assert "XA-" in section(api.client.get("/planner").text, "conversion-list")
    r = api.client.get("/planner", params={"from": "2026-12-31", "to": "2026-01-01"})
    assert r.status_code == 422 and "起始日期 2026-12-31 晚于截止日期 2026-01-01" in section(r.text, "planner-error")
    assert "XA-" not in section(r.text, "conversion-list")
    assert re.search(r'<tr data-state="all">.*?<td class="num">0</td>', r.text, re.S)
    assert 'value="2026-12-31"' in r.text  # the period as typed, to correct it
    r = api.client.get("/planner/conversions.csv", params={"from": "2026-12-31", "to": "2026-01-01"})
    assert r.status_code == 422 and "from 2026-12-31 is after to 2026-01-01" in r.text
