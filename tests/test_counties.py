"""Many counties in one instance: layer partitions by county, staff of a county, a province's planner."""

from __future__ import annotations

import geopandas as gpd
import mapbox_vector_tile
import pytest
from sqlalchemy import select, update

from gis.catalog import layer
from gis.importer import LayerImportError, layer_versions, load, prepare
from service.access.auth import add_user
from service.core.errors import InvalidInput
from service.core.models import Case
from service.reports.conversions import list_conversions
from tests.support.cases import MATERIALS, Window, drawn
from tests.support.onemap import b, lonlat
from tests.test_app import _tile_of as tile_of
from tests.test_conversions import build, window  # noqa: F401  (the fixture)
from tests.test_web_planner import login

XIANAN = "421202"  # the shipped profile's county: the instance's own
JIAYU = "421221"  # 嘉鱼县, a second county of the same city


def _load(conn, county: str, numbers: list[str], x0: float = 0.0, replace: bool = True):
    gdf = gpd.GeoDataFrame(
        [{"parcel_no": n} for n in numbers],
        geometry=[b(x0 + 20 * i, 0, x0 + 20 * i + 10, 10) for i in range(len(numbers))],
        crs=4526,
    )
    gdf.index = [str(i + 1) for i in range(len(gdf))]
    return load(conn, prepare(gdf, layer("parcels"), source=f"test:{county}"), replace=replace, county=county)


def _rows(conn, partition: str) -> list[tuple]:
    """Each row's physical place and the transaction that wrote it: unchanged only if nothing touched the row."""
    return conn.execute(f"SELECT id, ctid::text, xmin::text, parcel_no FROM {partition} ORDER BY id").fetchall()


def test_an_import_into_one_county_replaces_its_partition_and_leaves_the_others_untouched(conn):
    first = _load(conn, XIANAN, ["XA1", "XA2", "XA3"])
    assert (first.county, first.loaded, first.feature_count) == (XIANAN, 3, 3)
    _load(conn, JIAYU, ["JY1", "JY2"], x0=1000)
    bounds = dict(
        conn.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c "
            "ON c.oid = i.inhrelid WHERE i.inhparent = 'parcels'::regclass"
        ).fetchall()
    )
    assert bounds == {"parcels_c421202": "FOR VALUES IN ('421202')", "parcels_c421221": "FOR VALUES IN ('421221')"}
    xianan_before = _rows(conn, "parcels_c421202")
    file_before = conn.execute("SELECT pg_relation_filenode('parcels_c421202')").fetchone()[0]

    again = _load(conn, JIAYU, ["JY7"], x0=1000)
    assert (again.loaded, again.feature_count) == (1, 4)  # the layer: 3 of Xian'an and now 1 of Jiayu
    # Xian'an's rows were not rewritten, not even locked for update: same place, same writing transaction, same file
    assert _rows(conn, "parcels_c421202") == xianan_before
    assert conn.execute("SELECT pg_relation_filenode('parcels_c421202')").fetchone()[0] == file_before
    assert conn.execute("SELECT county, count(*) FROM parcels GROUP BY county ORDER BY county").fetchall() == [
        (XIANAN, 3),
        (JIAYU, 1),
    ]
    assert [r[0] for r in conn.execute("SELECT parcel_no FROM parcels WHERE county = %s", (JIAYU,))] == ["JY7"]
    # ids stay unique across the counties (one sequence), and the partition answers through the parent's index
    ids = [r[0] for r in conn.execute("SELECT id FROM parcels")]
    assert len(ids) == len(set(ids)) == 4
    assert conn.execute(
        "SELECT count(*) FROM pg_indexes WHERE tablename = 'parcels_c421221' AND indexdef ILIKE '%gist%'"
    ).fetchone() == (1,)
    assert layer_versions(conn)["parcels"] == {"version": 3, "count": 4}
    loads = conn.execute("SELECT county, feature_count FROM layer_loads WHERE layer = 'parcels' ORDER BY id").fetchall()
    assert loads == [(XIANAN, 3), (JIAYU, 2), (JIAYU, 1)]

    # adding to a county keeps its rows and the others'
    _load(conn, JIAYU, ["JY8"], x0=1200, replace=False)
    assert conn.execute("SELECT count(*) FROM parcels WHERE county = %s", (JIAYU,)).fetchone() == (2,)
    assert _rows(conn, "parcels_c421202") == xianan_before
    assert layer_versions(conn)["parcels"]["count"] == 5


