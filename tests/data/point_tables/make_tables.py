"""Write the sample point tables (run once from the project root; the files are committed).

    .venv/bin/python tests/data/point_tables/make_tables.py

Hand-made as survey offices and Excel write them (not with gis.boundary), in Xian'an district, Xianning, Hubei:
3° zone 38 (CM 114°E), X (northing) 3.28–3.33e6, Y 38 509 000–38 570 000.
"""

from pathlib import Path

import openpyxl
from pyproj import Transformer

OUT = Path("tests/data/point_tables")
TO_LONLAT = Transformer.from_crs(4526, 4490, always_xy=True)

# (X northing, Y easting): a 150 m² house plot and a 156 m² one, clockwise as surveyors walk them
HOUSE = [(3306153.250, 38523680.500), (3306165.750, 38523680.500), (3306165.750, 38523692.500), (3306153.250, 38523692.500)]
PLOT = [(3306153.500, 38523704.000), (3306165.500, 38523704.000), (3306165.500, 38523717.000), (3306153.500, 38523717.000)]
# an irregular requisition parcel with a pond (a hole) and an annex (a second part), and a road parcel
FIELD = [(3301175.500, 38524967.000), (3301880.500, 38524967.000), (3301902.250, 38525310.500),
         (3301880.500, 38525677.000), (3301175.500, 38525677.000), (3301160.125, 38525320.750)]
POND = [(3301498.000, 38525282.000), (3301558.000, 38525282.000), (3301558.000, 38525362.000), (3301498.000, 38525362.000)]
ANNEX = [(3301950.000, 38525000.000), (3302010.000, 38525000.000), (3302010.000, 38525090.000), (3301950.000, 38525090.000)]
ROAD = [(3301522.000, 38525697.000), (3301534.000, 38525697.000), (3301534.000, 38526097.000), (3301522.000, 38526097.000)]


def lines(rows: list[list[str]], sep: str = ",") -> str:
    return "\r\n".join(sep.join(r) for r in rows) + "\r\n"


def closed(ring):
    return [*ring, ring[0]]


def pack_dms(v: float) -> str:
    """Packed `ddd.mmss` with seconds to five decimals (0.00001″ ≈ 0.3 mm)."""
    tenths = round(v * 3600 * 100_000)
    d, rest = divmod(tenths, 3600 * 100_000)
    m, s = divmod(rest, 60 * 100_000)
    return f"{d}.{m:02d}{s:07d}"


def symbols_dms(v: float) -> str:
    tenths = round(v * 3600 * 100_000)
    d, rest = divmod(tenths, 3600 * 100_000)
    m, s = divmod(rest, 60 * 100_000)
    return f"{d}°{m:02d}′{s / 100_000:08.5f}″"


# 1. 点号,X,Y in UTF-8 with BOM, the ring closed, Y with the zone prefix
rows = [["点号", "X", "Y"]] + [[f"J{k % 4 + 1}", f"{x:.3f}", f"{y:.3f}"] for k, (x, y) in enumerate(closed(HOUSE))]
(OUT / "xy_prefixed_bom.csv").write_bytes(b"\xef\xbb\xbf" + lines(rows).encode("utf-8"))

# 2. GBK, Y without the zone prefix (6 digits), units in the header, the ring not closed
rows = [["界址点号", "X坐标(m)", "Y坐标(m)"]] + [[f"J{k}", f"{x:.3f}", f"{y - 38_000_000:.3f}"] for k, (x, y) in enumerate(PLOT, 1)]
(OUT / "xy_noprefix_gbk.csv").write_bytes(lines(rows).encode("gbk"))

# 3. the same labels with the values swapped: the 8-digit easting under X
rows = [["编号", "X", "Y"]] + [[str(k), f"{y:.3f}", f"{x:.3f}"] for k, (x, y) in enumerate(HOUSE, 1)]
(OUT / "xy_swapped.csv").write_text(lines(rows), encoding="utf-8")

# 4. full-width commas and points, GBK, a 序号 column before 点号
rows = [["序号", "点号", "X", "Y"]] + [[str(k), f"J{k}", f"{x:.3f}", f"{y:.3f}"] for k, (x, y) in enumerate(PLOT, 1)]
text = lines(rows).replace(",", "，").replace(".", "．")
(OUT / "fullwidth_gbk.csv").write_bytes(text.encode("gbk"))

