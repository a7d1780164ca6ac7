"""The `boundary` command function, registered in a small typer app as the lead registers it in `landwindow`."""

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from gis.boundary import read_mining, read_txt
from service.cli.boundary import boundary

DATA = Path(__file__).resolve().parent / "data"
GOOD = DATA / "boundaries"
BAD = DATA / "bad_boundaries"

app = typer.Typer()
app.command("boundary")(boundary)


@app.command("noop")
def noop() -> None:
    """Keep the app multi-command, as the real one is."""


runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, ["boundary", *args])


def test_prints_geojson_by_default():
    r = run(str(GOOD / "homestead_bom_utf8.txt"))
    assert r.exit_code == 0, r.output
    fc = json.loads(r.stdout)
    props = fc["features"][0]["properties"]
    assert props["parcel_no"] == "ZJ-2026-031" and props["area_m2"] == 150.0 and props["zone"] == 38
    assert props["area_mu"] == pytest.approx(0.225, abs=1e-4) and props["source_crs"] == "EPSG:4526"
    assert r.stderr == ""


def test_converts_to_txt_bytes_in_gbk():
    r = run(str(GOOD / "requisition.geojson"), "--to", "txt")
    assert r.exit_code == 0, r.stderr
    b = read_txt(r.stdout_bytes)
    assert b.header["_encoding"] == "gb18030" and [p.parcel_no for p in b.parcels] == ["GJ-001", "GJ-002"]


@pytest.mark.parametrize("to,tolerance_m2", [("mining", 0.01), ("mining-dms", 0.5)])  # DMS: 0.00001″ ≈ 0.3 mm
def test_converts_to_a_corner_string(to, tolerance_m2):
    r = run(str(GOOD / "mining_projected_gbk.txt"), "--to", to)
    assert r.exit_code == 0, r.stderr
    p = read_mining(r.stdout.strip().encode()).parcels[0]
    assert p.area_m2 == pytest.approx(190000.0, abs=tolerance_m2) and (p.depth_top, p.depth_bottom) == (320.0, 80.0)


def test_zone_option_for_unprefixed_files(tmp_path):
    text = (GOOD / "homestead_noprefix_gbk.txt").read_bytes().decode("gbk").replace("带号=38\r\n", "")
    (tmp_path / "np.txt").write_bytes(text.encode("gbk"))
    assert run(str(tmp_path / "np.txt")).exit_code == 2
    r = run(str(tmp_path / "np.txt"), "--zone", "38")
    assert r.exit_code == 0 and json.loads(r.stdout)["features"][0]["properties"]["area_m2"] == 156.0


def test_warnings_go_to_stderr_and_still_exit_0(tmp_path):
    text = "[属性描述]\n带号=38\n[地块坐标]\n9,0.0150,P,x,面,,,,@\n" + "\n".join(
        [
            "J1,1,3306153.250,38523680.500",
            "J2,1,3306165.750,38523680.500",
            "J3,1,3306165.750,38523692.500",
            "J4,1,3306153.250,38523692.500",
            "J1,1,3306153.250,38523680.500",
        ]
    )
    (tmp_path / "w.txt").write_text(text, encoding="utf-8")
    r = run(str(tmp_path / "w.txt"))
    assert r.exit_code == 0
    assert "warning: line 4, field 界址点数, parcel P:" in r.stderr and "point count" in r.stderr
    assert json.loads(r.stdout)["features"][0]["properties"]["warnings"]


def test_errors_exit_2_with_the_list_on_stderr():
    r = run(str(BAD / "08_not_closed.txt"))
    assert r.exit_code == 2 and r.stdout == ""
    assert "line 11, parcel ZJ-001: 第1圈未闭合" in r.stderr and "not closed" in r.stderr


def test_missing_file_and_unknown_format_exit_2():
    assert run(str(GOOD / "nope.txt")).exit_code == 2
    r = run(str(GOOD / "homestead_bom_utf8.txt"), "--to", "dxf")
    assert r.exit_code == 2 and "dxf" in r.stderr


def test_help_is_bilingual():
    r = runner.invoke(app, ["boundary", "--help"])
    assert r.exit_code == 0 and "用地范围文件" in r.stdout and "boundary file" in r.stdout and "--zone" in r.stdout
