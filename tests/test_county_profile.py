"""The county profile: the shipped Xian'an profile, errors that stop start-up naming the key, and a second county —
the made-up 岭东市云岭县, Guangdong, in 3° zone 39 — set up from nothing by the commands the README gives and used end
to end: its layers imported, an application taken in and checked, numbered with its prefix, its documents naming its
offices, its homestead caps and its map."""

from __future__ import annotations

import json
import re
import tomllib
from importlib import resources
from pathlib import Path

import geopandas as gpd
import psycopg
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from shapely.geometry import box, mapping
from typer.testing import CliRunner

from gis.crs import reproject
from gis.importer import layer_versions, load, read
from service.cli.app import app as cli
from service.core.profile import DEFAULT_PROFILE, ProfileError, load_profile, parse_profile
from service.core.settings import Settings, get_settings
from tests.support.api import Api
from tests.support.onemap import b, lonlat
from web.app import create_app

runner = CliRunner()
EPSG_ZONE_39 = 4527  # CGCS2000 3° Gauss-Krüger zone 39 (117°E), with the zone prefix
X0, Y0 = 39418000.0, 2656000.0  # about 116.2°E, 24.0°N
YUNLING = [
    "profile",
    "new",
    "--name",
    "云岭县",
    "--admin-code",
    "445921",
    "--province",
    "广东",
    "--city",
    "岭东市",
    "--prefix",
    "YL",
    "--homestead-caps",
    "80,120,《云岭县农村宅基地管理办法》（虚构的示例县）：使用耕地的每户不超过80平方米，使用其他土地的不超过120平方米。",
]
BUREAU = "岭东市云岭县自然资源局"
HOMESTEAD_MATERIALS = ["application_form", "household_register", "id_card", "village_opinion", "site_plan"]


def yl(x1: float, y1: float, x2: float, y2: float):
    """A box in local metres east and north of the Yunling map's origin (EPSG:4527)."""
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def yunling_layers(path: Path) -> Path:
    """Write the county's one map as its surveyors deliver it: one GeoPackage, 三调 layer and field names."""
    layers = {
        "XZQ": (
            {"XZQMC": ["云岭镇", "岭南镇"], "XZQDM": ["445921100", "445921101"]},
            [yl(0, 0, 2000, 1500), yl(2000, 0, 4000, 1500)],
        ),
        "DLTB": (
            {"DLBM": ["0101", "0702", "0301K", "0702"], "TBBH": ["1", "2", "3", "4"], "ZLDWMC": ["上围村"] * 4},
            [yl(0, 0, 300, 300), yl(0, 400, 300, 700), yl(300, 0, 600, 300), yl(2000, 400, 2300, 700)],
        ),
        "basic_farmland": ({"JBNTTBBH": ["JB1"]}, [yl(0, 0, 300, 300)]),
        "eco_redline": ({"MC": ["云岭山生态保护红线"]}, [yl(1000, 0, 1300, 300)]),
        "village_boundary": ({"CMC": ["上围村", "下围村"]}, [yl(0, 400, 300, 700), yl(2000, 400, 2300, 700)]),
        "urban_boundary": ({"MC": ["云岭县城镇开发边界"]}, [yl(2000, 0, 2600, 300)]),
        "parcels": (
            {"ZDDM": ["YL001"], "QLR": ["陈大"], "HH": ["YH1"], "QLLX": ["宅基地使用权"]},
            [yl(10, 410, 30, 430)],
        ),
    }
    for name, (fields, geoms) in layers.items():
        gpd.GeoDataFrame(fields, geometry=geoms, crs=EPSG_ZONE_39).to_file(path, layer=name, driver="GPKG")
    return path


def drawn(geom) -> dict:
    return {"type": "Feature", "properties": {}, "geometry": mapping(reproject(geom, EPSG_ZONE_39, 4490))}


