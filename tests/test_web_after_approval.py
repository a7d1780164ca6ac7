"""After approval on the case page: the site-visit form (photos, as-built file), the visits with their photos, the
rural construction planning permit beside the certificate, a mining right's facts, history and changes — with
refusals shown on the page and the English page free of Chinese chrome."""

from __future__ import annotations

import re

import pytest

from tests.support.cases import Window
from tests.support.onemap import b, lonlat
from tests.test_site_visits import PLOT, footprint, image
from tests.test_web_english import chinese_chrome
from tests.test_web_review import csrf, login, section


@pytest.fixture
def w(api, conn, one_map) -> Window:
    return Window(api, conn)


def form_fields(html: str, form_id: str) -> dict[str, str]:
    form = re.search(rf'<form[^>]* id="{form_id}"[^>]*>(.*?)</form>', html, re.S).group(1)
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form))


def test_the_visits_on_the_case_page(w: Window, staff):
    case = w.move(w.approve(w.intake("homestead", PLOT, household_id="HH2")), "issue_certificate")
    client = w.api.client
    login(client, "leader", staff["leader"]["password"])
    page = client.get(f"/cases/{case['id']}").text
    assert 'id="site-visits"' in page and 'id="visit-form"' not in page  # the leader does not record visits
    assert 'data-transition="visit_site_selection"' not in page  # no bare button for a visit
    login(client, "clerk", staff["clerk"]["password"])
    page = client.get(f"/cases/{case['id']}").text
    fields = form_fields(page, "visit-form")
    assert fields["step"] == "site_selection"
    assert 'id="planning-permit-link"' in page
    permit = client.get(f"/cases/{case['id']}/planning-permit").text
    assert "乡村建设规划许可证" in permit and "乡字第421202" in permit and "144.00 平方米" in permit
    assert client.get(f"/cases/{case['id']}/planning-permit.pdf").headers["content-type"] == "application/pdf"

    def post(photos, as_built=None, **extra):
        page = client.get(f"/cases/{case['id']}").text
        data = {**form_fields(page, "visit-form"), "csrf_token": csrf(page), "inspector": "刘强", "findings": "一致"}
        data["visited_on"] = re.search(r'name="visited_on"[^>]* value="([\d-]+)"', page).group(1)  # today, as offered
        data.update(extra)
        files = [("photos", p) for p in photos] + ([("as_built", as_built)] if as_built else [])
        return client.post(f"/cases/{case['id']}/visits", data=data, files=files, follow_redirects=False)

    r = post([("notes.jpg", b"not a photo", "image/jpeg")])
    assert r.status_code == 422 and 'id="case-error"' in r.text and "notes.jpg" in section(r.text, "case-error")
    r = post([("site.jpg", image(), "image/jpeg")])
    assert r.status_code == 303
    page = client.get(f"/cases/{case['id']}").text
    visits = section(page, "site-visits")
    assert 'data-step="site_selection"' in visits and "刘强" in visits
    assert re.search(rf'<img src="/api/v1/cases/{case["id"]}/visits/\d+/photos/\d+"', visits)
    assert form_fields(page, "visit-form")["step"] == "setting_out"
    assert post([("site.jpg", image(), "image/jpeg")]).status_code == 303
    # the completion: built 96 m² outside the plot, shown on the case map with its figures
    r = post([("done.jpg", image(), "image/jpeg")], footprint(lonlat(b(38, 240, 58, 252))))
    assert r.status_code == 303
    page = client.get(f"/cases/{case['id']}").text
    assert 'data-step="completion" data-verdict="block"' in page and "96.00 ㎡" in section(page, "site-visits")
    as_built = re.search(r'"kind": "footprint", "outside_m2": ([\d.]+)', page)  # the as-built layer on the map
    assert as_built and float(as_built.group(1)) == pytest.approx(96.0, abs=0.01)
    assert '"kind": "outside"' in page and '"color": "#C8102E"' in page  # the part outside, red for block
    english = client.get(f"/cases/{case['id']}?lang=en").text
    assert chinese_chrome(english) == []
    assert "Failed: put right and visit again" in english


def test_the_mining_right_on_the_case_page(w: Window, staff, conn):
    case = w.intake(
        "mining", b(600, 0, 700, 100), applicant="丙矿业有限公司", mineral="石灰岩", depth_top=250, depth_bottom=50
    )
    case = w.move(w.approve(case), "issue_certificate")
    client = w.api.client
    login(client, "clerk", staff["clerk"]["password"])
    page = client.get(f"/cases/{case['id']}").text
    assert "C421202" in section(page, "mining-right-facts") and 'id="right-form"' not in page
    login(client, "leader", staff["leader"]["password"])
    page = client.get(f"/cases/{case['id']}").text
    data = {**form_fields(page, "right-form"), "csrf_token": csrf(page), "action": "transfer", "holder": ""}
    r = client.post(f"/cases/{case['id']}/mining-right", data=data, follow_redirects=False)
    assert r.status_code == 422 and "new holder" in section(r.text, "case-error")
    page = client.get(f"/cases/{case['id']}").text
    data = {**form_fields(page, "right-form"), "csrf_token": csrf(page), "action": "transfer", "holder": "庚矿业集团"}
    data["reason"] = "整体转让"
    assert client.post(f"/cases/{case['id']}/mining-right", data=data, follow_redirects=False).status_code == 303
    page = client.get(f"/cases/{case['id']}").text
    assert "庚矿业集团" in section(page, "mining-right-facts")
    assert re.findall(r'<li data-action="(\w+)">', section(page, "right-history")) == ["grant", "transfer"]
    assert chinese_chrome(client.get(f"/cases/{case['id']}?lang=en").text) == []
