"""Write the good sample boundary files (run once from the project root; the files are committed).

    .venv/bin/python tests/data/boundaries/make_samples.py

Hand-made in the formats' own words (not with gis.boundary's writers), in Xian'an district, Xianning, Hubei:
3° zone 38 (CM 114°E), X (northing) 3.28–3.33e6, Y 38 509 000–38 570 000.
"""
import json
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
from pyproj import Transformer
from shapely.geometry import Polygon

OUT = Path("tests/data/boundaries")
TO_LONLAT = Transformer.from_crs(4526, 4490, always_xy=True)


def ha(*rings_xy, holes=()):
    """Hectares of rings given as (X northing, Y easting) lists, minus holes."""
    area = sum(Polygon([(y, x) for x, y in r]).area for r in rings_xy) - sum(Polygon([(y, x) for x, y in h]).area for h in holes)
    return f"{area / 10000:.4f}"


def points(rings, start=1):
    """Point lines `J n,圈号,X,Y`: each ring repeats its first point at its end."""
    out, n = [], start - 1
    for ring_no, ring in enumerate(rings, start=1):
        first = n + 1
        for x, y in ring:
            n += 1
            out.append(f"J{n},{ring_no},{x:.3f},{y:.3f}")
        out.append(f"J{first},{ring_no},{ring[0][0]:.3f},{ring[0][1]:.3f}")
    return out


# --- 1. a GBK requisition: a project section first, 分带 alias, three parcels, one with a hole and a second part ---
factory = [(3301175.500, 38524967.000), (3301880.500, 38524967.000), (3301902.250, 38525310.500),
           (3301880.500, 38525677.000), (3301175.500, 38525677.000), (3301160.125, 38525320.750)]
pond = [(3301498.000, 38525282.000), (3301498.000, 38525362.000), (3301558.000, 38525362.000),
        (3301558.000, 38525282.000)]  # counter-clockwise in (E, N): a hole, 圈号 2
annex = [(3301950.000, 38525000.000), (3302010.000, 38525000.000), (3302010.000, 38525090.000),
         (3301950.000, 38525090.000)]  # outside the factory ring: a second part, 圈号 3
road = [(3301522.000, 38525697.000), (3301534.000, 38525697.000), (3301534.000, 38526097.000),
        (3301522.000, 38526097.000)]
green = [(3300950.000, 38524400.000), (3301010.500, 38524410.250), (3301020.000, 38524480.000),
         (3300990.000, 38524530.000), (3300940.250, 38524490.500)]
p1 = points([factory, pond, annex])
p2 = points([road])
p3 = points([green])
requisition = [
    "[项目信息]", "项目名称=咸安经济开发区标准厂房二期", "项目编号=XA-2026-017", "申请单位=咸宁市咸安区城市建设投资有限公司",
    "[属性描述]", "格式版本号=1.01", "数据产生单位=咸宁市勘测院", "数据产生日期=2026-10-28", "坐标系=2000国家大地坐标系",
    "分带=3度带", "投影类型=高斯克吕格", "计量单位=米", "带号=38", "精度=0.001", "转换参数=,,,,,,",
    "[地块坐标]",
    f"{len(p1)},{ha(factory, annex, holes=[pond])},XA-2026-017-1,标准厂房二期,面,H49G088074,工业用地,0601,@", *p1,
    f"{len(p2)},{ha(road)},XA-2026-017-2,进场道路,面,H49G088074,公路用地,1003,@", *p2,
    # distinct corners counted (5), not point lines (6): both conventions occur
    f"{len(green)},{ha(green)},XA-2026-017-3,防护绿地,面,,公园与绿地,0810,@", *p3,
]
(OUT / "requisition_multi_hole_gbk.txt").write_bytes(("\r\n".join(requisition) + "\r\n").encode("gbk"))

# --- 2. a UTF-8 file with BOM as some survey software writes it: full-width commas, points and digits ---
house = [(3306153.250, 38523680.500), (3306165.750, 38523680.500), (3306165.750, 38523692.500), (3306153.250, 38523692.500)]
ph = points([house])
ph[2] = ph[2].replace(",", "，").replace("3306165.750", "３３０６１６５．７５０")
bom = ["[属性描述]", "格式版本号=1.01", "数据产生单位=咸安区横沟桥镇国土资源所", "数据产生日期=2026-9-3",
       "坐标系=2000国家大地坐标系", "几度分带=3", "投影类型=高斯克吕格", "计量单位=米", "带号=38", "精度=０．００１",
       "转换参数=,,,,,,", "测量员=李工", "[地块坐标]",
       f"{len(ph)}，{ha(house)}，ZJ-2026-031，李秀英宅基地，面，，农村宅基地，0702，@", *ph]
(OUT / "homestead_bom_utf8.txt").write_bytes(b"\xef\xbb\xbf" + ("\r\n".join(bom) + "\r\n").encode("utf-8"))

