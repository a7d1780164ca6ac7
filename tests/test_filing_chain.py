"""County → city → province → ministry: four instances, four databases, four Ed25519 keys in one registry. Each level
passes the package on wrapped with its own opinion and signature; the ministry's receipt comes back down to every
sender. At each hop every byte flipped is refused, a package signed by a key nobody registered is refused, a level
that forges a lower layer is caught, and a refusal writes nothing."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy.orm import Session

from service.access.auth import operator
from service.core.db import make_engine
from service.core.errors import Conflict, InvalidInput
from service.filing.chain import Instance, decide, export_case, import_receipt, receive_package, rules
from service.filing.package import build_package, build_receipt, open_layers
from tests.support.filing import instance
from tests.support.onemap import b, load_one_map
from tests.test_filing import (  # noqa: F401 (the county fixture)
    CHAIN,
    OUTSIDER_M,
    case_no,
    clone,
    counts,
    county,
    flip,
    loader,
    resign,
)

LEVELS = rules().levels
INST = {m.level: instance(m, CHAIN) for m in CHAIN}
ADMIN = operator()  # every decision, including passing on, is open to the administrator (filing.toml)


@pytest.fixture
def levels(county, pg_cluster) -> Iterator[dict[str, str]]:  # noqa: F811 (the fixture imported above)
    """The four instances' databases: the same map, except the city's basic farmland reaches 30 m further east."""
    with ExitStack() as stack:
        urls = {"county": county}
        for level in ("city", "province", "ministry"):
            url = stack.enter_context(contextmanager(clone)(pg_cluster, level))
            with psycopg.connect(url) as c:
                load = loader(c)
                load_one_map(load)
                if level == "city":
                    load("basic_farmland", [{"patch_no": "BF1"}], [b(0, 0, 130, 100)])
                c.commit()
            urls[level] = url
        yield urls


def run(url: str, step: Callable[[Session], Any]) -> Any:
    """Run one step on an instance's database in its own transaction, committed when it succeeds."""
    engine = make_engine(url, pool_size=1)
    try:
        with Session(engine, expire_on_commit=False) as s:
            result = step(s)
            s.commit()
            return result
    finally:
        engine.dispose()


def archive(url: str, package_id: str) -> bytes:
    with psycopg.connect(url) as c:
        return bytes(
            c.execute(
                "SELECT archive FROM filing_packages WHERE direction = 'sent' AND package_id = %s", (package_id,)
            ).fetchone()[0]
        )


