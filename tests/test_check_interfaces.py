"""The check's interfaces: `landwindow check`, POST /api/v1/checks, stored reports and the recheck after a re-import."""

import json

import pytest
from shapely.geometry import mapping
from typer.testing import CliRunner

from gis.boundary import read_drawn, write_txt
from service.cases import checking
from service.cli.app import app as cli
from tests.support.onemap import X0, b, lonlat

runner = CliRunner()


def txt_file(tmp_path, geom, name="plot.txt"):
    boundary = read_drawn(
        {"type": "Feature", "properties": {"parcel_no": "T-1", "name": "测试"}, "geometry": mapping(lonlat(geom))}
    )
    path = tmp_path / name
    path.write_bytes(write_txt(boundary))
    return path


def test_cli_check_exit_codes_and_json(cli_db, one_map, tmp_path):
    clean = txt_file(tmp_path, b(40, 240, 52, 252), "clean.txt")
    r = runner.invoke(cli, ["check", str(clean), "--kind", "homestead", "--household", "HH2"])
    assert r.exit_code == 0, r.output
    assert "verdict pass" in r.stdout and "HS-BF" in r.stdout
    farm = txt_file(tmp_path, b(90, 90, 105, 102), "farm.txt")
    r = runner.invoke(cli, ["check", str(farm), "--kind", "homestead", "--json"])
    assert r.exit_code == 3
    report = json.loads(r.stdout)
    assert report["verdict"] == "block" and report["kind"] == "homestead"
    bf = next(x for x in report["rules"] if x["rule"] == "HS-BF")
    assert bf["overlap_m2"] == pytest.approx(100.0, abs=0.01) and bf["layer_version"] == 1
    assert {"code", "name", "category", "area_m2"} <= set(report["landuse"][0])
    assert report["area_mu"] == pytest.approx(180 / (10000 / 15), abs=1e-6)
    bad = tmp_path / "bad.txt"
    bad.write_text("[地块坐标]\n4,,x,y,面,,,,@\nJ1,1,abc,38523680.5\n", encoding="utf-8")
    r = runner.invoke(cli, ["check", str(bad), "--kind", "homestead"])
    assert r.exit_code == 2 and "bad_number" not in r.output and "不是数字" in r.output


def test_api_check_with_a_file_and_with_a_drawn_polygon(api, one_map, tmp_path):
    path = txt_file(tmp_path, b(90, 90, 105, 102))
    r = api.post("/api/v1/checks", data={"kind": "homestead"}, files={"file": ("farm.txt", path.read_bytes())})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "block" and body["area_m2"] == pytest.approx(180.0, abs=0.01)
    assert next(x for x in body["rules"] if x["rule"] == "HS-BF")["overlap_mu"] == pytest.approx(0.15, abs=1e-6)
    drawn = json.dumps({"type": "Polygon", "coordinates": mapping(lonlat(b(40, 240, 52, 252)))["coordinates"]})
    r = api.post("/api/v1/checks", data={"kind": "requisition", "geojson": drawn})
    assert r.status_code == 200 and r.json()["approval_level"]["level"] == "province"


def test_api_check_refuses_bad_input_with_a_message(api, one_map):
    r = api.post("/api/v1/checks", data={"kind": "homestead"}, files={"file": ("x.txt", b"[\xe5\x9c\xb0")})
    assert r.status_code == 422 and "x.txt" in r.json()["detail"]
    assert r.json()["issues"]
    r = api.post("/api/v1/checks", data={"kind": "fishing", "geojson": "{}"})
    assert r.status_code == 422 and "fishing" in r.json()["detail"]
    r = api.post("/api/v1/checks", data={"kind": "homestead"})
    assert r.status_code == 422 and "exactly one" in r.json()["detail"]
    r = api.post("/api/v1/checks", as_=None, data={"kind": "homestead", "geojson": "{}"})
    assert r.status_code == 401


def test_reimport_then_recheck_lists_the_flipped_case(api, one_map, load_layer, conn):
    body = {
        "kind": "homestead",
        "applicant_name": "赵六",
        "household_id": "HH9",
        "boundary": {"type": "Feature", "properties": {}, "geometry": mapping(lonlat(b(40, 240, 52, 252)))},
    }
    case = api.post("/api/v1/cases", json=body).json()
    assert case["check"]["verdict"] == "pass"
    load_layer("basic_farmland", [{"patch_no": "BF1"}, {"patch_no": "BF9"}], [b(0, 0, 100, 100), b(45, 245, 60, 260)])
    assert api.post("/api/v1/recheck", as_="clerk").status_code == 403
    r = api.post("/api/v1/recheck", as_="planner")
    assert r.status_code == 200
    assert r.json()["checked"] == 1
    assert r.json()["changed"] == [
        {"case_id": case["id"], "case_no": case["case_no"], "before": "pass", "after": "block"}
    ]
    report = api.get(f"/api/v1/cases/{case['id']}/check").json()
    assert report["trigger"] == "recheck" and report["layer_versions"]["basic_farmland"] == 2
    runs = conn.execute("SELECT verdict, layer_versions->>'basic_farmland' FROM check_runs ORDER BY id").fetchall()
    assert runs == [("pass", "1"), ("block", "2")]  # the old report is kept with the map it was made on