def test_a_subdivided_layer_is_partitioned_with_its_pieces(conn):
    gdf = gpd.GeoDataFrame(
        [{"name": "红线"}], geometry=[b(0, 0, 3000, 3000).centroid.buffer(1000, 200)], crs=4526
    )  # 801 corners
    gdf.index = ["1"]
    load(conn, prepare(gdf, layer("eco_redline"), source="test"), county=JIAYU)
    pieces = conn.execute("SELECT count(*), min(county), max(county) FROM eco_redline_sub").fetchone()
    assert pieces[0] > 1 and pieces[1:] == (JIAYU, JIAYU)
    assert conn.execute("SELECT count(*) FROM eco_redline_sub_c421221").fetchone() == (pieces[0],)
    # the pieces belong to the feature of their own county's partition
    assert conn.execute(
        "SELECT count(*) FROM eco_redline_sub s JOIN eco_redline e ON e.id = s.feature_id AND e.county = s.county"
    ).fetchone() == (pieces[0],)


def test_a_wrong_county_code_is_refused_before_anything_is_written(conn):
    with pytest.raises(LayerImportError, match="six digits"):
        _load(conn, "4212", ["X"])
    assert conn.execute("SELECT count(*) FROM parcels").fetchone() == (0,)
    assert conn.execute("SELECT to_regclass('parcels_c4212')").fetchone() == (None,)


def test_staff_of_a_county_see_only_its_cases(api, client, conn, window):  # noqa: F811
    c = build(window)
    other = c["C"]
    window.s.execute(update(Case).where(Case.id == other.id).values(county=JIAYU))
    add_user(window.s, "jiayu_clerk", "clerk", "jiayu-clerk-test", county=JIAYU)
    window.s.commit()
    token = client.post("/api/v1/auth/token", data={"username": "jiayu_clerk", "password": "jiayu-clerk-test"})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    listed = client.get("/api/v1/cases", headers=headers)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"] if isinstance(listed.json(), dict) else listed.json()
    assert [i["case_no"] for i in items] == [other.case_no]
    # a case of another county answers as one that does not exist
    mine, theirs = (
        client.get(f"/api/v1/cases/{other.id}", headers=headers),
        client.get(f"/api/v1/cases/{c['A'].id}", headers=headers),
    )
    assert mine.status_code == 200 and theirs.status_code == 404
    assert "not found" in theirs.json()["detail"]
    # the instance's own staff (no county) see every county's cases
    everyone = api.get("/api/v1/cases", as_="clerk").json()
    everyone = everyone["items"] if isinstance(everyone, dict) else everyone
    assert {other.case_no, c["A"].case_no} <= {i["case_no"] for i in everyone}
    with pytest.raises(InvalidInput, match="six-digit"):
        add_user(window.s, "nowhere", "clerk", "nowhere-test", county="42")


