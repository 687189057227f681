"""Exclusions: the land that can never hold a site, and why, kept per cell as a bitmask."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np

from geo.config import Config, Exclusion
from geo.criteria import select_features
from geo.grid import Grid, rasterize_mask, slope_degrees

log = logging.getLogger(__name__)

#: Causes that every run checks, before the configured exclusions.
OUTSIDE_STUDY_AREA = "outside_study_area"
OWNERSHIP_UNKNOWN = "ownership_unknown"
NOT_FEDERAL = "not_federal"
BUILT_IN_CAUSES = (OUTSIDE_STUDY_AREA, OWNERSHIP_UNKNOWN, NOT_FEDERAL)

#: How exclusion descriptions name the features of each layer.
LAYER_NOUNS = {
    "protected": "a protected area (park, wilderness or other designation)",
    "urban": "an urban area",
    "places": "a town",
    "water_bodies": "a lake or reservoir",
    "roads": "a road",
    "rail": "a railroad",
    "transmission": "a transmission line",
    "substations": "a substation",
    "power_plants": "a power plant",
}

CAUSE_TEXT = {
    OUTSIDE_STUDY_AREA: "outside the states analysed",
    OWNERSHIP_UNKNOWN: "land ownership unknown: no ownership data covers this place",
    NOT_FEDERAL: "not federal land (or not managed by an allowed agency)",
}


@dataclass
class ExclusionMap:
    """Per cell, a bitmask of the causes that exclude it (0 = eligible), uint8 or uint16.

    Bit ``i`` stands for ``causes[i]``; a cell may carry several causes.
    """

    bits: np.ndarray
    causes: list[str]
    descriptions: dict[str, str]

    @property
    def eligible(self) -> np.ndarray:
        return self.bits == 0

    def causes_at(self, value: int) -> list[str]:
        """Names of the causes in one bitmask value."""
        return [cause for i, cause in enumerate(self.causes) if value & (1 << i)]

    def cell_counts(self) -> dict[str, int]:
        """How many cells each cause removes (cells with several causes count for each)."""
        return {cause: int(np.count_nonzero(self.bits & (1 << i))) for i, cause in enumerate(self.causes)}


def build_exclusions(
    config: Config,
    study_area: gpd.GeoDataFrame,
    layers: Mapping[str, gpd.GeoDataFrame],
    grid: Grid,
    *,
    ownership_coverage: gpd.GeoSeries | None,
    elevation_path: Path | None,
    skipped: list[str],
) -> ExclusionMap:
    """Compute the exclusion bitmask for a run.

    ``ownership_coverage`` is the area where the ``federal_land`` layer is complete
    (``None``: everywhere); outside it, land is marked ``ownership_unknown`` rather than
    ``not_federal``. Configured exclusions whose layer is absent are skipped and
    named in ``skipped``.
    """
    causes = list(BUILT_IN_CAUSES)
    descriptions = dict(CAUSE_TEXT)
    configured = [e for e in config.exclusions if _available(e, layers, elevation_path, skipped)]
    causes += [e.name for e in configured]
    if len(causes) > 16:
        raise ValueError(f"at most {16 - len(BUILT_IN_CAUSES)} exclusions are supported, got {len(configured)}")
    bits = np.zeros(grid.shape, dtype=np.uint8 if len(causes) <= 8 else np.uint16)

    inside = rasterize_mask(study_area, grid)
    _mark(bits, ~inside, 0)
    if config.land.federal_only:
        covered = np.ones(grid.shape, dtype=bool) if ownership_coverage is None else rasterize_mask(
            gpd.GeoDataFrame(geometry=ownership_coverage), grid)
        if config.land.unknown_ownership == "exclude":
            _mark(bits, ~covered, 1)
        land = layers["federal_land"]
        allowed = land["is_federal"].fillna(False).to_numpy(dtype=bool)
        if config.land.agencies is not None:
            allowed &= land["agency"].isin(config.land.agencies).to_numpy()
        federal = rasterize_mask(land[allowed], grid)
        _mark(bits, covered & ~federal, 2)

    for i, exclusion in enumerate(configured, start=len(BUILT_IN_CAUSES)):
        mask, text = _exclusion_mask(exclusion, layers, grid, elevation_path)
        descriptions[exclusion.name] = text
        _mark(bits, mask, i)
    return ExclusionMap(bits, causes, descriptions)


def _mark(bits: np.ndarray, mask: np.ndarray, bit: int) -> None:
    """Set ``bit`` in ``bits`` where ``mask`` is true, in place."""
    np.bitwise_or(bits, bits.dtype.type(1 << bit), out=bits, where=mask)


def _available(exclusion: Exclusion, layers: Mapping[str, gpd.GeoDataFrame],
               elevation_path: Path | None, skipped: list[str]) -> bool:
    present = elevation_path is not None if exclusion.layer == "elevation" else exclusion.layer in layers
    if not present:
        skipped.append(f"exclusion {exclusion.name!r}: layer {exclusion.layer!r} not usable; exclusion not applied")
    return present


def _exclusion_mask(exclusion: Exclusion, layers: Mapping[str, gpd.GeoDataFrame], grid: Grid,
                    elevation_path: Path | None) -> tuple[np.ndarray, str]:
    if exclusion.layer == "elevation":
        limit = exclusion.max_slope_deg if exclusion.max_slope_deg is not None else 10.0
        slope = slope_degrees(elevation_path, grid)
        return np.asarray(slope > limit), f"slope steeper than {limit:g} degrees"
    frame = select_features(exclusion, exclusion.layer, layers[exclusion.layer])
    if exclusion.buffer_m > 0:
        frame = gpd.GeoDataFrame(geometry=frame.geometry.buffer(exclusion.buffer_m), crs=frame.crs)
    text = LAYER_NOUNS.get(exclusion.layer, exclusion.layer.replace("_", " "))
    if exclusion.min_population:
        text += f" of at least {exclusion.min_population:,} people"
    if exclusion.buffer_m:
        text += f", or within {exclusion.buffer_m:,.0f} m of one"
    return rasterize_mask(frame, grid), text
