"""Stored XSS (#14): a payload in every text field staff and applicants type is shown as text on every page, in every
map popup, and never runs — no dialog, no image fetched from the payload — in a real Chromium. The popups are escaped
by one helper (web/map/builder.py: popup_layer) and the CSP lets no inline script run without the response's nonce."""

from datetime import datetime

import pytest

from service.clocks.calendar import LOCAL_TZ
from service.reports.statistics import Month
from tests.conftest import unavailable
from tests.support.browser import browser_page, chromium_path
from tests.support.live import CLEAN_TXT, HOMESTEAD_MATERIALS, LiveApi

FARMLAND_TXT = CLEAN_TXT.parent / "homestead_on_farmland_utf8.txt"
P = {
    "applicant_name": '<img src=x onerror=alert("applicant")>',
    "village": '"><svg onload=alert("village")>',
    "township": "<img src=x onerror=alert('township')>",
    "project_name": "</script><script>alert('project')</script>",
    "household_id": "<b onmouseover=alert('hh')>HH-9001</b>",
    "opinion": "<img src=x onerror=alert('opinion')>同意",
    "override": "<script>alert('override')</script>特殊情况",
    "reject": "<iframe src=javascript:alert('reject')>",
    "refuse": "<a href=javascript:alert('refuse')>不予受理</a>",
    "note": "<img src=x onerror=alert('note')>已回访",
    "comment": "<svg/onload=alert('comment')>满意",
    "inspector": "<img src=x onerror=alert('inspector')>刘强",
    "findings": "<svg onload=alert('findings')>现场一致",
}


def _intake(api, path, suffix):
    from shapely.geometry import mapping

    from gis.boundary import county_extent
    from service.cases.boundaries import boundary_from_upload

    geom = boundary_from_upload(path.read_bytes(), path.name, 10 * 1024 * 1024, county_extent()).geometry
    fields = {k: P[k] + suffix for k in ("applicant_name", "village", "township", "project_name", "household_id")}
    return api.post(
        "/api/v1/cases",
        json={
            "kind": "homestead",
            "phone": "13907150001",
            "materials_received": HOMESTEAD_MATERIALS,
            "boundary": {"type": "Feature", "properties": {}, "geometry": mapping(geom)},
            **fields,
        },
    )


def _photo() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 160, 90)).save(buf, format="JPEG")
    return buf.getvalue()


def _reviewed(api, case):
    case = api.move(case, "accept")
    for dept, user in (("村镇规划股", "rev-village"), ("耕地保护股", "rev-farmland"), ("不动产登记股", "rev-registry")):
        case = api.review(case, dept, user, "agree", P["opinion"])
    assert case["status"] == "leader_approval", case["status"]
    return case


@pytest.fixture
def planted(sample_app, conn):
    """Cases whose every typed text is a payload: approved, overridden and rejected, refused, called back, rated."""
    api = LiveApi(sample_app)
    taken = _intake(api, CLEAN_TXT, "A")
    approved = {**api.move(_reviewed(api, taken), "approve", "leader"), "query_code": taken["query_code"]}
    certified = api.move(approved, "issue_certificate")
    api.post(
        f"/api/v1/cases/{approved['id']}/visits",
        data={
            "version": str(certified["version"]),
            "step": "site_selection",
            "visited_on": datetime.now(LOCAL_TZ).date().isoformat(),
            "inspector": P["inspector"],
            "findings": P["findings"],
        },
        files=[("photos", ("site.jpg", _photo(), "image/jpeg"))],
    )
    blocked = _intake(api, FARMLAND_TXT, "B")
    api.post(f"/api/v1/cases/{blocked['id']}/notices")
    blocked = api.post(
        f"/api/v1/cases/{blocked['id']}/override",
        "leader",
        json={"version": blocked["version"], "reason": P["override"]},
    )
    rejected = api.move(_reviewed(api, blocked), "reject", "leader", reason=P["reject"])
    refused = api.move(_intake(api, CLEAN_TXT, "C"), "refuse", "clerk", reason=P["refuse"])
    pending = _intake(api, FARMLAND_TXT, "D")  # open, on farmland: a pending conversion on the planner's map
    # the callbacks sample a month that has ended: these cases are put in last month's sample as if drawn then
    previous = Month.of(datetime.now(LOCAL_TZ)).previous()
    ids = [approved["id"], rejected["id"], refused["id"]]
    draw = conn.execute(
        "INSERT INTO callback_draws (month, seed, size, population) VALUES (%s, 1, 3, 3) RETURNING id", (str(previous),)
    ).fetchone()[0]
    for position, case_id in enumerate(ids):
        conn.execute(
            "INSERT INTO callback_entries (draw_id, case_id, position) VALUES (%s, %s, %s)", (draw, case_id, position)
        )
    conn.commit()
    for case in (approved, rejected, refused):
        api.post(
            f"/api/v1/reports/callbacks/{case['case_no']}/outcome",
            "leader",
            json={"outcome": "satisfied", "note": P["note"]},
        )
    r = api.client.post(
        f"/api/v1/public/cases/{approved['case_no']}/rating",
        headers={"X-Query-Code": approved["query_code"]},
        json={"stars": 5, "comment": P["comment"]},
    )
    assert r.status_code == 201, r.text
    return {"approved": approved, "rejected": rejected, "refused": refused, "pending": pending, "month": previous}