@pytest.fixture
def as_county(monkeypatch, tmp_path):
    """Run `landwindow` as an instance with its data folder here and the profile given (after it is written)."""

    def use(profile: Path | None, db_url: str | None = None) -> None:
        monkeypatch.setenv("LANDWINDOW_DATA_DIR", str(tmp_path / "data"))
        if profile is not None:
            monkeypatch.setenv("LANDWINDOW_COUNTY_PROFILE", str(profile))
        if db_url is not None:
            monkeypatch.setenv("LANDWINDOW_DATABASE_URL", db_url)
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def test_the_shipped_profile_is_xianan_and_gis_defaults_agree():
    p = load_profile()
    assert (p.name, p.admin_code, p.province, p.case_prefix, p.instance_name) == (
        "咸安区",
        "421202",
        "湖北",
        "XA",
        "咸宁市咸安区自然资源和规划局",
    )
    assert p.documents.decision_number.format(year=2026, seq="ZJ-000001") == "咸安自然资许〔2026〕ZJ-000001号"
    assert "向咸安区人民政府申请行政复议" in p.reconsideration()
    assert p.caps() is None  # Hubei's caps come from gis/data/homestead_caps.csv
    # gis's own default (its tests, the sample generator) is the shipped profile's box
    gis_default = tomllib.loads(resources.files("gis").joinpath("data/county.toml").read_text("utf-8"))
    box_ = p.extent.box
    assert box_ is not None
    assert (box_.lon_min, box_.lon_max, box_.lat_min, box_.lat_max) == tuple(
        gis_default[k] for k in ("lon_min", "lon_max", "lat_min", "lat_max")
    )
    s = Settings(_env_file=None)
    assert (s.province, s.instance_level, s.instance_name, s.overrides()) == ("湖北", "county", p.instance_name, {})
    s = Settings(_env_file=None, instance_level="city", instance_name="咸宁市自然资源和规划局")
    assert s.overrides() == {
        "LANDWINDOW_INSTANCE_LEVEL": "city",
        "LANDWINDOW_INSTANCE_NAME": "咸宁市自然资源和规划局",
    }


def shipped_with(**changes: str) -> str:
    text = DEFAULT_PROFILE.read_text("utf-8")
    for old, new in changes.items():
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize(
    ("change", "key", "says"),
    [
        ({'admin_code = "421202"': 'admin_code = "441202"'}, "(top level)", "must start with 42"),
        ({'province = "湖北"': 'province = "湖比"'}, "province", "unknown province '湖比'"),
        ({'case_prefix = "XA"': 'case_prefix = "xa-1"'}, "case_prefix", "String should match pattern"),
        ({"lon_max = 114.9": "lon_max = 113.0"}, "extent", "lon_min must be less than lon_max"),
        ({"lat_min = 29.5": "lat_min = 129.5"}, "extent.lat_min", "less than or equal to 54"),
        ({'source = "profile"': 'source = "map"'}, "extent.source", "'profile' or 'townships'"),
        ({"lon_min = 113.9     #": "#"}, "extent", "lon_min missing"),
        ({'window = "': 'windows = "'}, "offices.window", "Field required"),
        ({'{seq}号"\ncert': '号"\ncert'}, "documents.decision_number", "must contain {year} and {seq}"),
        ({"向{government}申请": "向{govt}申请"}, "documents.reconsideration", "only {government} may be used"),
        ({'level = "county"': 'level = "town"'}, "instance.level", "'county', 'city', 'province' or 'ministry'"),
        ({'province = "湖北"': 'province = "广东"', '"421202"': '"441202"'}, "(top level)", "give [homestead_caps]"),
    ],
)
def test_a_profile_with_errors_is_refused_naming_the_key(change, key, says, tmp_path):
    with pytest.raises(ProfileError) as exc:
        parse_profile(shipped_with(**change), "bad.toml")
    assert f"`{key}`" in str(exc.value) and says in str(exc.value), str(exc.value)


