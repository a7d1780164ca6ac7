"""A small hand-made one map in zone 38 (EPSG:4526), the same for every test that needs exact areas."""

from shapely.geometry import box

from gis.crs import reproject

X0, Y0 = 38530000.0, 3303000.0


def b(x1, y1, x2, y2):
    """A box in local metres from the origin of the test map (EPSG:4526)."""
    return box(X0 + x1, Y0 + y1, X0 + x2, Y0 + y2)


def lonlat(geom):
    """The geometry in EPSG:4490 lon/lat."""
    return reproject(geom, 4526, 4490)


def load_one_map(load_layer) -> None:
    """Load every layer of the test map."""
    load_layer("basic_farmland", [{"patch_no": "BF1"}], [b(0, 0, 100, 100)])
    load_layer("eco_redline", [{"name": "大幕山生态保护红线"}], [b(200, 0, 300, 100)])
    load_layer("village_boundary", [{"village": "张家村"}], [b(0, 200, 100, 300)])
    load_layer("urban_boundary", [{"name": "中心城区"}], [b(0, 0, 150, 300)])
    load_layer(
        "landuse",
        [{"dlbm": "0101"}, {"dlbm": "0103"}, {"dlbm": "0301K"}, {"dlbm": "0702"}],
        [b(0, 0, 100, 100), b(100, 0, 200, 100), b(200, 0, 300, 100), b(0, 200, 100, 300)],
    )
    load_layer(
        "parcels",
        [
            {
                "parcel_no": "JA001",
                "owner": "张家村第一村民小组",
                "owner_kind": "collective",
                "right_type": "集体土地所有权",
            },
            {
                "parcel_no": "JA002",
                "owner": "李家村民委员会",
                "owner_kind": "collective",
                "right_type": "集体土地所有权",
            },
            {
                "parcel_no": "JC001",
                "owner": "张三",
                "owner_kind": "person",
                "household_id": "HH1",
                "right_type": "宅基地使用权",
            },
        ],
        [b(0, 0, 100, 100), b(100, 0, 200, 100), b(10, 210, 30, 230)],
    )
    load_layer(
        "mining_rights",
        [
            {
                "licence_no": "C001",
                "holder": "甲矿业",
                "kind": "mining",
                "depth_top": 300,
                "depth_bottom": 100,
                "valid_from": "2020-01-01",
                "valid_to": "2030-12-31",
            },
            {
                "licence_no": "C002",
                "holder": "乙矿业",
                "kind": "mining",
                "depth_top": 300,
                "depth_bottom": 100,
                "valid_from": "2010-01-01",
                "valid_to": "2020-12-31",
            },
        ],
        [b(400, 0, 500, 100), b(400, 200, 500, 300)],
    )
    load_layer(
        "land_price_zones",
        [
            {"zone_no": "Ⅰ", "price_per_mu": 50000, "land_share": 0.4, "resettlement_share": 0.6},
            {"zone_no": "Ⅱ", "price_per_mu": 60000, "land_share": 0.4, "resettlement_share": 0.6},
        ],
        [b(0, -1000, 150, 1000), b(150, -1000, 600, 1000)],
    )
