"""Write the sample application boundary files from anchors.json with the project's own writers.

    python sample_parcels/make_applications.py

Each file lands on a telling place of the sample county (see anchors.json and sample_parcels/README.md).
"""

from __future__ import annotations

import json
import zipfile
from datetime import date
from pathlib import Path

import geopandas as gpd
from shapely.geometry import Polygon, shape

from gis.boundary import read_drawn, write_mining, write_txt
from gis.crs import reproject

HERE = Path(__file__).resolve().parent
OUT = HERE / "applications"
ON = date(2026, 11, 2)


def boundary_of(anchor: dict, name: str, parcel_no: str, landuse: str = "", use: str = ""):
    """A one-parcel boundary from an anchor, with its number and name."""
    b = read_drawn(
        {"type": "Feature", "properties": {"parcel_no": parcel_no, "name": name}, "geometry": anchor["geojson"]}
    )
    b.parcels[0].landuse_code = landuse or None
    b.parcels[0].use = use or None
    return b


def main() -> None:
    """Write every sample application file."""
    anchors = json.loads((HERE / "anchors.json").read_text("utf-8"))
    OUT.mkdir(exist_ok=True)
    clean = boundary_of(anchors["homestead_clean"], "张建华宅基地", "ZJ-001", "0702", "农村宅基地")
    (OUT / "homestead_clean.txt").write_bytes(write_txt(clean, encoding="gbk", unit="咸安区自然资源和规划局", on=ON))

    farm = boundary_of(anchors["homestead_on_farmland"], "李秀英宅基地", "ZJ-002", "0702", "农村宅基地")
    text = write_txt(farm, encoding="utf-8", on=ON).decode("utf-8")
    # as some survey software writes it: a BOM, full-width commas and points in the header line
    text = text.replace("面,,农村宅基地,0702,@", "面，，农村宅基地，0702，@")
    (OUT / "homestead_on_farmland_utf8.txt").write_bytes("\ufeff".encode() + text.encode("utf-8"))

    second = boundary_of(anchors["homestead_second_house"], "王德明宅基地", "ZJ-003", "0702", "农村宅基地")
    noprefix = write_txt(second, encoding="gbk", on=ON).decode("gbk")
    lines = []
    for line in noprefix.splitlines():
        parts = line.split(",")
        if len(parts) == 4 and parts[0].startswith("J"):
            parts[3] = f"{float(parts[3]) - 38_000_000:.3f}"  # drop the zone prefix; 带号=38 says it
        lines.append(",".join(parts))
    (OUT / "homestead_noprefix.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))

    # A two-parcel requisition: the 50 ha area with a pond kept out (a hole) and a separate access-road parcel.
    req = anchors["requisition_50ha"]
    ring = req["ring_gk"]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    cx, cy = sum(xs[:-1]) / 4, sum(ys[:-1]) / 4
    hole = [(cx - 40, cy - 30), (cx + 40, cy - 30), (cx + 40, cy + 30), (cx - 40, cy + 30), (cx - 40, cy - 30)]
    main_part = Polygon(ring, [hole])
    road = Polygon([(max(xs) + 20, cy - 6), (max(xs) + 420, cy - 6), (max(xs) + 420, cy + 6), (max(xs) + 20, cy + 6)])
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"parcel_no": "ZS-001", "name": "标准厂房一期"},
                "geometry": reproject(main_part, 4526, 4490).__geo_interface__,
            },
            {
                "type": "Feature",
                "properties": {"parcel_no": "ZS-002", "name": "进场道路"},
                "geometry": reproject(road, 4526, 4490).__geo_interface__,
            },
        ],
    }
    requisition = read_drawn(fc)
    for p, code in zip(requisition.parcels, ("0601", "1003"), strict=True):
        p.landuse_code, p.use = code, "工业用地" if code == "0601" else "公路用地"
    (OUT / "requisition_two_parcels_hole.txt").write_bytes(
        write_txt(requisition, encoding="gbk", unit="咸宁市勘测院", on=ON)
    )
    (OUT / "requisition.geojson").write_text(json.dumps(fc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")

    mine = anchors["mining_overlap"]
    m = boundary_of(mine, "鑫源石灰岩矿", "CK-001")
    (OUT / "mining_overlap.txt").write_text(
        write_mining(m, depth_top=mine["depth_top"], depth_bottom=mine["depth_bottom"]) + "\n", encoding="utf-8"
    )
    disjoint = anchors["mining_depth_disjoint"]
    (OUT / "mining_depth_disjoint_dms.txt").write_text(
        write_mining(m, dms=True, depth_top=disjoint["depth_top"], depth_bottom=disjoint["depth_bottom"]) + "\n",
        encoding="utf-8",
    )

    # A zipped Shapefile with GBK attributes and no .cpg, as many desktop GIS exports are.
    red = anchors["redline"]
    gdf = gpd.GeoDataFrame({"DKBH": ["ZJ-004"], "DKMC": ["山边新建住房"]}, geometry=[shape(red["geojson"])], crs=4490)
    tmp = OUT / "_shp"
    tmp.mkdir(exist_ok=True)
    gdf.to_file(tmp / "redline_plot.shp", encoding="GBK")
    with zipfile.ZipFile(OUT / "homestead_redline_gbk_shp.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for ext in ("shp", "shx", "dbf", "prj"):
            zf.write(tmp / f"redline_plot.{ext}", f"redline_plot.{ext}")
    for f in tmp.iterdir():
        f.unlink()
    tmp.rmdir()


if __name__ == "__main__":
    main()
