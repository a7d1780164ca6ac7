"""The one-time notice: HTML print view and PDF, each with the case's missing materials and map findings."""

import io

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from shapely.geometry import mapping

from tests.support.api import Api, session_cookie
from tests.support.onemap import b, load_one_map, lonlat
from web.app import create_app

KEY = "notice-secret-key-0123456789abcdef"


@pytest.fixture
def notice_case(make_settings, db_url, conn, staff, load_layer, tmp_path):
    load_one_map(load_layer)
    with TestClient(create_app(make_settings(secret_key=KEY))) as client:
        api = Api(client, staff)
        case = api.post(
            "/api/v1/cases",
            json={
                "kind": "homestead",
                "applicant_name": "李秀英",
                "household_id": "HH7",
                "materials_received": ["application_form", "id_card"],
                "boundary": {"type": "Feature", "properties": {}, "geometry": mapping(lonlat(b(90, 90, 105, 102)))},
            },
        ).json()
        api.post(f"/api/v1/cases/{case['id']}/notices")
        client.cookies.set("lw_session", session_cookie(client, "clerk", staff["clerk"]["password"]))
        yield client, case


def test_notice_print_view_and_pdf_carry_the_facts(notice_case):
    client, case = notice_case
    r = client.get(f"/cases/{case['id']}/notice")
    assert r.status_code == 200
    html = r.text
    for text in (
        case["case_no"],
        "李秀英",
        "户口簿",
        "村民小组会议记录及村委会审查意见",
        "宅基地坐落平面位置图",
        "永久基本农田",
        "100.00 平方米",
        "0.150 亩",
        "第三十五条",
        "basic_farmland v1",
    ):
        assert text in html, text
    assert "申请人身份证" not in html  # received, so not asked for again
    r = client.get(f"/cases/{case['id']}/notice.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    for fact in (case["case_no"], "李秀英", "户口簿", "永久基本农田", "100.00", "0.150"):
        assert fact in text, fact


def test_notice_needs_a_login(notice_case):
    client, case = notice_case
    client.cookies.clear()
    r = client.get(f"/cases/{case['id']}/notice", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next=/cases/{case['id']}/notice"
