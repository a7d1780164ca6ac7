"""A homestead from approval to completion in a real headless Chromium over the sample county: the clerk issues the
certificate and the planning permit, records the site inspection and the setting-out with photos, a completion
whose as-built footprint was built outside the plot (refused in red on the map), then the corrected one — with
every request on localhost and no console error."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from PIL import Image, ImageDraw
from shapely import affinity
from shapely.geometry import mapping

from gis.crs import epsg_3deg, reproject, to_gk
from tests.conftest import unavailable
from tests.support.browser import browser_page, chromium_path, screenshot
from tests.support.live import CLEAN_TXT, LiveApi


def photo(path: Path, text: str, color: tuple[int, int, int]) -> Path:
    image = Image.new("RGB", (640, 480), color)
    ImageDraw.Draw(image).rectangle((40, 300, 600, 440), fill=(200, 200, 200))
    ImageDraw.Draw(image).text((60, 360), text, fill=(0, 0, 0))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=85)
    path.write_bytes(buf.getvalue())
    return path


def as_built(path: Path, plot_lonlat, shift_east_m: float, inset_m: float) -> Path:
    """The completion survey: the approved plot in its GK zone, shrunk by inset_m and moved east, back in lon/lat."""
    gk, zone = to_gk(plot_lonlat)
    house = affinity.translate(gk.buffer(-inset_m, join_style="mitre"), xoff=shift_east_m)
    lonlat = reproject(house, epsg_3deg(zone), 4490)
    fc = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": mapping(lonlat)}]}
    path.write_text(json.dumps(fc), encoding="utf-8")
    return path


def _login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button.primary")
    page.wait_for_url(f"{base}/workbench")


def _visit(page, inspector: str, findings: str, photos: list[Path], footprint: Path | None = None) -> None:
    page.fill("#visit-form input[name=inspector]", inspector)
    page.fill("#visit-form textarea[name=findings]", findings)
    page.set_input_files("#visit-form input[name=photos]", [str(p) for p in photos])
    if footprint is not None:
        page.set_input_files("#visit-form input[name=as_built]", str(footprint))
    page.click("#visit-form button.primary")


@pytest.mark.browser
def test_a_homestead_from_approval_through_the_three_visits_to_completion(sample_app, tmp_path):
    if not chromium_path():
        unavailable("Debian's chromium is not installed (scripts/setup installs it)")
    from gis.boundary import county_extent
    from service.cases.boundaries import boundary_from_upload

    plot = boundary_from_upload(CLEAN_TXT.read_bytes(), CLEAN_TXT.name, 10 * 1024 * 1024, county_extent()).geometry
    api = LiveApi(sample_app)
    case = api.move(api.clean_homestead(), "accept")
    for dept, user in (("村镇规划股", "rev-village"), ("耕地保护股", "rev-farmland"), ("不动产登记股", "rev-registry")):
        case = api.review(case, dept, user, "agree", "同意")
    case = api.move(case, "approve", "leader")
    assert case["status"] == "approved"
    east = photo(tmp_path / "东侧现场.jpg", "site, east", (110, 150, 90))
    stakes = photo(tmp_path / "放线桩位.jpg", "corner stakes", (150, 120, 80))
    house = photo(tmp_path / "竣工.jpg", "house", (170, 170, 190))
    wrong = as_built(tmp_path / "竣工测量.geojson", plot, shift_east_m=4.0, inset_m=1.0)
    right = as_built(tmp_path / "竣工测量-整改后.geojson", plot, shift_east_m=0.0, inset_m=1.0)
    base = f"{sample_app}/cases/{case['id']}"
    with browser_page(1366, 900) as (page, requests, errors):
        _login(page, sample_app, "clerk", "clerk-demo-2026")
        page.goto(base)
        page.click("#actions button[data-transition=issue_certificate]")
        page.wait_for_function("document.querySelector('#case-status').innerText.includes('已发证')")
        assert page.locator("#planning-permit-link").is_visible()
        with page.expect_popup() as popup:
            page.click("#planning-permit-link")
        permit = popup.value
        permit.wait_for_load_state()
        assert "乡村建设规划许可证" in permit.inner_text("h1") and "乡字第421202" in permit.inner_text("body")
        screenshot(permit, "homestead_planning_permit.png")
        permit.close()

        # 选址踏勘
        assert "选址踏勘" in page.inner_text("#visit-form h3")
        page.wait_for_function("document.querySelectorAll('.leaflet-tile-loaded').length > 2", timeout=15000)
        _visit(page, "桂花镇村镇建设服务中心 刘强", "选址与批准位置一致，四至清楚，无权属争议。", [east])
        page.wait_for_function("document.querySelector('#case-status').innerText.includes('已选址踏勘')")
        assert page.locator("#site-visits li[data-step=site_selection] img").count() == 1
        page.locator("#site-visits").scroll_into_view_if_needed()
        screenshot(page, "homestead_site_inspected.png")

        # 放线
        assert "放线" in page.inner_text("#visit-form h3")
        _visit(page, "刘强、王磊", "按批准坐标放线，四角已打桩，户主签字确认。", [stakes, east])
        page.wait_for_function("document.querySelector('#case-status').innerText.includes('已放线')")

        # 竣工验收: first a photo that is no photo, then a house built 4 m east of the plot
        notes = tmp_path / "验收记录.jpg"
        notes.write_text("这不是照片", encoding="utf-8")
        _visit(page, "刘强", "竣工验收。", [notes], right)
        page.wait_for_selector("#case-error")
        assert "验收记录.jpg" in page.inner_text("#case-error") and "已放线" in page.inner_text("#case-status")
        screenshot(page, "homestead_completion_bad_photo.png")
        _visit(page, "刘强", "东侧超出批准范围约4米，责令整改。", [house], wrong)
        page.wait_for_selector("#site-visits li[data-step=completion][data-verdict=block]")
        assert "已放线" in page.inner_text("#case-status")
        figures = page.inner_text("#site-visits li[data-step=completion]")
        outside = float(re.search(r"超出批准范围 ([\d.]+) ㎡", figures).group(1))
        assert outside > 5.0
        page.wait_for_function("document.querySelectorAll('.leaflet-tile-loaded').length > 2", timeout=15000)
        assert page.locator("path[stroke='#C8102E' i]").count() >= 2  # the footprint and its part outside, in red
        page.wait_for_timeout(500)
        screenshot(page, "homestead_completion_blocked_map.png")

        _visit(page, "刘强", "已按批准范围整改，复验合格。", [house], right)
        page.wait_for_function("document.querySelector('#case-status').innerText.includes('已竣工验收')")
        assert page.locator("#visit-form").count() == 0
        done = page.locator("#site-visits li[data-step=completion]").last
        assert done.get_attribute("data-verdict") == "pass"
        assert re.search(r"超出批准范围 0\.00 ㎡", done.inner_text())
        assert page.locator("path[stroke='#1B6E20' i]").count() >= 1  # the accepted footprint, in green
        page.wait_for_timeout(500)
        screenshot(page, "homestead_completed_map.png")
        steps = page.locator("#timeline li").evaluate_all("items => items.map(li => li.dataset.action)")
        for step in ("transition.visit_site_selection", "transition.visit_setting_out", "transition.visit_completion"):
            assert step in steps
        assert steps.count("visit.record") == 4
        page.locator("#timeline").scroll_into_view_if_needed()
        screenshot(page, "homestead_completed_timeline.png")
        page.goto(f"{base}?lang=en")
        assert "Completion accepted" in page.inner_text("#case-status")
        page.locator("#site-visits").scroll_into_view_if_needed()
        screenshot(page, "homestead_completed_en.png")
        errors[:] = [e for e in errors if "422" not in e]  # the refused photo's page, as meant
    hosts = {urlparse(u).netloc for u in requests if u.startswith("http")}
    assert hosts == {urlparse(sample_app).netloc}, hosts
    assert errors == [], errors
