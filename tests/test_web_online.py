"""The online window's pages without a browser: apply (pre-check, then the materials and the sending), the portal's
supplement form, the clerk's workbench and case page (take in, confirm or ask again, answer objections), the
register and the announcements — each with its exact status and message, no personal data on the public ones."""

from __future__ import annotations

import json
import re

import pytest

from tests.support.onemap import b
from tests.test_cases_api import ID_ZHANG, drawn
from tests.test_online_api import JPEG, PDF, apply
from tests.test_web_review import csrf, login, section


@pytest.fixture(autouse=True)
def _map(one_map):
    """The plots lie on the synthetic one map."""


PLOT = json.dumps(drawn(b(40, 240, 52, 252)))


def _form(client, **extra):
    token = csrf(client.get("/apply").text)
    return {
        "csrf_token": token,
        "kind": "homestead",
        "applicant_name": "赵六",
        "id_number": ID_ZHANG,
        "phone": "13800138000",
        "household_id": "HH2",
        "boundary_geojson": PLOT,
        **extra,
    }


def test_the_apply_page_prechecks_then_sends(api, conn):
    client = api.client
    page = client.get("/apply")
    assert page.status_code == 200 and 'id="apply-form"' in page.text and 'name="material:' not in page.text
    form = _form(client)
    r = client.post("/apply", data={**form, "action": "check"})
    assert r.status_code == 200, r.text
    assert section(r.text, "precheck-summary").startswith("一张图预检未发现问题")
    assert "144.00 ㎡" in section(r.text, "precheck-area")
    assert 'name="material:application_form"' in r.text and 'id="apply-send"' in r.text
    token = re.search(r'name="apply_token" value="([^"]+)"', r.text).group(1)
    materials = [
        ("material:application_form", ("申请表.pdf", PDF, "application/pdf")),
        ("material:id_card", ("", b"", "application/octet-stream")),  # a field left empty
    ]
    data = {**form, "action": "send", "apply_token": token}
    r = client.post("/apply", data=data, files=materials)
    assert r.status_code == 201, r.text
    case_no = section(r.text, "done-case-no")
    code = section(r.text, "done-query-code")
    assert case_no.endswith("-ZJ-000001") and len(code) == 8 and "网上预受理" in r.text
    # sent twice (the back button, a reload): the same case, no second code
    again = client.post("/apply", data=data, files=materials)
    assert again.status_code == 200 and section(again.text, "done-case-no") == case_no
    assert 'id="done-query-code"' not in again.text
    assert conn.execute("SELECT count(*) FROM case_uploads WHERE material_code IS NOT NULL").fetchone()[0] == 1


def test_the_apply_page_tells_what_is_wrong_and_keeps_the_plot(api, conn):
    client = api.client
    r = client.post("/apply", data={**_form(client, phone="12345"), "action": "check"})
    assert r.status_code == 422
    assert "不是有效的手机号码" in section(r.text, "apply-error")
    assert 'id="precheck"' in r.text  # the plot's pre-check is still shown beside the refusal
    r = client.post("/apply?lang=en", data={**_form(client, boundary_geojson=""), "action": "check"})
    assert r.status_code == 422 and "draw the plot on the map" in section(r.text, "apply-error")
    form = _form(client)
    data = {**form, "action": "send"}
    r = client.post("/apply", data=data, files=[("material:application_form", ("a.pdf", JPEG, "application/pdf"))])
    assert r.status_code == 422 and "a.pdf" in section(r.text, "apply-error")
    assert conn.execute("SELECT count(*) FROM cases").fetchone()[0] == 0


