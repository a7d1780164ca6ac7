"""The one-map check."""

from gis.check.engine import (
    CheckInputError,
    CheckRequest,
    HomesteadCaps,
    PendingApplication,
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
    "PendingApplication",
    "RuleError",
    "RuleResult",
    "RuleSet",
    "boundary_geometry",
    "ruleset",
    "run_check",
    "run_check_async",
]
