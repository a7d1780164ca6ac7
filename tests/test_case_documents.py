"""Documents from a case — receipt, check report, decision, homestead certificate — as print views and PDFs."""

import io
import re

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from shapely.geometry import mapping

from service.access.auth import TokenSigner
from tests.support.api import Api, session_cookie
from tests.support.onemap import b, load_one_map, lonlat
from web.app import create_app

KEY = "documents-secret-key-0123456789abcdef"
MATERIALS = ["application_form", "household_register", "id_card", "village_opinion", "site_plan"]


def page_error(r) -> str:
    """The message of the HTML error page a document route answers with (pages show errors as pages, not JSON)."""
    import html
    import re

    assert r.headers["content-type"].startswith("text/html") and 'id="error-page"' in r.text
    return html.unescape(re.search(r'id="error-message">(.*?)</p>', r.text, re.S).group(1))


def drawn(geom):
    return {"type": "Feature", "properties": {}, "geometry": mapping(lonlat(geom))}


def pdf_text(content: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.fixture
def world(make_settings, db_url, conn, staff, load_layer, tmp_path):
    load_one_map(load_layer)
    with TestClient(create_app(make_settings(secret_key=KEY))) as client:
        api = Api(client, staff)
        # a clean homestead taken all the way to approval: 12 × 12 m inside the village land
        ok = api.post(
            "/api/v1/cases",
            json={
                "kind": "homestead",
                "applicant_name": "张秀兰",
                "household_id": "HH5",
                "id_number": "421202198001011238",
                "village": "张家村",
                "materials_received": MATERIALS,
                "boundary": drawn(b(40, 240, 52, 252)),
            },
        ).json()
        assert "query_code" in ok, ok
        code = ok["query_code"]
        ok = api.move(ok, "accept").json()
        for user, dept in (
            ("rev-village", "村镇规划股"),
            ("rev-farmland", "耕地保护股"),
            ("rev-registry", "不动产登记股"),
        ):
            task = next(t for t in ok["tasks"] if t["department"] == dept)
            ok = api.post(
                f"/api/v1/cases/{ok['id']}/tasks/{task['id']}",
                as_=user,
                json={"version": ok["version"], "result": "agree", "opinion": "同意"},
            ).json()
        ok = api.move(ok, "approve", as_="leader").json()
        assert ok["status"] == "approved"
        # a homestead on basic farmland: 15 × 12 m, 100 m² of it on farmland; refused at the window
        blocked = api.post(
            "/api/v1/cases",
            json={
                "kind": "homestead",
                "applicant_name": "李秀英",
                "household_id": "HH7",
                "materials_received": MATERIALS,
                "boundary": drawn(b(90, 90, 105, 102)),
            },
        ).json()
        client.cookies.set("lw_session", session_cookie(client, "clerk", staff["clerk"]["password"]))
        client.cookies.set("lw_csrf", "csrf-token-for-tests")
        yield {"client": client, "api": api, "ok": ok, "code": code, "blocked": blocked, "staff": staff}


def test_receipt_at_intake_carries_the_query_code(world):
    client, ok, code = world["client"], world["ok"], world["code"]
    form = {"csrf_token": "csrf-token-for-tests", "query_code": code.lower()}
    r = client.post(f"/cases/{ok['id']}/receipt", data=form)
    assert r.status_code == 200, r.text
    for fact in (ok["case_no"], "张秀兰", code, "144.00 平方米", "0.2160 亩", "户口簿", "张家村", "HH5"):
        assert fact in r.text, fact
    r = client.post(f"/cases/{ok['id']}/receipt.pdf", data=form)
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == f'inline; filename="receipt-{ok["case_no"]}.pdf"'
    text = pdf_text(r.content)
    for fact in (ok["case_no"], "张秀兰", code, "144.00", "0.2160", "受理回执"):
        assert fact in text, fact


def test_a_reprinted_receipt_has_no_query_code_and_a_wrong_code_is_refused(world):
    client, ok, code = world["client"], world["ok"], world["code"]
    r = client.get(f"/cases/{ok['id']}/receipt.pdf")
    text = pdf_text(r.content)
    assert ok["case_no"] in text and "张秀兰" in text and code not in text
    assert "补打的回执不含查询码" in client.get(f"/cases/{ok['id']}/receipt").text
    r = client.post(f"/cases/{ok['id']}/receipt", data={"csrf_token": "csrf-token-for-tests", "query_code": "WRONG123"})
    assert r.status_code == 422
    assert (
        page_error(r) == f"查询码与案件 {ok['case_no']} 不符 / the query code does not belong to case {ok['case_no']}"
    )


def test_check_report_with_its_map_of_the_conflicts(world):
    client, blocked = world["client"], world["blocked"]
    r = client.get(f"/cases/{blocked['id']}/check-report")
    assert r.status_code == 200, r.text
    html = r.text
    svg = html[html.index("<svg") : html.index("</svg>")]
    # the boundary in blue, the basic farmland overlap and the cap finding in red, the village finding in amber
    assert svg.count('stroke="#1f4e9e"') >= 1 and svg.count('fill="#d0021b"') >= 1 and 'fill="#e8a200"' in svg
    assert "GK zone 38" in svg
    for fact in (
        blocked["case_no"],
        "李秀英",
        "180.00 平方米",
        "0.2700 亩",
        "HS-BF",
        "永久基本农田",
        "100.00 平方米",
        "0.1500 亩",
        "HS-CAP",
        "不予通过",
        "basic_farmland v1",
    ):
        assert fact in html, fact
    r = client.get(f"/cases/{blocked['id']}/check-report.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    text = pdf_text(r.content)
    for fact in (
        blocked["case_no"],
        "李秀英",
        "180.00",
        "0.2700",
        "HS-BF",
        "永久基本农田",
        "100.00",
        "HS-CAP",
        "GK zone 38",
    ):
        assert fact in text, fact


def test_decision_to_refuse_states_the_reason_and_the_blocking_rule(world):
    client, api, blocked = world["client"], world["api"], world["blocked"]
    r = client.get(f"/cases/{blocked['id']}/decision")
    assert r.status_code == 409
    assert page_error(r) == (
        f"案件 {blocked['case_no']} 尚未作出决定（当前状态：已收件），不能出具决定书 / "
        f"case {blocked['case_no']} has not been decided yet (state received); no decision can be issued"
    )
    assert api.move(blocked, "refuse", reason="申请用地占用永久基本农田").status_code == 200
    text = pdf_text(client.get(f"/cases/{blocked['id']}/decision.pdf").content)
    for fact in (
        "不予受理决定书",
        blocked["case_no"],
        "李秀英",
        "申请用地占用永久基本农田",
        "HS-BF",
        "180.00",
        "0.2700",
        "行政许可法",
        "行政复议",
    ):
        assert fact in text, fact


def test_decision_to_approve_and_the_homestead_certificate(world):
    client, ok = world["client"], world["ok"]
    text = pdf_text(client.get(f"/cases/{ok['id']}/decision.pdf").content)
    year = ok["case_no"].split("-")[1]
    for fact in (
        "准予行政许可决定书",
        f"咸安自然资许〔{year}〕ZJ-000001号",
        ok["case_no"],
        "张秀兰",
        "144.00",
        "0.2160",
        "准予",
    ):
        assert fact in text, fact
    r = client.get(f"/cases/{ok['id']}/certificate")
    assert r.status_code == 200, r.text
    assert re.findall(r"<text[^>]*>(J\d)</text>", r.text) == [
        "J1",
        "J2",
        "J3",
        "J4",
    ]  # the corners numbered on the plan
    # numbered clockwise from the north-west corner, X northing and Y easting as surveys write them
    rows = re.findall(r"<tr><td>(J\d)</td><td>([\d.]+)</td><td>([\d.]+)</td></tr>", r.text)
    assert rows == [
        ("J1", "3303252.000", "38530040.000"),
        ("J2", "3303252.000", "38530052.000"),
        ("J3", "3303240.000", "38530052.000"),
        ("J4", "3303240.000", "38530040.000"),
    ]
    r = client.get(f"/cases/{ok['id']}/certificate.pdf")
    assert r.headers["content-disposition"] == f'inline; filename="certificate-{ok["case_no"]}.pdf"'
    text = pdf_text(r.content)
    for fact in (
        "农村宅基地批准书",
        f"咸安宅批〔{year}〕ZJ-000001号",
        ok["case_no"],
        "张秀兰",
        "421202198001011238",
        "HH5",
        "144.00",
        "0.2160",
        "0702",
        "3303240.000",
        "3303252.000",
        "38530040.000",
        "38530052.000",
        "GK zone 38",
    ):
        assert fact in text, fact


def test_no_certificate_for_a_case_not_approved(world):
    client, blocked = world["client"], world["blocked"]
    r = client.get(f"/cases/{blocked['id']}/certificate.pdf")
    assert r.status_code == 409
    assert page_error(r) == (
        f"案件 {blocked['case_no']} 未获批准（当前状态：已收件），不能出具宅基地批准书 / "
        f"case {blocked['case_no']} has not been approved (state received); no homestead certificate can be issued"
    )


def test_documents_need_a_login_and_access_to_the_case(world):
    client, ok = world["client"], world["ok"]
    client.cookies.delete("lw_session")
    r = client.get(f"/cases/{ok['id']}/certificate", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next=/cases/{ok['id']}/certificate"
    # a reviewer of a department with no task on the case does not see it
    client.cookies.clear()
    client.cookies.set("lw_session", session_cookie(client, "rev-mineral", world["staff"]["rev-mineral"]["password"]))
    assert client.get(f"/cases/{ok['id']}/check-report").status_code == 404


def test_the_case_page_links_the_documents_its_state_allows(world):
    client, ok, blocked, code = world["client"], world["ok"], world["blocked"], world["code"]
    # the intake hands the code to the case page in a signed cookie for that case, never in the URL
    assert client.get(f"/cases/{ok['id']}?code={code}").text.count(code) == 0
    client.cookies.set("lw_receipt", TokenSigner(KEY, 3600).seal_receipt(ok["id"], code), path=f"/cases/{ok['id']}")
    html = client.get(f"/cases/{ok['id']}").text
    assert f'<input type="hidden" name="query_code" value="{code}">' in html
    assert code not in client.get(f"/cases/{blocked['id']}").text  # sealed for another case
    for href in ("check-report", "decision", "certificate", "decision.pdf", "certificate.pdf"):
        assert f'href="/cases/{ok["id"]}/{href}"' in html, href
    for fmt in ("txt", "mining", "geojson", "gpkg", "kml"):
        assert f'href="/api/v1/cases/{ok["id"]}/boundary.{fmt}"' in html, fmt
    # the browser's session cookie is enough for the export
    r = client.get(f"/api/v1/cases/{ok['id']}/boundary.geojson")
    assert r.status_code == 200 and r.json()["features"][0]["properties"]["case_no"] == ok["case_no"]
    html = client.get(f"/cases/{blocked['id']}").text
    assert f'href="/cases/{blocked["id"]}/receipt"' in html and f'href="/cases/{blocked["id"]}/check-report"' in html
    assert "/decision" not in html and "/certificate" not in html and 'name="query_code"' not in html