def test_a_province_planner_reads_every_county_with_totals_by_county(api, client, window):  # noqa: F811
    c = build(window)
    # B (100 m² homestead, approved) and C (5 000 m² requisition, pending) lodged in Jiayu; A (5 000 m²) in Xian'an
    window.s.execute(update(Case).where(Case.id.in_([c["B"].id, c["C"].id])).values(county=JIAYU))
    add_user(window.s, "jiayu_planner", "planner", "jiayu-planner-test", county=JIAYU)
    window.s.commit()
    by_county = list_conversions(window.s).totals_by_county()
    assert list(by_county) == [XIANAN, JIAYU]
    assert by_county[XIANAN]["all"]["cases"] == 1
    assert by_county[XIANAN]["all"]["agricultural_m2"] == pytest.approx(5000.0, abs=0.01)
    assert by_county[JIAYU]["approved"]["cultivated_m2"] == pytest.approx(100.0, abs=0.01)
    assert by_county[JIAYU]["pending"]["cultivated_m2"] == pytest.approx(5000.0, abs=0.01)
    assert by_county[JIAYU]["all"]["agricultural_m2"] == pytest.approx(5100.0, abs=0.01)

    province = api.get("/api/v1/conversions", as_="planner").json()  # the planner of the instance: every county
    assert set(province["totals_by_county"]) == {XIANAN, JIAYU}
    assert province["totals"]["all"]["agricultural_m2"] == pytest.approx(10100.0, abs=0.01)
    token = client.post("/api/v1/auth/token", data={"username": "jiayu_planner", "password": "jiayu-planner-test"})
    county = client.get("/api/v1/conversions", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert county.status_code == 200, county.text
    assert sorted(r["case_no"] for r in county.json()["conversions"]) == sorted([c["B"].case_no, c["C"].case_no])
    assert list(county.json()["totals_by_county"]) == [JIAYU]

    login(client, "planner", api.staff["planner"]["password"])
    page = client.get("/planner")
    assert page.status_code == 200
    assert 'data-county="421221"' in page.text and 'data-county="421202"' in page.text


def test_each_county_balances_its_conversions_against_its_own_quotas_and_offsets(api, client, window):  # noqa: F811
    from service.core.models import LandQuota
    from service.reports import quotas

    c = build(window)  # A: 5 000 m² of 旱地 approved 12 March in 向阳镇; B: 100 m² approved 6 March in 桂花镇
    window.s.execute(update(Case).where(Case.id == c["B"].id).values(county=JIAYU))
    add_user(window.s, "jiayu_planner", "planner", "jiayu-planner-test", county=JIAYU)
    # two counties, each with a 桂花镇 of its own; offsets only in Xian'an
    quotas.load_plan(window.s, "year,township,quota_ha\n2026,桂花镇,1\n".encode(), "xianan.csv", XIANAN)
    quotas.load_plan(window.s, "year,township,quota_m2\n2026,桂花镇,50\n".encode(), "jiayu.csv", JIAYU)
    offsets = "project_no,name,area_m2,accepted_on\nBC-1,向阳镇土地整治,3000,2026-03-01\n"
    quotas.load_offsets(window.s, offsets.encode(), "offsets.csv", XIANAN)
    window.s.commit()

    jiayu = quotas.ledger(window.s, 2026, JIAYU)
    assert [(q.county, q.township, q.quota_m2, round(q.used_m2, 2)) for q in jiayu.quotas] == [
        (JIAYU, "桂花镇", 50.0, 100.0)
    ]
    (b,) = jiayu.debits
    assert (b.conversion.case_no, round(b.quota_short_m2, 2), b.offsets, round(b.offset_short_m2, 2)) == (
        c["B"].case_no,
        50.0,
        [],  # Xian'an's offset project is not Jiayu's to use
        100.0,
    )
    assert jiayu.offsets == []
    xianan = quotas.ledger(window.s, 2026, XIANAN)
    assert [(q.township, q.quota_m2, round(q.used_m2, 2)) for q in xianan.quotas] == [
        ("桂花镇", 10000.0, 0.0),  # B is Jiayu's: Xian'an's 桂花镇 is untouched
        ("向阳镇", None, 5000.0),
    ]
    (a,) = xianan.debits
    assert (a.offsets, round(a.offset_short_m2, 2)) == ([("BC-1", 3000.0)], 2000.0)
    # the instance sees both counties' lines apart; reloading Xian'an's 2026 leaves Jiayu's
    assert sorted((q.county, q.township) for q in quotas.ledger(window.s, 2026).quotas) == [
        (XIANAN, "向阳镇"),
        (XIANAN, "桂花镇"),
        (JIAYU, "桂花镇"),
    ]
    quotas.load_plan(window.s, "year,township,quota_ha\n2026,向阳镇,2\n".encode(), "xianan2.csv", XIANAN)
    window.s.commit()
    rows = window.s.execute(select(LandQuota.county, LandQuota.township, LandQuota.quota_m2)).all()
    assert sorted(rows) == [(XIANAN, "向阳镇", 20000.0), (JIAYU, "桂花镇", 50.0)]
    # a county's planner reads their county's ledger only
    token = client.post("/api/v1/auth/token", data={"username": "jiayu_planner", "password": "jiayu-planner-test"})
    r = client.get(
        "/api/v1/conversions/ledger?year=2026", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
    )
    assert r.status_code == 200, r.text
    assert [(q["county"], q["township"]) for q in r.json()["quotas"]] == [(JIAYU, "桂花镇")]
    assert r.json()["offsets"] == []


def test_the_layers_of_the_cases_keep_to_one_county_in_checks_tiles_and_tilejson(
    api, conn, staff, staff_hashes, one_map
):
    password = staff["clerk"]["password"]
    conn.execute(
        "INSERT INTO users (username, display_name, role, password_hash, county) VALUES (%s, %s, 'clerk', %s, %s)",
        ("jiayu_clerk", "嘉鱼县窗口", staff_hashes[password], JIAYU),
    )
    conn.commit()
    api.staff["jiayu_clerk"] = {"password": password}
    w = Window(api, conn)
    body = {"kind": "homestead", "applicant_name": "王五", "materials_received": MATERIALS["homestead"]}
    r = api.post(
        "/api/v1/cases", as_="jiayu_clerk", json={**body, "household_id": "HH7", "boundary": drawn(b(20, 260, 40, 280))}
    )
    assert r.status_code == 201, r.text
    theirs = r.json()
    assert conn.execute("SELECT county FROM cases WHERE id = %s", (theirs["id"],)).fetchone() == (JIAYU,)
    # lodged after Jiayu's application over its land by the same household: a case of another county is no conflict
    ours = w.intake("homestead", b(30, 270, 40, 285), household_id="HH7")
    assert conn.execute("SELECT county FROM cases WHERE id = %s", (ours["id"],)).fetchone() == (XIANAN,)
    assert w.rule(ours, "HS-PEND")["status"] == "pass"
    assert w.rule(ours, "HS-ONE-PEND")["status"] == "pass"
    # a third, in Xian'an, overlaps both earlier ones: only its own county's is weighed
    third = w.intake("homestead", b(25, 265, 35, 275), household_id="HH7")
    pend = w.rule(third, "HS-PEND")
    assert pend["status"] == "warn" and [f["attrs"]["case_no"] for f in pend["features"]] == [ours["case_no"]]
    assert pend["overlap_m2"] == pytest.approx(25.0, abs=0.01)  # 5 m × 5 m of ours (Jiayu's 100 m² left out)
    one = w.rule(third, "HS-ONE-PEND")
    assert [f["attrs"]["case_no"] for f in one["features"]] == [ours["case_no"]]

    # the tile where all three meet: the instance's staff see every county's cases, Jiayu's staff Jiayu's alone
    plot = lonlat(b(30, 270, 35, 275)).centroid
    x, y = tile_of(plot.x, plot.y, 16)
    url = f"/tiles/cases/cases_pending/16/{x}/{y}.pbf"

    def case_nos(response) -> set[str]:
        assert response.status_code == 200, response.text
        features = mapbox_vector_tile.decode(response.content)["cases_pending"]["features"]
        return {f["properties"]["case_no"] for f in features}

    everyone = api.get(url)  # rendered first and kept in the tile cache: Jiayu's tile must not come from it
    assert case_nos(everyone) == {theirs["case_no"], ours["case_no"], third["case_no"]}
    jiayu = api.get(url, as_="jiayu_clerk")
    assert case_nos(jiayu) == {theirs["case_no"]}
    version = conn.execute("SELECT version FROM layer_versions WHERE layer = 'cases_pending'").fetchone()[0]
    assert everyone.headers["etag"] == f'"cases_pending-{version}"'
    assert jiayu.headers["etag"] == f'"cases_pending@{JIAYU}-{version}"'
    assert api.get(url).content == everyone.content  # and the instance's tile is still every county's
    # Jiayu's TileJSON frames Jiayu's application alone
    bounds = api.get("/tiles/cases/cases_pending.json", as_="jiayu_clerk").json()["bounds"]
    assert bounds == pytest.approx(
        list(lonlat(b(20, 260, 40, 280)).bounds), abs=1e-5
    )  # ST_Extent: float4 boxes, within a metre
    everywhere = api.get("/tiles/cases/cases_pending.json").json()["bounds"]
    assert everywhere == pytest.approx(
        list(lonlat(b(20, 260, 40, 285)).bounds), abs=1e-5
    )  # ST_Extent: float4 boxes, within a metre
