import geopandas as gpd
import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from shapely.geometry import box

from gis.catalog import all_layers
from gis.importer import load, read
from web.app import create_app

X0, Y0 = 38530000.0, 3303000.0  # EPSG:4526, near 114.31°E 29.85°N


@pytest.fixture
def client(make_settings):
    with TestClient(create_app(make_settings(tile_max_age=60))) as c:
        yield c


@pytest.fixture
def parcels_loaded(tmp_path, conn):
    gdf = gpd.GeoDataFrame(
        {
            "parcel_no": ["A1", "A2"],
            "owner": ["王五", "赵六"],
            "land_class": ["0702", "0101"],
            "household_id": ["H1", "H2"],
        },
        geometry=[box(X0, Y0, X0 + 30, Y0 + 20), box(X0 + 40, Y0, X0 + 70, Y0 + 20)],
        crs=4526,
    )
    path = tmp_path / "p.gpkg"
    gdf.to_file(path, layer="parcels")
    return load(conn, read(path, "parcels"))


def test_healthz_lists_every_layer(client, parcels_loaded):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["postgis"].startswith("3.")
    assert set(body["layers"]) == set(all_layers())
    assert body["layers"]["parcels"] == {"version": 1, "count": 2}
    assert body["layers"]["eco_redline"] == {"version": 0, "count": 0}


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def test_tile_has_features_with_public_attributes_only(client, parcels_loaded):
    from gis.crs import reproject

    c = reproject(box(X0, Y0, X0 + 70, Y0 + 20), 4526, 4490).centroid
    x, y = _tile_of(c.x, c.y, 16)
    r = client.get(f"/tiles/parcels/16/{x}/{y}.pbf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert r.headers["etag"] == '"parcels-1"'
    assert r.headers["cache-control"] == "public, max-age=60"
    tile = mapbox_vector_tile.decode(r.content)
    feats = tile["parcels"]["features"]
    assert sorted(f["properties"]["parcel_no"] for f in feats) == ["A1", "A2"]
    by_no = {f["properties"]["parcel_no"]: f["properties"] for f in feats}
    assert by_no["A2"]["land_class"] == "0101"
    assert not {"owner", "household_id"} & set(by_no["A1"])  # personal data stays out of tiles
    again = client.get(f"/tiles/parcels/16/{x}/{y}.pbf", headers={"If-None-Match": '"parcels-1"'})
    assert again.status_code == 304


def test_empty_and_bad_tiles(client, parcels_loaded):
    assert client.get("/tiles/parcels/16/0/0.pbf").status_code == 204
    assert client.get("/tiles/parcels/5/20/10.pbf").status_code == 204  # below the layer's minimum zoom
    r = client.get("/tiles/parcels/3/8/1.pbf")
    assert r.status_code == 400 and "超出范围" in r.json()["detail"]
    assert client.get("/tiles/parcels/23/0/0.pbf").status_code == 400
    r = client.get("/tiles/roads/10/1/1.pbf")
    assert r.status_code == 404 and "unknown layer 'roads'" in r.json()["detail"]


def test_tilejson(client, parcels_loaded):
    r = client.get("/tiles/parcels.json")
    assert r.status_code == 200
    tj = r.json()
    assert tj["tiles"] == ["http://testserver/tiles/parcels/{z}/{x}/{y}.pbf"]
    assert tj["minzoom"] == 14 and tj["maxzoom"] == 22
    xmin, ymin, xmax, ymax = tj["bounds"]
    assert 114.30 < xmin < xmax < 114.32 and 29.84 < ymin < ymax < 29.86
    assert "owner" not in tj["vector_layers"][0]["fields"]


def test_tiles_cut_from_lon_lat_match_projected_tiles(client, conn, tmp_path, parcels_loaded):
    """From z12 the tile grid is mapped straight from lon/lat: within one grid unit of projecting every vertex, rings
    in the same direction whichever way they turned in the source (exteriors counter-clockwise on the grid, holes
    clockwise)."""
    from shapely.geometry import Polygon
    from shapely.geometry.polygon import orient

    from gis.catalog import layer
    from gis.crs import reproject
    from gis.tiles import LINEAR_FROM_ZOOM, TileAddress, tile_query

    holed = Polygon(
        [(X0 + 80, Y0), (X0 + 110, Y0), (X0 + 110, Y0 + 20), (X0 + 80, Y0 + 20)],
        [[(X0 + 90, Y0 + 5), (X0 + 100, Y0 + 5), (X0 + 100, Y0 + 15), (X0 + 90, Y0 + 15)]],
    )
    extra = gpd.GeoDataFrame(
        {"parcel_no": ["CW1", "CCW2"]}, geometry=[orient(holed, sign=-1.0), orient(holed, sign=1.0)], crs=4526
    )
    extra.to_file(tmp_path / "extra.gpkg", layer="parcels")
    load(conn, read(tmp_path / "extra.gpkg", "parcels"), replace=False)
    c = reproject(box(X0, Y0, X0 + 110, Y0 + 20), 4526, 4490).centroid
    spec = layer("parcels")
    for z in (LINEAR_FROM_ZOOM, 14, 16, 18):
        x, y = _tile_of(c.x, c.y, z)
        params = TileAddress(z, x, y).params(100)
        linear = mapbox_vector_tile.decode(bytes(conn.execute(tile_query(spec, z), params).fetchone()[1]))
        projected = mapbox_vector_tile.decode(
            bytes(conn.execute(tile_query(spec, LINEAR_FROM_ZOOM - 1), params).fetchone()[1])
        )
        a = {f["id"]: f["geometry"]["coordinates"] for f in linear["parcels"]["features"]}
        b = {f["id"]: f["geometry"]["coordinates"] for f in projected["parcels"]["features"]}
        assert a.keys() == b.keys() and len(a) == 4
        for fid in a:
            assert len(a[fid]) == len(b[fid]), (z, fid)
            for ring_a, ring_b in zip(a[fid], b[fid], strict=True):
                # the same ring, in the same direction; where it starts may differ (ST_AsMVTGeom rebuilds rings)
                ra, rb = (
                    ring_a[:-1] if ring_a[0] == ring_a[-1] else ring_a,
                    ring_b[:-1] if ring_b[0] == ring_b[-1] else ring_b,
                )
                assert len(ra) == len(rb), (z, fid)
                gap = min(
                    max(max(abs(u[0] - v[0]), abs(u[1] - v[1])) for u, v in zip(ra[k:] + ra[:k], rb, strict=True))
                    for k in range(len(ra))
                )
                assert gap <= 1, (z, fid, gap)


def test_the_tile_box_worked_out_in_python_is_postgis_own(conn):
    """TileAddress.lonlat_bounds is ST_Transform(ST_TileEnvelope(z, x, y), 4490) to within 1e-9 degrees."""
    from gis.tiles import TileAddress

    for z, x, y in [(0, 0, 0), (8, 209, 107), (12, 3348, 1706), (16, 53568, 27073), (22, 3428388, 1732712)]:
        row = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ST_Transform(ST_TileEnvelope(%s, %s, %s), 4490) e",
            (z, x, y),
        ).fetchone()
        ours = TileAddress(z, x, y).lonlat_bounds()
        assert max(abs(a - b) for a, b in zip(ours, row, strict=True)) < 1e-9, (z, x, y, ours, row)


