"""Upward filing between Land Window instances, each with its own migrated PostGIS database, its own map and its own
Ed25519 key listed in the chain's key registry: county → city → province → ministry and the receipts back down."""

from __future__ import annotations

import io
import json
import re
import uuid
import zipfile
from collections.abc import Iterator

import psycopg
import pytest
from pytest_postgresql.janitor import DatabaseJanitor
from shapely.geometry import mapping
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from service.access.auth import Principal, operator
from service.cases.boundaries import boundary_from_geojson
from service.cases.intake import Intake, create_case
from service.cli.app import app as cli
from service.core.cluster import SUPERUSER
from service.core.db import make_engine
from service.core.errors import InvalidInput
from service.core.models import User
from service.core.profile import load_profile
from service.core.settings import get_settings
from service.filing.chain import Instance, export_case, receive_package
from service.filing.package import receipt_bytes
from tests.support.filing import XIANAN, Member, instance, members, write_chain
from tests.support.onemap import b, load_one_map, lonlat

CHAIN = members(
    (XIANAN, "county"), ("咸宁市自然资源和规划局", "city"), ("湖北省自然资源厅", "province"), ("自然资源部", "ministry")
)
COUNTY_M, CITY_M, PROVINCE_M, MINISTRY_M = CHAIN
OUTSIDER_M = members(("冒充的县级单位", "county"))[0]  # a key nobody registered
COUNTY = instance(COUNTY_M, CHAIN)
CITY = instance(CITY_M, CHAIN)
REQUISITION_MATERIALS = [
    "project_approval",
    "planning_permit",
    "survey_report",
    "boundary_txt",
    "compensation_plan",
    "risk_assessment",
]
runner = CliRunner()


def clone(pg_cluster, prefix: str) -> Iterator[str]:
    """A separately migrated database: another instance (cloned from the migrated template like db_url)."""
    name = f"lw_{prefix}_{uuid.uuid4().hex[:10]}"
    with DatabaseJanitor(
        user=SUPERUSER,
        host="127.0.0.1",
        port=pg_cluster.port,
        dbname=name,
        template_dbname="lw_template",
        password=pg_cluster.password(),
    ):
        yield pg_cluster.url(name)


@pytest.fixture
def city_db_url(pg_cluster) -> Iterator[str]:
    """The city's database."""
    yield from clone(pg_cluster, "city")


def loader(conn: psycopg.Connection):
    import geopandas as gpd

    from gis.catalog import layer
    from gis.importer import load, prepare

    def _load(name, rows, geoms, crs=4526, replace=True):
        gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs=crs)
        gdf.index = [str(i + 1) for i in range(len(gdf))]
        return load(conn, prepare(gdf, layer(name), source=f"test:{name}"), replace=replace)

    return _load


@pytest.fixture
def county(db_url, conn, staff, load_layer) -> str:
    """The county's database: the hand-made one map, the demo staff and a requisition submitted upward."""
    load_one_map(load_layer)
    engine = make_engine(db_url, pool_size=1)
    with Session(engine) as s:
        u = s.scalar(select(User).where(User.username == "clerk"))
        assert u is not None
        clerk = Principal(u.id, u.username, u.role, u.department)
        intake = Intake(
            kind="requisition",
            applicant_name="咸安区人民政府",
            applicant_type="unit",
            phone="13800138000",
            project_name="咸安经济开发区标准厂房",
            industry="制造业",
            materials_received=REQUISITION_MATERIALS,
        )
        drawn = {"type": "Feature", "properties": {}, "geometry": mapping(lonlat(b(100, 0, 150, 100)))}
        case = create_case(s, clerk, intake, boundary_from_geojson(drawn, load_profile().extent.box)).case
        # the lifecycle up to the leader's submission upward is test_cases_api's; here the case starts there
        case.status = "submitted_higher"
        s.commit()
    engine.dispose()
    return db_url


@pytest.fixture
def city(city_db_url) -> Iterator[str]:
    """The city's database: the same map, except that its basic farmland reaches 30 m further east."""
    with psycopg.connect(city_db_url) as c:
        load = loader(c)
        load_one_map(load)
        load("basic_farmland", [{"patch_no": "BF1"}], [b(0, 0, 130, 100)])
        c.commit()
    yield city_db_url


def counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as c:
        tables = [
            r[0]
            for r in c.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
        ]
        return {t: c.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def as_instance(monkeypatch, tmp_path, url: str, member: Member) -> None:
    registry_file, keys = write_chain(tmp_path / "chain", CHAIN)
    monkeypatch.setenv("LANDWINDOW_DATABASE_URL", url)
    monkeypatch.setenv("LANDWINDOW_FILING_KEY_FILE", str(keys[member.name]))
    monkeypatch.setenv("LANDWINDOW_FILING_REGISTRY", str(registry_file))
    monkeypatch.setenv("LANDWINDOW_INSTANCE_LEVEL", member.level)
    monkeypatch.setenv("LANDWINDOW_INSTANCE_NAME", member.name)
    get_settings.cache_clear()


def case_no(url: str) -> str:
    with psycopg.connect(url) as c:
        return c.execute("SELECT case_no FROM cases").fetchone()[0]


def export(url: str, inst: Instance = COUNTY, to_level: str | None = None) -> bytes:
    engine = make_engine(url, pool_size=1)
    with Session(engine) as s:
        _, data = export_case(s, operator(), inst, case_no(url), to_level)
        s.rollback()  # the bytes are all these tests need; the sender may export again
    engine.dispose()
    return data


def receive(url: str, data: bytes, inst: Instance = CITY):
    engine = make_engine(url, pool_size=1)
    try:
        with Session(engine) as s:
            pkg = receive_package(s, operator(), inst, data)
            s.commit()
            return pkg.package_id
    finally:
        engine.dispose()


def test_package_round_trip_between_two_databases(county, city, monkeypatch, tmp_path):
    no = case_no(county)
    as_instance(monkeypatch, tmp_path, county, COUNTY_M)
    pkg_path = tmp_path / "package.zip"
    r = runner.invoke(cli, ["filing", "export", no, "--out", str(pkg_path)])
    assert r.exit_code == 0, r.output
    with zipfile.ZipFile(pkg_path) as zf:
        assert zf.namelist() == [
            "manifest.json",
            "signature.json",
            "boundary.txt",
            "check_report.json",
            "materials.json",
            "case.json",
        ]
        manifest = json.loads(zf.read("manifest.json"))
        case = json.loads(zf.read("case.json"))
        txt = zf.read("boundary.txt").decode("gb18030")
    assert manifest["sender"] == {"name": COUNTY.name, "level": "county"} and manifest["receiver"] == {"level": "city"}
    assert manifest["case"]["case_no"] == no and manifest["case"]["approval_level"] == "province"
    assert {f["name"] for f in manifest["files"]} == {
        "boundary.txt",
        "check_report.json",
        "materials.json",
        "case.json",
    }
    assert all(len(f["sha256"]) == 64 for f in manifest["files"])
    assert case["phone"] == "138****8000" and "query_code_hash" not in case and "password_hash" not in json.dumps(case)
    assert "[地块坐标]" in txt and "带号=38" in txt
    # a second export while this one is open is refused
    r = runner.invoke(cli, ["filing", "export", no, "--out", str(tmp_path / "again.zip")])
    assert r.exit_code == 2 and "已上报" in r.output

    as_instance(monkeypatch, tmp_path, city, CITY_M)
    r = runner.invoke(cli, ["filing", "receive", str(pkg_path)])
    assert r.exit_code == 0, r.output
    package_id = manifest["package_id"]
    with psycopg.connect(city) as c:
        status, agrees, disagreements, run_id = c.execute(
            "SELECT status, agrees, disagreements, check_run_id FROM filing_packages WHERE package_id = %s",
            (package_id,),
        ).fetchone()
        trigger, verdict, report = c.execute(
            "SELECT trigger, verdict, report FROM check_runs WHERE id = %s", (run_id,)
        ).fetchone()
    assert status == "pending" and trigger == "filing"
    # the city's own map has basic farmland under 30 × 100 m of the boundary: its check says State Council
    assert report["approval_level"]["level"] == "state_council"
    bf = next(x for x in report["rules"] if x["rule"] == "RQ-BF")
    assert bf["overlap_m2"] == pytest.approx(3000.0, abs=0.5)
    assert agrees is False
    items = {d["item"]: d for d in disagreements}
    assert items["approval_level"]["sender"] == "province" and items["approval_level"]["receiver"] == "state_council"
    assert "rule:RQ-BF" in items
    # the same package twice is refused
    r = runner.invoke(cli, ["filing", "receive", str(pkg_path)])
    assert r.exit_code == 2 and "已接收" in r.output

    r1, r2 = tmp_path / "r1.json", tmp_path / "r2.json"
    r = runner.invoke(cli, ["filing", "decide", package_id, "presign", "--receipt", str(r1)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["filing", "decide", package_id, "return"])
    assert r.exit_code == 2 and "理由" in r.output
    r = runner.invoke(cli, ["filing", "decide", package_id, "presign"])
    assert r.exit_code == 2 and "预审签收" in r.output  # already pre-signed
    # the receipt is written only after the decision is saved: a receipt that cannot be written leaves the decision
    r = runner.invoke(
        cli, ["filing", "decide", package_id, "receive", "--receipt", str(tmp_path / "missing" / "r2.json")]
    )
    assert r.exit_code == 2 and "the decision is saved" in " ".join(r.output.split()), r.output
    with psycopg.connect(city) as c:
        status, saved = c.execute(
            "SELECT status, receipt FROM filing_packages WHERE package_id = %s", (package_id,)
        ).fetchone()
    assert status == "received"
    r2.write_bytes(receipt_bytes(saved))  # what GET /api/v1/filings/{id}/receipt serves
    r = runner.invoke(cli, ["filing", "list"])
    assert r.exit_code == 0 and package_id in r.stdout and "received" in r.stdout

    as_instance(monkeypatch, tmp_path, county, COUNTY_M)
    r = runner.invoke(cli, ["filing", "receipt", str(r1)])
    assert r.exit_code == 0, r.output
    with psycopg.connect(county) as c:
        assert (
            c.execute("SELECT status FROM filing_packages WHERE package_id = %s", (package_id,)).fetchone()[0]
            == "presigned"
        )
    r = runner.invoke(cli, ["filing", "receipt", str(r2)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["filing", "receipt", str(r1)])  # older than the one imported
    assert r.exit_code == 2 and "older" in r.output
    with psycopg.connect(county) as c:
        status, receiver, seq, receipt = c.execute(
            "SELECT status, receiver_name, receipt_seq, receipt FROM filing_packages WHERE package_id = %s",
            (package_id,),
        ).fetchone()
        trail = [a for (a,) in c.execute("SELECT action FROM audit_log WHERE action LIKE 'filing.%' ORDER BY id")]
    assert (status, receiver, seq) == ("received", CITY.name, 2)
    assert receipt["payload"]["receiver_check"]["approval_level"] == "state_council"
    assert trail == ["filing.export", "filing.receipt", "filing.receipt"]
    # a tampered receipt is refused and changes nothing
    doc = json.loads(r2.read_text())
    doc["payload"]["status"] = "returned"
    r2.write_text(json.dumps(doc))
    r = runner.invoke(cli, ["filing", "receipt", str(r2)])
    assert r.exit_code == 2 and "signature" in r.output

    # the city passes the received package on to the province with its opinion: a new package wrapping the county's
    from service.filing.chain import rules
    from service.filing.package import open_layers

    as_instance(monkeypatch, tmp_path, city, CITY_M)
    onward, r3 = tmp_path / "onward.zip", tmp_path / "r3.json"
    r = runner.invoke(cli, ["filing", "decide", package_id, "forward", "--package", str(onward), "--receipt", str(r3)])
    assert r.exit_code == 2 and "理由" in r.output
    r = runner.invoke(
        cli,
        [
            "filing",
            "decide",
            package_id,
            "forward",
            "--reason",
            "市级意见：同意上报",
            "--package",
            str(onward),
            "--receipt",
            str(r3),
        ],
    )
    assert r.exit_code == 0, r.output
    layers = open_layers(onward.read_bytes(), CITY.registry, rules().levels)
    assert [(x.signer.level, x.manifest["receiver"]["level"]) for x in layers] == [
        ("city", "province"),
        ("county", "city"),
    ]
    assert layers[0].json("opinion.json")["opinion"] == "市级意见：同意上报"
    assert json.loads(r3.read_text())["payload"]["status"] == "forwarded"


def resign(data: bytes, signer, **manifest) -> bytes:
    """The same package, its manifest (changed by `manifest`) signed again by `signer`, whoever that is."""
    from service.filing.package import build_package

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        original = json.loads(zf.read("manifest.json"))
        files = [(f["name"], zf.read(f["name"])) for f in original["files"]]
    kept = {k: v for k, v in original.items() if k not in ("files", "format", "format_version")}
    return build_package({**kept, **manifest}, files, signer)


def flip(data: bytes, i: int) -> bytes:
    return data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]


def member_span(data: bytes, name: str) -> tuple[int, int]:
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    start = info.header_offset + 30 + len(name.encode())
    return start, start + info.file_size


def test_tampered_truncated_wrongly_signed_or_wrong_level_packages_write_nothing(county, city):
    data = export(county)
    before = counts(city)

    def refused(bad: bytes) -> InvalidInput:
        with pytest.raises(InvalidInput) as exc:
            receive(city, bad)
        return exc.value

    start, end = member_span(data, "boundary.txt")
    e = refused(flip(data, (start + end) // 2))
    assert e.details == {"failed": "checksum", "file": "boundary.txt"} and "SHA-256" in e.message
    start, end = member_span(data, "case.json")
    assert refused(flip(data, end - 2)).details["file"] == "case.json"
    start, end = member_span(data, "manifest.json")
    e = refused(flip(data, start + 40))
    assert e.details["failed"] == "signature" and "manifest" in e.message
    start, end = member_span(data, "signature.json")
    value_at = data.index(b'"value": "', start) + 12
    e = refused(flip(data, value_at))
    assert e.details["failed"] == "signature"
    # every byte of the zip's own headers and directory, and every 13th byte elsewhere
    contents = [member_span(data, n) for n in zipfile.ZipFile(io.BytesIO(data)).namelist()]
    positions = [i for i in range(len(data)) if i % 13 == 0 or not any(s <= i < t for s, t in contents)]
    for i in positions:
        assert refused(flip(data, i)).details["failed"] in (
            "zip",
            "checksum",
            "signature",
            "missing_file",
            "unexpected_file",
            "manifest",
            "unknown_key",  # a flipped key id names a key nobody registered
            "signer",  # a flipped sender name or level is not the key's instance
        ), i
    for n in (0, 1, 100, len(data) // 2, len(data) - 22, len(data) - 1):
        e = refused(data[:n])
        assert e.details["failed"] == "zip", n
    assert "truncated" in refused(data[:-1]).message
    assert refused(data + b"\0").details["failed"] == "zip"
    # signed by a key nobody registered, in the county's own name: refused, naming the key
    outsider = Instance(COUNTY.name, "county", OUTSIDER_M.key, COUNTY.registry)
    e = refused(resign(data, outsider))
    assert e.details["failed"] == "unknown_key" and outsider.key_id in e.message
    # signed by the city's registered key while claiming to be the county: the signer is named
    e = refused(resign(data, CITY))
    assert e.details["failed"] == "signer" and CITY.name in e.message
    e = refused(export(county, to_level="province"))
    assert e.details["failed"] == "level" and "'province'" in e.message
    assert counts(city) == before
    # and the untouched package is accepted
    receive(city, data)
    after = counts(city)
    assert after["filing_packages"] == before["filing_packages"] + 1 and after["check_runs"] == before["check_runs"] + 1


@pytest.fixture
def apis(county, city, staff, staff_hashes, tmp_path):
    from fastapi.testclient import TestClient

    from service.access.auth import demo_users
    from service.core.settings import Settings
    from tests.support.api import Api
    from web.app import create_app

    with psycopg.connect(city) as c:
        for u in demo_users():
            c.execute(
                "INSERT INTO users (username, display_name, role, department, password_hash) VALUES (%s, %s, %s, %s, %s)",
                (u["username"], u.get("display_name", ""), u["role"], u.get("department"), staff_hashes[u["password"]]),
            )
    registry_file, keys = write_chain(tmp_path / "chain", CHAIN)
    common = {"_env_file": None, "secret_key": "f" * 32, "filing_registry": registry_file}
    county_settings = Settings(
        **common, database_url=county, data_dir=tmp_path / "county", filing_key_file=keys[XIANAN]
    )
    city_settings = Settings(
        **common,
        database_url=city,
        data_dir=tmp_path / "city",
        instance_level="city",
        instance_name=CITY.name,
        filing_key_file=keys[CITY.name],
    )
    with TestClient(create_app(county_settings)) as c1, TestClient(create_app(city_settings)) as c2:
        yield Api(c1, staff), Api(c2, staff)


def test_api_export_receive_return_and_receipt_on_the_case(apis, county, city):
    county_api, city_api = apis
    with psycopg.connect(county) as c:
        case_id = c.execute("SELECT id FROM cases").fetchone()[0]
    assert county_api.post(f"/api/v1/cases/{case_id}/filing", as_="planner").status_code == 403
    r = county_api.post(f"/api/v1/cases/{case_id}/filing", as_="leader")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    data, package_id = r.content, r.headers["x-filing-package-id"]
    sent = county_api.get(f"/api/v1/cases/{case_id}/filings").json()
    assert [(p["package_id"], p["status"], p["receiver_level"]) for p in sent] == [(package_id, "sent", "city")]

    start, end = member_span(data, "check_report.json")
    r = city_api.post("/api/v1/filings/received", files={"file": ("p.zip", flip(data, start + 10), "application/zip")})
    assert r.status_code == 422 and r.json()["failed"] == "checksum" and r.json()["file"] == "check_report.json"
    assert "check_report.json" in r.json()["detail"]
    assert city_api.get("/api/v1/filings").json() == []

    r = city_api.post("/api/v1/filings/received", files={"file": ("p.zip", data, "application/zip")})
    assert r.status_code == 201, r.text
    got = r.json()
    assert got["package_id"] == package_id and got["status"] == "pending" and got["sender_level"] == "county"
    assert got["check"]["approval_level"] == "state_council" and got["sender_approval_level"] == "province"
    assert got["check"]["report"]["kind"] == "requisition" and got["agrees"] is False
    assert [d["name"] for d in got["allowed_decisions"]] == ["presign", "receive", "return"]

    r = city_api.post(f"/api/v1/filings/{package_id}/decisions", as_="leader", json={"decision": "return"})
    assert r.status_code == 422 and "理由" in r.json()["detail"]
    reason = "本级一张图显示占用永久基本农田3000平方米，须报国务院审批 / takes basic farmland: State Council"
    r = city_api.post(
        f"/api/v1/filings/{package_id}/decisions", as_="leader", json={"decision": "return", "reason": reason}
    )
    assert r.status_code == 200, r.text
    assert r.json()["package"]["status"] == "returned" and r.json()["receipt"]["payload"]["status"] == "returned"
    assert (
        city_api.post(f"/api/v1/filings/{package_id}/decisions", as_="leader", json={"decision": "receive"}).status_code
        == 409
    )
    receipt = city_api.get(f"/api/v1/filings/{package_id}/receipt")
    assert receipt.status_code == 200

    r = county_api.post("/api/v1/filings/receipts", files={"file": ("r.json", receipt.content, "application/json")})
    assert r.status_code == 200, r.text
    shown = county_api.get(f"/api/v1/cases/{case_id}/filings").json()[0]
    assert (shown["status"], shown["status_title"], shown["reason"]) == ("returned", "已退回", reason)
    assert shown["receiver_name"] == CITY.name and shown["receiver_check"]["approval_level"] == "state_council"
    # a returned package can be sent again
    r = county_api.post(f"/api/v1/cases/{case_id}/filing", as_="leader")
    assert r.status_code == 200 and r.headers["x-filing-package-id"] != package_id


def test_missing_or_unregistered_keys_are_clear_refusals_and_equal_reports_agree(tmp_path):
    from service.core.errors import Conflict
    from service.core.settings import Settings
    from service.filing.chain import compare_reports
    from service.filing.keys import generate_key

    bare = Settings(_env_file=None, data_dir=tmp_path)
    with pytest.raises(Conflict, match="landwindow filing keygen"):
        Instance.from_settings(bare)
    generate_key(tmp_path / "filing" / "ed25519.pem")
    with pytest.raises(Conflict, match="LANDWINDOW_FILING_REGISTRY"):
        Instance.from_settings(bare)
    registry_file, keys = write_chain(tmp_path / "chain", CHAIN)
    with pytest.raises(Conflict, match="is not in the key registry"):
        Instance.from_settings(Settings(_env_file=None, data_dir=tmp_path, filing_registry=registry_file))
    # the county's key, but this instance says it is the city: the registry disagrees and says how
    wrong = Settings(_env_file=None, filing_key_file=keys[XIANAN], filing_registry=registry_file, instance_level="city")
    with pytest.raises(Conflict, match=r"registry lists this instance's key as .* \(county\)"):
        Instance.from_settings(wrong)
    ok = Instance.from_settings(Settings(_env_file=None, filing_key_file=keys[XIANAN], filing_registry=registry_file))
    assert (ok.name, ok.level, ok.key_id) == (XIANAN, "county", COUNTY.key_id)
    (tmp_path / "broken.toml").write_text('[[instances]]\nname = "x县"\nlevel = "town"\npublic_key = "abc"\n')
    with pytest.raises(Conflict, match=r"instances\.0\.level.*instances\.0\.public_key"):
        Instance.from_settings(
            Settings(_env_file=None, filing_key_file=keys[XIANAN], filing_registry=tmp_path / "broken.toml")
        )
    report = {
        "verdict": "warn",
        "area_m2": 5000.0,
        "approval_level": {"level": "province"},
        "rules": [{"rule": "RQ-BF", "status": "pass", "overlap_m2": 0.0}],
    }
    assert compare_reports(report, json.loads(json.dumps(report))) == []
    moved = {**report, "rules": [{"rule": "RQ-BF", "status": "pass", "overlap_m2": 0.4}]}
    assert compare_reports(report, moved) == []  # within the 1 m² tolerance (filing.toml)
    moved = {**report, "area_m2": 5100.0}
    assert [d["item"] for d in compare_reports(report, moved)] == ["area_m2"]


def test_every_single_byte_change_and_every_truncation_is_refused():
    from service.filing.package import build_package, build_receipt, open_package, open_receipt, receipt_bytes

    files = [
        ("boundary.txt", "[地块坐标]\r\nJ1,1,3303000.000,38530100.000\r\n".encode("gb18030") * 20),
        ("case.json", '{"applicant_name": "咸安区人民政府"}\n'.encode() * 30),
    ]
    manifest = {"package_id": "p-1", "sender": {"name": COUNTY.name, "level": "county"}, "receiver": {"level": "city"}}
    data = build_package(manifest, files, COUNTY)
    assert open_package(data, COUNTY.registry).files == dict(files)
    assert open_package(data, COUNTY.registry).signer.key_id == COUNTY.key_id
    for i in range(len(data)):
        for mask in (0x01, 0x80, 0xFF):
            with pytest.raises(InvalidInput):
                open_package(data[:i] + bytes([data[i] ^ mask]) + data[i + 1 :], COUNTY.registry)
    for n in range(len(data)):
        with pytest.raises(InvalidInput):
            open_package(data[:n], COUNTY.registry)
    payload = {
        "package_id": "p-1",
        "status": "returned",
        "sequence": 1,
        "reason": "退回",
        "receiver_name": CITY.name,
        "receiver_level": "city",
    }
    receipt = receipt_bytes(build_receipt(payload, CITY))
    assert open_receipt(receipt, CITY.registry)["status"] == "returned"
    for i in range(len(receipt)):
        with pytest.raises(InvalidInput):
            open_receipt(receipt[:i] + bytes([receipt[i] ^ 0x01]) + receipt[i + 1 :], CITY.registry)
    for n in range(len(receipt) - 1):  # cutting only the trailing newline leaves the same JSON
        with pytest.raises(InvalidInput):
            open_receipt(receipt[:n], CITY.registry)
    # a receipt in the city's name signed by the county's key, and one signed by a key nobody registered
    with pytest.raises(InvalidInput, match="registered to") as exc:
        open_receipt(receipt_bytes(build_receipt(payload, COUNTY)), CITY.registry)
    assert exc.value.details["failed"] == "signer"
    outsider = Instance(CITY.name, "city", OUTSIDER_M.key, CITY.registry)
    with pytest.raises(InvalidInput, match="not in the key registry") as exc:
        open_receipt(receipt_bytes(build_receipt(payload, outsider)), CITY.registry)
    assert exc.value.details["failed"] == "unknown_key"


def test_filing_pages_inbox_package_decide_and_receipts(apis, county, city):
    from tests.test_web_english import chinese_chrome
    from tests.test_web_review import csrf, login

    county_api, city_api = apis
    with psycopg.connect(county) as c:
        case_id = c.execute("SELECT id FROM cases").fetchone()[0]
    data = county_api.post(f"/api/v1/cases/{case_id}/filing", as_="leader").content
    web = city_api.client
    login(web, "leader", "leader-demo-2026")
    inbox = web.get("/filings")
    assert inbox.status_code == 200 and 'id="receive-form"' in inbox.text and CITY.name in inbox.text
    token = csrf(inbox.text)
    start, end = member_span(data, "case.json")
    r = web.post(
        "/filings/received",
        data={"csrf_token": token},
        files={"file": ("p.zip", flip(data, start + 5), "application/zip")},
        follow_redirects=False,
    )
    assert r.status_code == 422 and 'id="filing-error"' in r.text and "case.json" in r.text
    assert "data-package=" not in r.text  # nothing received
    r = web.post(
        "/filings/received",
        data={"csrf_token": token},
        files={"file": ("p.zip", data, "application/zip")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    package_id = url.rsplit("/", 1)[1]
    page = web.get(url).text
    assert COUNTY.key_id in page and XIANAN in page  # who signed the county's layer
    assert 'data-item="rule:RQ-BF"' in page and 'data-item="approval_level"' in page  # the re-run check differs
    assert 'id="decide-form"' in page and 'value="presign"' in page and "leaflet" in page.lower()
    assert 'value="forward"' not in page  # passed on only once pre-signed or received (filing.toml)
    status, english = web.get(url + "?lang=en").status_code, web.get(url + "?lang=en").text
    assert status == 200 and chinese_chrome(english) == []
    web.get(url + "?lang=zh")  # back to Chinese (the language is remembered in a cookie)
    r = web.post(url + "/decide", data={"csrf_token": token, "decision": "presign"}, follow_redirects=False)
    assert r.status_code == 303
    assert 'value="forward"' in web.get(url).text
    r = web.post(url + "/decide", data={"csrf_token": token, "decision": "forward"}, follow_redirects=False)
    assert r.status_code == 422 and "理由" in r.text and 'id="filing-error"' in r.text
    r = web.post(
        url + "/decide",
        data={"csrf_token": token, "decision": "forward", "reason": "市级意见：请省厅审查"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = web.get(url).text
    assert "已转报上级" in page and "已转报为" in page and 'id="receipt-download"' in page
    inbox = web.get("/filings").text
    sent = re.search(r'id="inbox-sent".*?</section>', inbox, re.S).group(0)
    assert "省级" in sent and "data-package=" in sent
    receipt = web.get(f"/api/v1/filings/{package_id}/receipt")
    assert receipt.status_code == 200 and json.loads(receipt.content)["payload"]["status"] == "forwarded"
    # the county imports it on its own page and sees the package passed on
    home = county_api.client
    login(home, "leader", "leader-demo-2026")
    token = csrf(home.get("/filings").text)
    r = home.post(
        "/filings/receipts",
        data={"csrf_token": token},
        files={"file": ("r.json", receipt.content, "application/json")},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == f"/filings/{package_id}"
    page = home.get(r.headers["location"]).text
    assert "已转报上级" in page and "市级意见：请省厅审查" in page  # the city says why it passed it on
    assert home.get("/filings?lang=en").status_code == 200 and chinese_chrome(home.get("/filings?lang=en").text) == []