def test_the_clerk_takes_in_an_online_application_from_the_workbench(api, staff, conn):
    out = apply(api).json()
    client = api.client
    login(client, "clerk", staff["clerk"]["password"])
    wb = client.get("/workbench").text
    waiting = section(wb, "online-waiting")
    assert out["case_no"] in waiting and "预审收件" in waiting and "赵*" in waiting
    case_id = int(re.search(r'href="/cases/(\d+)#online-files"', waiting).group(1))
    page = client.get(f"/cases/{case_id}").text
    assert 'data-transition="take_in_online"' in page and "网上申报" in page
    boundary_file = re.search(rf'href="(/cases/{case_id}/uploads/\d+)"', page).group(1)
    got = client.get(boundary_file)
    assert got.status_code == 200 and got.headers["content-disposition"].startswith("attachment;")
    assert json.loads(got.content)["type"] == "Feature"
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    r = client.post(
        f"/cases/{case_id}/act",
        data={"csrf_token": csrf(page), "transition": "take_in_online", "version": version},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(f"/cases/{case_id}").text
    assert section(page, "case-status") == "已收件"
    assert out["case_no"] not in section(client.get("/workbench").text, "online-waiting")


def test_the_portal_takes_the_supplement_and_the_clerk_asks_again(api, staff, conn):
    out = apply(api).json()
    case_id = conn.execute("SELECT id FROM cases WHERE case_no = %s", (out["case_no"],)).fetchone()[0]
    case = api.move(api.get(f"/api/v1/cases/{case_id}").json(), "take_in_online").json()
    api.post(f"/api/v1/cases/{case_id}/notices")
    api.move(case, "request_supplement")
    client = api.client
    token = csrf(client.get("/portal").text)
    who = {"csrf_token": token, "case_no": out["case_no"], "query_code": out["query_code"]}
    page = client.post("/portal", data=who).text
    form = section(page, "supplement-form")
    assert form and form.count('name="material:') == 5
    r = client.post(
        "/portal/supplement",
        data=who,
        files=[
            ("material:application_form", ("a.pdf", PDF, "application/pdf")),
            ("material:id_card", ("id.jpg", JPEG, "image/jpeg")),
        ],
    )
    assert r.status_code == 200, r.text
    assert "补正材料已提交" in r.text and 'id="supplement-waiting"' in r.text
    bad = client.post(
        "/portal/supplement",
        data={**who, "query_code": "WRONGCOD"},
        files=[("material:id_card", ("id.jpg", JPEG, "image/jpeg"))],
    )
    assert bad.status_code == 404
    login(client, "clerk", staff["clerk"]["password"])
    page = client.get(f"/cases/{case_id}").text
    assert 'id="supplement-actions"' in page
    version = re.search(r'name="version" value="(\d+)"', section(page, "supplement-return-form")).group(1)
    r = client.post(
        f"/cases/{case_id}/supplement/return",
        data={"csrf_token": csrf(page), "version": version, "reason": "身份证照片模糊"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    client.cookies.clear()
    token = csrf(client.get("/portal").text)
    page = client.post("/portal", data={**who, "csrf_token": token}).text
    assert "身份证照片模糊" in section(page, "notice-note") and 'id="supplement-form"' in page


def test_the_register_and_an_announcement_with_its_objection_form(api, staff, conn):
    from tests.test_online_api import _requisition

    case = _requisition(api)
    apply(api)  # in 网上预受理: not on the register
    client = api.client
    reg = client.get("/register")
    assert reg.status_code == 200
    assert case["case_no"] in section(reg.text, "register") and "13800138000" not in reg.text
    assert "赵六" not in reg.text and "赵*" not in section(reg.text, "register")
    link = re.search(r'href="(/announcements/\d+)"', section(reg.text, "announcements")).group(1)
    page = client.get(link)
    assert page.status_code == 200 and "征收土地预公告" in page.text and 'id="respond-form"' in page.text
    form = {"csrf_token": csrf(page.text), "kind": "objection", "name": "李四", "phone": "13900139000"}
    r = client.post(f"{link}/respond", data={**form, "content": ""})
    assert r.status_code == 422 and "请写明理由" in section(r.text, "respond-error")
    r = client.post(f"{link}/respond", data={**form, "content": "鱼塘在范围内"})
    assert r.status_code == 201 and "已收到" in r.text and "异议: 1" in section(r.text, "response-counts")
    assert "李四" not in section(r.text, "announcement").replace('value="李四"', "")
    login(client, "clerk", staff["clerk"]["password"])
    page = client.get(f"/cases/{case['id']}").text
    responses = section(page, "responses")
    assert "鱼塘在范围内" in page and "13900139000" in page and responses
    action = re.search(r'action="(/cases/\d+/responses/\d+/answer)"', page).group(1)
    r = client.post(action, data={"csrf_token": csrf(page), "answer": "鱼塘不在范围内"}, follow_redirects=False)
    assert r.status_code == 303
    assert "已答复" in client.get(f"/cases/{case['id']}").text


def test_file_sizes_read_as_people_read_them():
    from web.i18n import file_size

    assert [file_size(n) for n in (0, 312, 49_357, 3_565_158)] == ["0 B", "312 B", "48.2 KB", "3.4 MB"]
