"""The applicant portal: the own case with the query code, nobody else's, and the rating once decided."""

import re

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import mapping

from service.settings import Settings
from tests.support.api import Api
from tests.support.onemap import b, load_one_map, lonlat
from web.app import create_app


@pytest.fixture
def portal(db_url, conn, staff, load_layer, tmp_path):
    load_one_map(load_layer)
    with TestClient(create_app(Settings(_env_file=None, database_url=db_url, data_dir=tmp_path, secret_key="p" * 32))) as client:
        api = Api(client, staff)
        plot = {"type": "Feature", "properties": {}, "geometry": mapping(lonlat(b(40, 240, 52, 252)))}
        mine = api.post("/api/v1/cases", json={"kind": "homestead", "applicant_name": "张三丰", "household_id": "HH8", "boundary": plot}).json()
        other = api.post("/api/v1/cases", json={"kind": "homestead", "applicant_name": "李四", "household_id": "HH9", "boundary": plot}).json()
        yield client, api, mine, other


def _csrf(client: TestClient) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/portal").text).group(1)


def test_applicant_sees_their_plot_and_nobody_elses(portal):
    client, api, mine, other = portal
    token = _csrf(client)
    r = client.post("/portal", data={"csrf_token": token, "case_no": mine["case_no"], "query_code": mine["query_code"]})
    assert r.status_code == 200
    assert mine["case_no"] in r.text and "张**" in r.text and "张三丰" not in r.text
    assert "144.00 ㎡（0.2160 亩）" in r.text
    assert "folium-map" in r.text or "leaflet" in r.text.lower()
    r = client.post("/portal", data={"csrf_token": token, "case_no": other["case_no"], "query_code": mine["query_code"]})
    assert r.status_code == 404 and "wrong case number or query code" in r.text and "李四" not in r.text
    r = client.post("/portal", data={"csrf_token": "forged", "case_no": mine["case_no"], "query_code": mine["query_code"]})
    assert r.status_code == 403


def test_rating_form_once_decided(portal):
    client, api, mine, other = portal
    token = _csrf(client)
    form = {"csrf_token": token, "case_no": mine["case_no"], "query_code": mine["query_code"]}
    assert 'action="/portal/rate"' not in client.post("/portal", data=form).text
    api.move(mine, "refuse", reason="申请人撤回")
    assert 'action="/portal/rate"' in client.post("/portal", data=form).text
    r = client.post("/portal/rate", data={**form, "stars": 5, "comment": "快"})
    assert r.status_code == 200 and "感谢您的评价" in r.text and "★★★★★" in r.text
    r = client.post("/portal/rate", data={**form, "stars": 1})
    assert "已评价" in r.text