def rewrap(outer: bytes, inner: bytes, signer: Instance) -> bytes:
    """The outer layer with another inner package, signed correctly by `signer` (a dishonest forwarding level)."""
    with zipfile.ZipFile(io.BytesIO(outer)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        files = [(f["name"], inner if f["name"] == "inner.zip" else zf.read(f["name"])) for f in manifest["files"]]
    kept = {k: v for k, v in manifest.items() if k not in ("files", "format", "format_version")}
    return build_package(kept, files, signer)


def replace_member(data: bytes, name: str, content: bytes) -> bytes:
    """The package with one file's bytes changed and nothing else (its manifest still lists the old checksum)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        manifest_bytes, signature = zf.read("manifest.json"), zf.read("signature.json")
        manifest = json.loads(manifest_bytes)
        files = [(f["name"], content if f["name"] == name else zf.read(f["name"])) for f in manifest["files"]]
    from service.filing.package import _zip

    return _zip([("manifest.json", manifest_bytes), ("signature.json", signature), *files])


def refused_on_receipt(url: str, data: bytes, receiver: Instance) -> InvalidInput:
    before = counts(url)
    with pytest.raises(InvalidInput) as exc:
        run(url, lambda s: receive_package(s, ADMIN, receiver, data))
    assert counts(url) == before
    return exc.value


def hop(url: str, data: bytes, receiver: Instance, sender_level: str) -> None:
    """Every way of spoiling a package on its way to `receiver` is refused, and nothing is written."""
    before = counts(url)
    started = time.monotonic()
    for i in range(len(data)):  # every byte, by the same verification the receiving code runs first
        with pytest.raises(InvalidInput):
            open_layers(flip(data, i), receiver.registry, LEVELS)
    assert time.monotonic() - started < 120, "verifying a package should stay cheap"
    for i in range(0, len(data), max(1, len(data) // 40)):  # and through the receiving code and the database
        with pytest.raises(InvalidInput):
            run(url, lambda s, i=i: receive_package(s, ADMIN, receiver, flip(data, i)))
    for n in (0, 1, len(data) // 3, len(data) - 22, len(data) - 1):
        with pytest.raises(InvalidInput):
            run(url, lambda s, n=n: receive_package(s, ADMIN, receiver, data[:n]))
    sender = INST[sender_level]
    outsider = Instance(sender.name, sender.level, OUTSIDER_M.key, sender.registry)
    e = refused_on_receipt(url, resign(data, outsider), receiver)
    assert e.details["failed"] == "unknown_key" and outsider.key_id in e.message
    assert counts(url) == before


def forward(url: str, level: str, package_id: str, opinion: str) -> tuple[list[dict[str, Any]], bytes]:
    """Pre-sign, then pass the package on with this level's opinion; return both receipts and the new package."""
    me = INST[level]
    presigned = run(url, lambda s: decide(s, ADMIN, me, package_id, "presign")[1])
    receipt = run(url, lambda s: decide(s, ADMIN, me, package_id, "forward", opinion)[1])
    onward = receipt["payload"]["forwarded"]
    assert onward["to_level"] == LEVELS[LEVELS.index(level) + 1]
    return [presigned, receipt], archive(url, onward["package_id"])


def test_county_city_province_ministry_and_the_receipts_back_down(levels):
    county_url, city_url, province_url, ministry_url = (levels[lvl] for lvl in LEVELS)
    no = case_no(county_url)

    # county → city
    county_pkg, data0 = run(county_url, lambda s: export_case(s, ADMIN, INST["county"], no))
    county_pkg_id = county_pkg.package_id
    hop(city_url, data0, INST["city"], "county")
    at_city = run(city_url, lambda s: receive_package(s, ADMIN, INST["city"], data0).package_id)
    assert at_city == county_pkg_id
    # the city's map has 3000 m² of basic farmland under the boundary that the county's has not
    city_receipts, data1 = forward(
        city_url, "city", at_city, "市级意见：本级一张图显示占用永久基本农田，建议报国务院审批"
    )
    assert [(r["payload"]["status"], r["payload"]["sequence"]) for r in city_receipts] == [
        ("presigned", 1),
        ("forwarded", 2),
    ]

    # city → province: besides every spoilt byte, a city that forges the county's layer is caught
    hop(province_url, data1, INST["province"], "city")
    inner = open_layers(data1, INST["city"].registry, LEVELS)[1]
    case_json = json.loads(inner.files["case.json"])
    forged_case = json.dumps({**case_json, "area_m2": 1.0}).encode()
    # the county's files changed under the county's signature: the inner checksum fails, in the inner layer
    e = refused_on_receipt(
        province_url, rewrap(data1, replace_member(data0, "case.json", forged_case), INST["city"]), INST["province"]
    )
    assert (e.details["failed"], e.details["file"], e.details["layer"]) == ("checksum", "inner.zip/case.json", 1)
    # the county's layer re-signed by the city in the county's name: the signer is not the county
    forged = build_package(
        {k: v for k, v in inner.manifest.items() if k not in ("files", "format", "format_version")},
        [(n, forged_case if n == "case.json" else c) for n, c in inner.files.items()],
        INST["city"],
    )
    e = refused_on_receipt(province_url, rewrap(data1, forged, INST["city"]), INST["province"])
    assert (e.details["failed"], e.details["layer"]) == ("signer", 1) and "inner.zip" in e.message
    # a package addressed to the ministry but sent by the city: the wrong level
    e = refused_on_receipt(province_url, resign(data1, INST["city"], receiver={"level": "ministry"}), INST["province"])
    assert e.details["failed"] in ("level", "layers")
    at_province = run(province_url, lambda s: receive_package(s, ADMIN, INST["province"], data1))
    assert (at_province.sender_name, at_province.case_no, at_province.agrees) == (INST["city"].name, no, True)
    _, data2 = forward(province_url, "province", at_province.package_id, "省级意见：同意报部审查")

    # province → ministry
    hop(ministry_url, data2, INST["ministry"], "province")
    e = refused_on_receipt(
        ministry_url, resign(data2, INST["city"]), INST["ministry"]
    )  # the city's key as the province
    assert e.details["failed"] == "signer"
    at_ministry = run(ministry_url, lambda s: receive_package(s, ADMIN, INST["ministry"], data2))
    # the package proves which instance wrote each layer, and carries each passing level's opinion
    signers = [(layer["signer"]["level"], layer["signer"]["key_id"]) for layer in at_ministry.layers]
    assert signers == [(lvl, INST[lvl].key_id) for lvl in ("province", "city", "county")]
    opinions = [(layer.get("opinion") or {}).get("opinion") for layer in at_ministry.layers]
    assert opinions == ["省级意见：同意报部审查", "市级意见：本级一张图显示占用永久基本农田，建议报国务院审批", None]
    city_check = at_ministry.layers[1]["opinion"]["check"]
    assert city_check["approval_level"] == "state_council" and not city_check["agrees"]
    assert "rule:RQ-BF" in {d["item"] for d in city_check["disagreements"]}
    assert at_ministry.agrees is True  # the ministry's map is the county's
    # the top of the chain cannot pass it on
    run(ministry_url, lambda s: decide(s, ADMIN, INST["ministry"], at_ministry.package_id, "presign"))
    with pytest.raises(Conflict, match="no level above"):
        run(ministry_url, lambda s: decide(s, ADMIN, INST["ministry"], at_ministry.package_id, "forward", "再报"))
    ministry_receipt = run(
        ministry_url, lambda s: decide(s, ADMIN, INST["ministry"], at_ministry.package_id, "receive")[1]
    )

    # back down: the province imports the ministry's receipt and gives the city one carrying it
    run(province_url, lambda s: import_receipt(s, ADMIN, INST["province"], ministry_receipt))
    to_city = _receipt(province_url, at_province.package_id)
    assert to_city["payload"]["decided_by"] == {"name": INST["ministry"].name, "level": "ministry"}
    assert to_city["payload"]["upstream"] == [ministry_receipt] and to_city["payload"]["status"] == "received"
    # a province that tells the city another decision than the ministry's is caught by the ministry's own receipt
    lie = build_receipt({**to_city["payload"], "status": "returned", "reason": "退回"}, INST["province"])
    before = counts(city_url)
    with pytest.raises(InvalidInput) as exc:
        run(city_url, lambda s: import_receipt(s, ADMIN, INST["city"], lie))
    assert exc.value.details["failed"] == "upstream"
    changed = json.loads(json.dumps(to_city))
    changed["payload"]["upstream"][0]["payload"]["reason"] = "改动"
    with pytest.raises(InvalidInput) as exc:
        run(city_url, lambda s: import_receipt(s, ADMIN, INST["city"], changed))
    assert exc.value.details["failed"] == "signature"
    outsider = Instance(INST["province"].name, "province", OUTSIDER_M.key, INST["province"].registry)
    with pytest.raises(InvalidInput) as exc:
        run(city_url, lambda s: import_receipt(s, ADMIN, INST["city"], build_receipt(to_city["payload"], outsider)))
    assert exc.value.details["failed"] == "unknown_key"
    assert counts(city_url) == before

    run(city_url, lambda s: import_receipt(s, ADMIN, INST["city"], to_city))
    to_county = _receipt(city_url, at_city)
    assert to_county["payload"]["sequence"] == 3 and to_county["payload"]["upstream"] == [to_city]

    # the county learns each step: pre-signed by the city, passed on, received by the ministry
    for receipt in (*city_receipts, to_county):
        run(county_url, lambda s, r=receipt: import_receipt(s, ADMIN, INST["county"], r))
    with psycopg.connect(county_url) as c:
        status, receiver, seq, receipt = c.execute(
            "SELECT status, receiver_name, receipt_seq, receipt FROM filing_packages WHERE package_id = %s",
            (county_pkg_id,),
        ).fetchone()
        trail = [a for (a,) in c.execute("SELECT action FROM audit_log WHERE action LIKE 'filing.%' ORDER BY id")]
    assert (status, receiver, seq) == ("received", INST["city"].name, 3)
    assert receipt["payload"]["decided_by"]["level"] == "ministry"
    nested = receipt["payload"]["upstream"][0]["payload"]["upstream"][0]["payload"]
    assert (nested["receiver_level"], nested["decision"]) == ("ministry", "receive")
    assert trail == ["filing.export", "filing.receipt", "filing.receipt", "filing.receipt"]
    with psycopg.connect(city_url) as c:
        trail = [a for (a,) in c.execute("SELECT action FROM audit_log WHERE action LIKE 'filing.%' ORDER BY id")]
    assert trail == [
        "filing.receive",
        "filing.presign",
        "filing.forward",
        "filing.receipt",
        "filing.pass_down",
    ]


def _receipt(url: str, package_id: str) -> dict[str, Any]:
    with psycopg.connect(url) as c:
        return c.execute(
            "SELECT receipt FROM filing_packages WHERE direction = 'received' AND package_id = %s", (package_id,)
        ).fetchone()[0]