def _open_every_popup(page):
    """Click every feature of every GeoJSON layer with a popup on the page's map and read what the popup shows
    (folium binds the popup on the layer and writes it with innerHTML when a feature is clicked)."""
    return page.evaluate(
        """() => {
        const map = window.landwindowMap; if (!map) return [];
        const shown = [];
        map.eachLayer(group => {
            if (!group.getPopup || !group.getPopup() || !group.getLayers) return;
            group.getLayers().forEach(f => {
                f.fire('click', {latlng: f.getBounds().getCenter(), layer: f}, true);
                const el = document.querySelector('.leaflet-popup-content');
                if (el) shown.push({html: el.innerHTML, text: el.innerText});
                map.closePopup();
            });
        });
        return shown;
    }"""
    )


@pytest.mark.browser
def test_payloads_in_every_field_never_run_on_any_page(sample_app, planted):
    if not chromium_path():
        unavailable("Debian's chromium is not installed (scripts/setup installs it)")
    a, r, c, month = planted["approved"], planted["rejected"], planted["refused"], planted["month"]
    staff_pages = [
        "/workbench",
        f"/cases/{a['id']}",
        f"/cases/{r['id']}",
        f"/cases/{c['id']}",
        f"/cases/{a['id']}/receipt",
        f"/cases/{a['id']}/check-report",
        f"/cases/{a['id']}/decision",
        f"/cases/{r['id']}/decision",
        f"/cases/{c['id']}/decision",
        f"/cases/{r['id']}/notice",
        "/planner",
        "/planner/audit",
        "/reports/monthly",
        f"/reports/monthly?month={month}",
        f"/callbacks?month={month}",
        "/map",
    ]
    dialogs, popups, seen = [], {}, {}
    with browser_page() as (page, requests, errors):
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(f"{sample_app}/login")
        page.fill("input[name=username]", "leader")
        page.fill("input[name=password]", "leader-demo-2026")
        page.click("button.primary")
        page.wait_for_url(f"{sample_app}/workbench")
        for path in staff_pages:
            response = page.goto(f"{sample_app}{path}")
            assert response is not None and response.status == 200, (path, response and response.status)
            page.wait_for_load_state("load")
            popups[path] = _open_every_popup(page)
            page.wait_for_timeout(150)
            seen[path] = page.inner_text("body") + "".join(
                page.locator("input[name=note]").evaluate_all("els => els.map(e => e.value)")
            )
        # the applicant's portal: their case with the rating comment
        page.goto(f"{sample_app}/portal")
        page.fill("input[name=case_no]", a["case_no"])
        page.fill("input[name=query_code]", a["query_code"])
        page.click("button.primary")
        page.wait_for_selector("#progress")
        popups["/portal"] = _open_every_popup(page)
        seen["/portal"] = page.inner_text("body")
        page.wait_for_timeout(300)
    assert dialogs == [], dialogs
    assert not [u for u in requests if u.rstrip("/").endswith("/x") or "javascript:" in u], requests
    # shown as text: the township in the planner's popup, the opinions and reasons on the case pages
    d = planted["pending"]
    planner_popup = next((p for p in popups["/planner"] if d["case_no"] in p["text"]), popups["/planner"])
    assert P["township"] + "D" in planner_popup["text"] and "<img" not in planner_popup["html"], planner_popup
    assert P["opinion"] in seen[f"/cases/{a['id']}"]
    assert P["inspector"] in seen[f"/cases/{a['id']}"] and P["findings"] in seen[f"/cases/{a['id']}"]
    for text in (P["override"], P["reject"]):
        assert text in seen[f"/cases/{r['id']}"]
    assert P["refuse"] in seen[f"/cases/{c['id']}"]
    assert P["note"] in seen[f"/callbacks?month={month}"]
    assert P["township"] + "D" in seen["/planner"]
    assert P["applicant_name"] + "A" in seen[f"/cases/{a['id']}/receipt"]
    assert errors == [], errors  # no CSP violation either: every script the pages need carries the nonce


def test_popup_values_are_escaped_before_folium_writes_them():
    from web.map.builder import build_map, popup_layer, popup_text, render_parts

    assert popup_text("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert(1)&gt;"
    assert popup_text({"a": ["<b>", 5]}) == {"a": ["&lt;b&gt;", 5]} and popup_text(12.5) == 12.5
    square = {"type": "Polygon", "coordinates": [[[114.3, 29.8], [114.31, 29.8], [114.31, 29.81], [114.3, 29.8]]]}
    fc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "geometry": square, "properties": {"township": P["township"], "n": 3}}],
    }
    layer = popup_layer(fc, "x", {"township": "乡镇<b>", "n": "件数"}, lambda f: {})
    assert layer.data["features"][0]["properties"] == {"township": popup_text(P["township"]), "n": 3}
    assert fc["features"][0]["properties"]["township"] == P["township"]  # the caller's data is left as it was
    script = render_parts(build_map([], overlays=[layer])).script
    assert "\\u0026lt;img src=x" in script  # the escaped text, JSON-escaped again by folium's tojson
    assert "<img" not in script and "\\u003cimg" not in script  # not the markup, raw or merely JSON-escaped