# --- 3. a GBK file whose Y has no zone prefix (6 digits): the zone comes from 带号 ---
plot = [(3306153.500, 523704.000), (3306165.500, 523704.000), (3306165.500, 523717.000), (3306153.500, 523717.000)]
pn = points([plot])
noprefix = ["[属性描述]", "格式版本号=1.01", "数据产生单位=土地窗口", "数据产生日期=2026-11-2", "坐标系=2000国家大地坐标系",
            "几度分带=3", "投影类型=高斯克吕格", "计量单位=米", "带号=38", "精度=0.001", "转换参数=,,,,,,", "[地块坐标]",
            f"{len(pn)},{ha(plot)},ZJ-2026-044,王德明宅基地,面,,农村宅基地,0702,@", *pn]
(OUT / "homestead_noprefix_gbk.txt").write_bytes(("\r\n".join(noprefix) + "\r\n").encode("gbk"))

# --- 4. a projected mining corner string: one included ring, one cut-out, rings not closed ---
mine = [(3290700.000, 38549550.000), (3291100.000, 38549550.000), (3291100.000, 38550050.000), (3290700.000, 38550050.000)]
cut = [(3290800.000, 38549650.000), (3290900.000, 38549650.000), (3290900.000, 38549750.000), (3290800.000, 38549750.000)]
items = ["2", "4"]
for i, (x, y) in enumerate(mine, start=1):
    items += [str(i), f"{x:.3f}", f"{y:.3f}"]
items += ["320", "80", "咸安区贺胜桥石灰岩矿", "1", "4"]
for i, (x, y) in enumerate(cut, start=5):
    items += [str(i), f"{x:.3f}", f"{y:.3f}"]
items += ["320", "80", "保留村庄", "-1"]
(OUT / "mining_projected_gbk.txt").write_bytes(",".join(items).encode("gbk"))

# --- 5. a packed-DMS corner string (longitude first): 114°18′15″–114°18′45″E, 29°48′20″–29°48′40″N ---
dms = ["1", "4", "1", "114.1815", "29.4820", "2", "114.1845", "29.4820", "3", "114.1845", "29.4840",
       "4", "114.1815", "29.4840", "150", "0", "咸安区高桥建筑用砂岩矿", "1"]
(OUT / "mining_dms_utf8.txt").write_bytes(",".join(dms).encode("utf-8"))


# --- 6. GeoJSON (RFC 7946, lon/lat) with two features ---
def lonlat(ring):
    return [list(TO_LONLAT.transform(y, x)) for x, y in [*ring, ring[0]]]


fc = {"type": "FeatureCollection", "features": [
    {"type": "Feature", "properties": {"parcel_no": "GJ-001", "name": "标准厂房二期", "dlbm": "0601"},
     "geometry": {"type": "Polygon", "coordinates": [lonlat(factory), lonlat(list(reversed(pond)))]}},
    {"type": "Feature", "properties": {"parcel_no": "GJ-002", "name": "进场道路", "dlbm": "1003"},
     "geometry": {"type": "Polygon", "coordinates": [lonlat(road)]}},
]}
(OUT / "requisition.geojson").write_text(json.dumps(fc, ensure_ascii=False, indent=1), encoding="utf-8")

# --- 7. a zipped Shapefile in EPSG:4526 with GBK attributes and no .cpg (nor a language id in the DBF) ---
tmp = OUT / "_shp"
tmp.mkdir(exist_ok=True)
gdf = gpd.GeoDataFrame({"DKBH": ["ZJ-2026-052", "ZJ-2026-053"], "DKMC": ["山边新建住房", "刘家湾宅基地"], "DLBM": ["0702", "0702"]},
                       geometry=[Polygon([(y, x) for x, y in ring]) for ring in (
                           [(3306300.0, 38523900.0), (3306312.0, 38523900.0), (3306312.0, 38523912.5), (3306300.0, 38523912.5)],
                           [(3306400.0, 38524000.0), (3306410.0, 38524000.0), (3306410.0, 38524014.0), (3306400.0, 38524014.0)])],
                       crs=4526)
pyogrio.write_dataframe(gdf, tmp / "zongdi.shp", encoding="GBK")
dbf = bytearray((tmp / "zongdi.dbf").read_bytes())
dbf[29] = 0  # no language driver id: the reader must guess GBK from the bytes
(tmp / "zongdi.dbf").write_bytes(bytes(dbf))
with zipfile.ZipFile(OUT / "homestead_gbk_nocpg_shp.zip", "w", zipfile.ZIP_DEFLATED) as zf:
    for ext in ("shp", "shx", "dbf", "prj"):
        zf.write(tmp / f"zongdi.{ext}", f"zongdi.{ext}")
for f in tmp.iterdir():
    f.unlink()
tmp.rmdir()
print("written:", sorted(p.name for p in OUT.iterdir()))