def test_tiles_are_served_from_memory_until_the_layer_changes(client, conn, tmp_path, parcels_loaded):
    from gis.crs import reproject

    c = reproject(box(X0, Y0, X0 + 70, Y0 + 20), 4526, 4490).centroid
    x, y = _tile_of(c.x, c.y, 16)
    cache = client.app.state.tile_cache
    first = client.get(f"/tiles/parcels/16/{x}/{y}.pbf")
    hits = cache.hits
    again = client.get(f"/tiles/parcels/16/{x}/{y}.pbf")
    assert cache.hits == hits + 1 and again.content == first.content and again.headers["etag"] == '"parcels-1"'
    gdf = gpd.GeoDataFrame({"parcel_no": ["B1"]}, geometry=[box(X0, Y0, X0 + 10, Y0 + 10)], crs=4526)
    path = tmp_path / "q.gpkg"
    gdf.to_file(path, layer="parcels")
    load(conn, read(path, "parcels"), replace=True)
    fresh = client.get(f"/tiles/parcels/16/{x}/{y}.pbf")
    assert fresh.headers["etag"] == '"parcels-2"'
    assert [f["properties"]["parcel_no"] for f in mapbox_vector_tile.decode(fresh.content)["parcels"]["features"]] == [
        "B1"
    ]


def test_one_tile_holds_every_layer_asked_for(client, conn, tmp_path, parcels_loaded):
    """/tiles/{z}/{x}/{y}.pbf?layers=a,b is the tiles of a and b in one MVT: the map's one request per tile."""
    from gis.crs import reproject

    gdf = gpd.GeoDataFrame({"dlbm": ["0101"]}, geometry=[box(X0 - 10, Y0 - 10, X0 + 80, Y0 + 30)], crs=4526)
    gdf.to_file(tmp_path / "landuse.gpkg", layer="landuse")
    load(conn, read(tmp_path / "landuse.gpkg", "landuse"))
    c = reproject(box(X0, Y0, X0 + 70, Y0 + 20), 4526, 4490).centroid
    x, y = _tile_of(c.x, c.y, 16)
    r = client.get(f"/tiles/16/{x}/{y}.pbf?layers=parcels,landuse,parcels")
    assert r.status_code == 200 and r.headers["etag"] == '"parcels-1.landuse-1"'
    tile = mapbox_vector_tile.decode(r.content)
    assert list(tile) == ["parcels", "landuse"]
    assert sorted(f["properties"]["parcel_no"] for f in tile["parcels"]["features"]) == ["A1", "A2"]
    assert [f["properties"]["dlbm"] for f in tile["landuse"]["features"]] == ["0101"]
    # byte for byte the single layers' tiles one after the other, whether rendered here or taken from the cache
    singles = [client.get(f"/tiles/{name}/16/{x}/{y}.pbf").content for name in ("parcels", "landuse")]
    assert r.content == b"".join(singles)
    assert client.get(f"/tiles/16/{x}/{y}.pbf?layers=parcels,landuse").content == r.content
    again = client.get(f"/tiles/16/{x}/{y}.pbf?layers=parcels,landuse", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    # below a layer's minimum zoom it is left out; every layer when none is named
    z13 = client.get(f"/tiles/13/{x >> 3}/{y >> 3}.pbf?layers=parcels,landuse")
    assert list(mapbox_vector_tile.decode(z13.content)) == ["landuse"]
    assert set(mapbox_vector_tile.decode(client.get(f"/tiles/16/{x}/{y}.pbf").content)) == {"parcels", "landuse"}
    assert client.get("/tiles/16/0/0.pbf?layers=parcels").status_code == 204
    assert client.get("/tiles/5/20/10.pbf?layers=parcels").status_code == 204
    bad = client.get(f"/tiles/16/{x}/{y}.pbf?layers=parcels,roads")
    assert bad.status_code == 404 and "unknown layer 'roads'" in bad.json()["detail"]
    assert client.get(f"/tiles/16/{x}/{y}.pbf?layers=parcels;drop").status_code == 422
    assert client.get("/tiles/3/8/1.pbf?layers=parcels").status_code == 400
