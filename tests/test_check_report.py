import json
from dataclasses import asdict

from gis.check.report import CheckReport, CompensationZone, FeatureHit, LandUseArea, OwnerArea, RuleResult


def test_fast_to_dict_equals_asdict():
    r = CheckReport(
        kind="requisition",
        verdict="warn",
        area_m2=1.0,
        area_mu=0.1,
        area_ha=0.1,
        zone=38,
        rules=[
            RuleResult(
                "R", "t", "l", 1, "warn", 1.0, 0.1, "m", "e", "b", [FeatureHit(1, 1.0, {"a": 1})], {"type": "Point"}
            )
        ],
        landuse=[LandUseArea("0101", "水田", "农用地", True, 1.0, 0.1)],
        categories={"耕地": 1.0},
        layer_versions={"l": 1},
        approval_level={"level": "province"},
        owners=[OwnerArea("o", "collective", 1.0, 0.1, [{"id": 1}])],
        compensation={
            "zones": [CompensationZone("Ⅰ", 1.0, 1.0, 0.1, 0.1, 0.04, 0.06)],
            "total": 0.1,
            "currency": "CNY",
        },
        homestead={"cap_m2": 200.0},
    )
    assert json.dumps(r.to_dict(), sort_keys=True) == json.dumps(asdict(r), sort_keys=True)
    empty = CheckReport("homestead", "pass", 1.0, 0.1, 0.1, 38, [], [], {}, {})
    assert json.dumps(empty.to_dict(), sort_keys=True) == json.dumps(asdict(empty), sort_keys=True)