# 5. decimal degrees (经度 before 纬度), to nine decimals (≈ 0.1 mm)
ll = [TO_LONLAT.transform(y, x) for x, y in HOUSE]
rows = [["点号", "经度", "纬度"]] + [[f"J{k}", f"{lon:.9f}", f"{lat:.9f}"] for k, (lon, lat) in enumerate(ll, 1)]
(OUT / "lonlat_decimal.csv").write_text(lines(rows), encoding="utf-8")

# 6. packed degrees-minutes-seconds, and the columns in the other order (纬度 first)
rows = [["点号", "纬度(度分秒)", "经度(度分秒)"]] + [[f"J{k}", pack_dms(lat), pack_dms(lon)] for k, (lon, lat) in enumerate(ll, 1)]
(OUT / "lonlat_packed_dms.csv").write_text(lines(rows), encoding="utf-8")

# 7. degrees with ° ′ ″, tab-separated
rows = [["点号", "经度", "纬度"]] + [[f"J{k}", symbols_dms(lon), symbols_dms(lat)] for k, (lon, lat) in enumerate(ll, 1)]
(OUT / "lonlat_symbols.txt").write_text(lines(rows, "\t"), encoding="utf-8")

# 8. several parcels and rings: 地块号,圈号,点号,X,Y; rings not closed; a hole and a second part by geometry
rows = [["地块号", "圈号", "点号", "X", "Y"]]
n = 0
for parcel, rings in (("XA-1", [FIELD, POND, ANNEX]), ("XA-2", [ROAD])):
    for ring_no, ring in enumerate(rings, 1):
        for x, y in ring:
            n += 1
            rows.append([parcel, str(ring_no), f"J{n}", f"{x:.3f}", f"{y:.3f}"])
(OUT / "parcels_rings.csv").write_text(lines(rows), encoding="utf-8")

# 9. the headerless 农转用 table 序号,地块号,圈号,点号,X,Y, rings closed, GBK
rows = []
n = 0
for parcel, rings in (("1", [FIELD, POND]), ("2", [ROAD])):
    for ring_no, ring in enumerate(rings, 1):
        for k, (x, y) in enumerate(closed(ring)):
            n += 1
            rows.append([str(n), parcel, str(ring_no), f"J{k % len(ring) + 1}", f"{x:.3f}", f"{y:.3f}"])
(OUT / "nongzhuanyong_headerless.csv").write_bytes(lines(rows).encode("gbk"))

# 10. an XLSX as a survey office sends it: a cover sheet first, then 界址点坐标 with a title row, the 宗地号 in
#     merged cells (only the first row holds it), numbers stored as numbers
book = openpyxl.Workbook()
cover = book.active
cover.title = "说明"
cover["A1"] = "咸安区横沟桥镇 2026 年第 3 批次农用地转用 界址点坐标"
sheet = book.create_sheet("界址点坐标")
sheet["A1"] = "界址点坐标表（2000国家大地坐标系，3度带第38带）"
sheet.append([])
sheet.append(["宗地号", "圈号", "界址点号", "X坐标", "Y坐标", "备注"])
row = 4
for parcel, rings in (("HG-031", [FIELD, POND, ANNEX]), ("HG-032", [ROAD])):
    top = row
    for ring_no, ring in enumerate(rings, 1):
        for k, (x, y) in enumerate(ring, 1):
            sheet.cell(row, 1, parcel if row == top else None)
            sheet.cell(row, 2, ring_no)
            sheet.cell(row, 3, f"J{k}")
            sheet.cell(row, 4, x)
            sheet.cell(row, 5, y)
            row += 1
    sheet.merge_cells(start_row=top, start_column=1, end_row=row - 1, end_column=1)
sheet.cell(row + 1, 1, "制表：咸宁市勘测院")
book.save(OUT / "parcels.xlsx")

# 11. mistakes a person makes: a letter O for a zero (row 4, Y), an empty X (row 6)
rows = [["点号", "X", "Y"], ["J1", "3306153.250", "38523680.500"], ["J2", "3306165.750", "38523680.500"],
        ["J3", "3306165.750", "38523692.5OO"], ["J4", "3306153.250", "38523692.500"], ["J5", "", "38523680.500"]]
(OUT / "bad_cells.csv").write_text(lines(rows), encoding="utf-8")
book = openpyxl.Workbook()
sheet = book.active
sheet.title = "坐标"
sheet.append(["点号", "X", "Y"])
for k, (x, y) in enumerate(HOUSE, 1):
    sheet.append([f"J{k}", x, y if k != 3 else "三八五二三六九二"])
book.save(OUT / "bad_cells.xlsx")