def test_a_profile_with_errors_stops_start_up_naming_the_file_and_key(tmp_path, as_county):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        shipped_with(
            **{'case_prefix = "XA"': 'case_prefix = "咸安"', "[offices]\nbureau": "[offices]\ncolour = 1\nbureau"}
        )
    )
    with pytest.raises(ValidationError, match=r"case_prefix"):
        Settings(_env_file=None, county_profile=bad)
    as_county(bad)
    for command in (["profile", "show"], ["layers"], ["serve"], ["boundary", "x.txt"]):
        r = runner.invoke(cli, command)
        assert r.exit_code == 2, (command, r.output)
        text = " ".join(r.output.split())
        assert str(bad) in text and "`case_prefix`" in text and "`offices.colour`" in text, text
    (tmp_path / "broken.toml").write_text('name = "云岭县"\nadmin_code = \n[extent]\n')
    as_county(tmp_path / "broken.toml")
    r = runner.invoke(cli, ["profile", "show"])
    assert r.exit_code == 2 and "not valid TOML" in r.output and "line 2" in r.output
    as_county(tmp_path / "missing.toml")
    r = runner.invoke(cli, ["profile", "show"])
    assert r.exit_code == 2 and "cannot be read" in " ".join(r.output.split())


def test_a_new_county_from_nothing_to_serving(db_url, tmp_path, as_county):
    """The README's sequence: profile new, import --dry-run, init (database, layers, administrator, key), show."""
    profile = tmp_path / "yunling.toml"
    as_county(None, db_url)
    r = runner.invoke(
        cli, [*YUNLING[:2], str(profile), *YUNLING[2:-2]]
    )  # Guangdong has no row in homestead_caps.csv: the caps are asked for
    assert r.exit_code == 2 and "--homestead-caps" in r.output and not profile.exists()
    r = runner.invoke(cli, [*YUNLING[:2], str(profile), *YUNLING[2:]])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, [*YUNLING[:2], str(profile), *YUNLING[2:]])
    assert r.exit_code == 2 and "not overwritten" in " ".join(r.output.split())
    written = load_profile(profile)
    assert (written.offices.bureau, written.offices.government, written.extent.source) == (
        BUREAU,
        "云岭县人民政府",
        "townships",
    )
    assert written.documents.decision_number == "云岭自然资许〔{year}〕{seq}号"
    as_county(profile)
    layers = yunling_layers(tmp_path / "yunling.gpkg")

    # a dry run of the 三调 landuse layer (DLTB): the mapping, the CRS, the suffixed code; nothing written
    r = runner.invoke(cli, ["import", "landuse", str(layers), "--dry-run", "--json"])
    assert r.exit_code == 0, r.output
    plan = json.loads(r.stdout)
    assert plan["source_layer"] == "DLTB" and plan["source_crs"].startswith("EPSG:4527")
    assert plan["fields"]["DLBM"] == "dlbm" and plan["fields"]["ZLDWMC"] == "village"
    assert plan["suffixed_codes"] == {"0301K": 1} and plan["would_load"] == 4 and plan["refused"] is False
    assert plan["outside_county"] == []  # the extent is not known yet: features are checked against China
    r = runner.invoke(cli, ["import", "landuse", str(layers), "--dry-run"])
    assert r.exit_code == 0 and "DLBM → dlbm" in r.stdout and "nothing was written" in r.stdout
    with psycopg.connect(db_url) as c:
        assert c.execute("SELECT count(*) FROM landuse").fetchone()[0] == 0
    r = runner.invoke(cli, ["import", "landuse", str(layers), "--json"])
    assert r.exit_code == 2 and "--dry-run" in r.output

    r = runner.invoke(cli, ["init", "--layers", str(layers), "--admin", "ylzhang"])
    assert r.exit_code == 0, r.output
    out = " ".join(r.stdout.split())
    assert "岭东市云岭县 (445921, 广东)" in out and "administrator ylzhang created" in out
    password = re.search(r"password (\S+) \(shown once\)", out).group(1)
    assert f'name = "{BUREAU}"' in r.stdout and 'level = "county"' in r.stdout  # its key registry entry
    assert (tmp_path / "data" / "filing" / "ed25519.pem").exists()
    with psycopg.connect(db_url) as c:
        loaded = {name: v["count"] for name, v in layer_versions(c).items()}
        role = c.execute("SELECT role FROM users WHERE username = 'ylzhang'").fetchone()[0]
    assert role == "admin" and len(password) >= 12
    assert {k: loaded[k] for k in ("townships", "landuse", "parcels", "basic_farmland")} == {
        "townships": 2,
        "landuse": 4,
        "parcels": 1,
        "basic_farmland": 1,
    }
    r = runner.invoke(cli, ["profile", "show", "--json"])
    assert r.exit_code == 0, r.output
    shown = json.loads(r.stdout)
    assert shown["name"] == "云岭县" and shown["case_prefix"] == "YL"
    assert 116.0 < shown["extent_in_force"]["lon_min"] < 116.2 < shown["extent_in_force"]["lon_max"] < 116.3
    # a second init finds the administrator and the key and imports the layers again
    r = runner.invoke(cli, ["init", "--layers", str(layers)])
    assert r.exit_code == 0 and "none created" in r.stdout
    # the boundary command reads the county's point tables against the county's extent (the loaded townships)
    table = tmp_path / "宅基地.csv"
    table.write_text("点号,X,Y\nJ1,2656500,39418100\nJ2,2656510,39418100\nJ3,2656510,39418110\nJ4,2656500,39418110\n")
    r = runner.invoke(cli, ["boundary", str(table)])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["features"][0]["properties"]["area_m2"] == pytest.approx(100.0, abs=0.01)
    as_county(DEFAULT_PROFILE)  # the same table is outside Xian'an
    r = runner.invoke(cli, ["boundary", str(table)])
    assert r.exit_code == 2 and "lies outside the county" in " ".join(r.output.split())


