"""Run configuration: one validated object, read from YAML, with every default in this package.

:mod:`geo.config.models` holds the models and defaults, :mod:`geo.config.ahp` the
weights from a pairwise comparison matrix and :mod:`geo.config.loading` how a
configuration is read from presets and files.
"""

from geo.config.ahp import AHP, MAX_CONSISTENCY_RATIO, ahp_weights
from geo.config.loading import PRESETS, config_yaml, load_config
from geo.config.models import (
    MAX_RESOLUTION_M,
    MIN_RESOLUTION_M,
    NEVER_ELIGIBLE_AGENCIES,
    OPTIONAL_AGENCIES,
    Aggregation,
    Config,
    Criterion,
    Exclusion,
    LandRules,
    Measure,
    SiteRules,
)

__all__ = [
    "AHP", "MAX_CONSISTENCY_RATIO", "MAX_RESOLUTION_M", "MIN_RESOLUTION_M", "NEVER_ELIGIBLE_AGENCIES",
    "OPTIONAL_AGENCIES", "PRESETS", "Aggregation", "Config", "Criterion", "Exclusion", "LandRules", "Measure",
    "SiteRules", "ahp_weights", "config_yaml", "load_config",
]