def test_a_large_recheck_split_over_two_connections_matches_one_connection(api, one_map, load_layer, conn, monkeypatch):
    """Half of a large recheck batch runs on a second pooled connection; the verdicts are the one-connection ones."""

    plots = [b(40 + 6 * i, 240, 45 + 6 * i, 245) for i in range(8)]  # along the village, x 40–87
    ids = []
    for i, plot in enumerate(plots):
        body = {
            "kind": "homestead",
            "applicant_name": f"申请人{i}",
            "household_id": f"HH{20 + i}",
            "boundary": {"type": "Feature", "properties": {}, "geometry": mapping(lonlat(plot))},
        }
        ids.append(api.post("/api/v1/cases", json=body).json()["id"])
    # new basic farmland over x 60–100: the plots from x 64 on are now blocked
    load_layer("basic_farmland", [{"patch_no": "BF1"}, {"patch_no": "BF9"}], [b(0, 0, 100, 100), b(60, 230, 100, 260)])
    monkeypatch.setattr(checking, "PARALLEL_BATCH_FROM", 2)
    r = api.post("/api/v1/recheck", as_="planner")
    assert r.status_code == 200 and r.json()["checked"] == 8
    changed = {c["case_id"]: (c["before"], c["after"]) for c in r.json()["changed"]}
    assert changed == {cid: ("pass", "block") for cid, plot in zip(ids, plots, strict=True) if plot.bounds[2] - X0 > 60}
    split = {cid: api.get(f"/api/v1/cases/{cid}/check").json()["rules"] for cid in ids}
    monkeypatch.setattr(checking, "PARALLEL_BATCH_FROM", 10**9)
    assert api.post("/api/v1/recheck", as_="planner").json()["changed"] == []
    for cid in ids:
        one = api.get(f"/api/v1/cases/{cid}/check").json()["rules"]
        assert [(x["rule"], x["status"], round(x["overlap_m2"], 4)) for x in one] == [
            (x["rule"], x["status"], round(x["overlap_m2"], 4)) for x in split[cid]
        ]


def test_a_large_boundary_split_over_pooled_connections_gives_the_one_statement_report(api, one_map, db_url, tmp_path):
    """A requisition above engine.split_above_m2 is gathered by one statement per dense layer at once."""
    from gis.check import CheckRequest, run_check
    from gis.check.engine import column_groups
    from gis.check.rules import ruleset

    rules = ruleset()
    groups = column_groups(rules, "requisition")
    assert groups[1:] == [["hits:parcels"], ["hits:landuse"]] and groups[0][-1] == "hits:basic_farmland"
    assert sorted(n for g in groups for n in g) == sorted({n for g in groups for n in g})  # no figure twice
    big = b(
        -50, -50, 250, 150
    )  # 60 000 m² > 20 000 m²: over basic farmland (a warning: State Council level), two price zones
    drawn = json.dumps(mapping(lonlat(big)))
    r = api.post("/api/v1/checks", data={"kind": "requisition", "geojson": drawn})
    assert r.status_code == 200, r.text
    split = r.json()
    import psycopg

    with psycopg.connect(db_url) as conn:
        whole = json.loads(
            json.dumps(
                run_check(conn, CheckRequest(province="湖北", kind="requisition", geometry=lonlat(big))).to_dict()
            )
        )
    assert split["area_m2"] == pytest.approx(60000.0, abs=0.01)
    for key in ("verdict", "approval_level", "compensation", "landuse", "categories", "layer_versions"):
        assert split[key] == whole[key], key
    by_rule = {x["rule"]: x for x in split["rules"]}
    assert by_rule == {x["rule"]: x for x in whole["rules"]}
    farmland = next(x for x in split["rules"] if x["layer"] == "basic_farmland")
    assert farmland["status"] == "warn" and farmland["overlap_m2"] == pytest.approx(10000.0, abs=0.01)
    assert sorted(f["parcel_no"] for o in split["owners"] for f in o["parcels"]) == ["JA001", "JA002"]