@pytest.fixture
def yunling(db_url, conn, staff, tmp_path, as_county):
    """The Yunling instance serving: its profile, its one map loaded, the demo staff, the app over the test database."""
    profile = tmp_path / "yunling.toml"
    as_county(None, db_url)
    assert runner.invoke(cli, [*YUNLING[:2], str(profile), *YUNLING[2:]]).exit_code == 0
    layers = yunling_layers(tmp_path / "yunling.gpkg")
    for name in (
        "townships",
        "landuse",
        "basic_farmland",
        "eco_redline",
        "village_boundary",
        "urban_boundary",
        "parcels",
    ):
        load(conn, read(layers, name))
    settings = Settings(
        _env_file=None, database_url=db_url, data_dir=tmp_path, secret_key="y" * 32, county_profile=profile
    )
    with TestClient(create_app(settings)) as client:
        yield Api(client, staff), profile


def homestead(api: Api, geom, household: str) -> dict:
    body = {
        "kind": "homestead",
        "applicant_name": "陈小明",
        "phone": "13900139000",
        "village": "上围村",
        "household_id": household,
        "materials_received": HOMESTEAD_MATERIALS,
        "boundary": drawn(geom),
    }
    r = api.post("/api/v1/cases", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_the_second_county_end_to_end(yunling):
    api, profile = yunling
    # a plot of 100 m² on rural homestead land inside the village: numbered with the county's prefix, it passes
    case = homestead(api, yl(100, 500, 110, 510), "YH2")
    assert re.fullmatch(r"YL-20\d\d-ZJ-000001", case["case_no"]), case["case_no"]
    assert case["check"]["verdict"] == "pass" and case["area_m2"] == pytest.approx(100.0, abs=0.01)
    # 121 m²: over the county's own cap for other land (120 m², from its profile, with its basis)
    over = homestead(api, yl(150, 550, 161, 561), "YH3")
    assert over["case_no"].endswith("-ZJ-000002") and over["check"]["verdict"] == "block"
    report = api.get(f"/api/v1/cases/{over['id']}/check").json()
    cap = next(r for r in report["rules"] if r["rule"] == "HS-CAP")
    assert cap["status"] == "block" and cap["overlap_m2"] == pytest.approx(1.0, abs=0.01)
    assert "云岭县农村宅基地管理办法" in cap["basis"] and "湖北" not in cap["basis"]
    assert report["homestead"]["cap_m2"] == 120.0
    # coordinates in Xian'an are outside this county: refused, naming the county extent
    r = api.post(
        "/api/v1/cases",
        json={
            "kind": "homestead",
            "applicant_name": "王五",
            "boundary": {"type": "Feature", "properties": {}, "geometry": mapping(lonlat(b(40, 240, 52, 252)))},
        },
    )
    assert r.status_code == 422 and "lies outside the county" in r.json()["detail"]
    # a point table in zone 39 checks through the API
    table = "点号,X,Y\nJ1,2656500,39418100\nJ2,2656510,39418100\nJ3,2656510,39418110\nJ4,2656500,39418110\n"
    r = api.post(
        "/api/v1/checks", data={"kind": "homestead"}, files={"file": ("宅基地.csv", table.encode(), "text/csv")}
    )
    assert r.status_code == 200, r.text
    assert r.json()["area_m2"] == pytest.approx(100.0, abs=0.01) and r.json()["zone"] == 39

    # the case decided, its documents name this county's offices and nothing of Xian'an
    decided = api.move(case, "accept").json()
    for task in decided["tasks"]:
        reviewer = next(u for u, s in api.staff.items() if s.get("department") == task["department"])
        decided = api.post(
            f"/api/v1/cases/{decided['id']}/tasks/{task['id']}",
            as_=reviewer,
            json={"version": decided["version"], "result": "agree", "opinion": "同意"},
        ).json()
    decided = api.move(decided, "approve", as_="leader").json()
    assert decided["status"] == "approved", decided
    assert api.post(f"/api/v1/cases/{over['id']}/notices").status_code == 201
    refused = api.move(over, "refuse", reason="申请面积超过本县宅基地面积标准").json()
    assert refused["status"] == "refused", refused
    client = api.client
    from tests.test_web_review import login

    login(client, "clerk", "clerk-demo-2026")
    year = case["case_no"].split("-")[1]
    docs = {d: client.get(f"/cases/{case['id']}/{d}") for d in ("receipt", "check-report", "decision", "certificate")}
    docs["notice"] = client.get(f"/cases/{over['id']}/notice")
    docs["refusal"] = client.get(f"/cases/{over['id']}/decision")
    for name, r in docs.items():
        assert r.status_code == 200, name
        assert BUREAU in r.text and "咸安" not in r.text and "咸宁" not in r.text, name
    assert "云岭县政务服务中心 自然资源局窗口" in docs["receipt"].text
    clerk_name = api.staff["clerk"].get("display_name") or "clerk"
    for name in ("receipt", "notice"):  # window documents: the window and the clerk who handled it, by name
        sign = re.search(r'<div class="sign">(.*?)</div>', docs[name].text, re.S).group(1)
        assert BUREAU in sign and "自然资源局窗口" in sign and f"经办人：{clerk_name}" in sign, (name, sign)
    assert f"云岭自然资许〔{year}〕ZJ-000001号" in docs["decision"].text
    assert "向云岭县人民政府申请行政复议" in docs["refusal"].text and "不予受理决定书" in docs["refusal"].text
    assert f"云岭宅批〔{year}〕ZJ-000001号" in docs["certificate"].text
    # the map starts on the county (its townships), the portal shows its case numbers
    script = client.get("/map").text
    bounds = re.search(r"fitBounds\(\[\[([\d.]+), ([\d.]+)\], \[([\d.]+), ([\d.]+)\]\]\)", script)
    assert bounds and 116.0 < float(bounds.group(2)) < 116.3 and 23.9 < float(bounds.group(1)) < 24.1
    assert 'placeholder="YL-2026-ZJ-000001"' in client.get("/portal").text
