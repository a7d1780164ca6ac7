"""The one-map check."""

from gis.check.engine import (
    CheckInputError,
    CheckRequest,
    HomesteadCaps,
    boundary_geometry,
    run_check,
    run_check_async,
)
from gis.check.report import CheckReport, RuleResult
from gis.check.rules import RuleError, RuleSet, ruleset

__all__ = [
    "CheckInputError",
    "CheckReport",
    "CheckRequest",
    "HomesteadCaps",
    "RuleError",
    "RuleResult",
    "RuleSet",
    "boundary_geometry",
    "ruleset",
    "run_check",
    "run_check_async",
]
