"""Exclusions at points: the causes of :mod:`geo.exclusions`, tested place by place on the vector layers.

The causes, their order (the bit of each) and their descriptions are those of
:func:`geo.exclusions.build_exclusions`; where the raster path asks whether a cell
centre lies in a (buffered) polygon, this asks whether the point does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from geo.config import Config
from geo.criteria import select_features
from geo.errors import ConfigError
from geo.exclusions import (
    AGENCY_CAUSES,
    AGENCY_CODES,
    AGENCY_NOT_ALLOWED,
    BUILT_IN_CAUSES,
    CAUSE_TEXT,
    MAX_CAUSES,
    NOT_FEDERAL,
    OUTSIDE_STUDY_AREA,
    OWNERSHIP_UNKNOWN,
    TRIBAL_LAND,
    _applicable,
    describe_exclusion,
)
from geo.pointsample import Within
from geo.schema import FEDERAL_AGENCIES

#: Which points a rule removes, for points (x, y) of the analysis CRS.
Rule = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass
class PointExclusions:
    """The exclusion rules of one configuration, ready to test points.

    ``rules`` pairs each cause's bit with the test that removes a point for it; the
    study area is tested first, and places outside it get only that cause.
    """

    causes: list[str]
    descriptions: dict[str, str]
    study_area: shapely.Geometry
    rules: list[tuple[int, Rule]]

    @classmethod
    def build(cls, config: Config, study_area: gpd.GeoDataFrame, layers: dict[str, gpd.GeoDataFrame],
              ownership_coverage: gpd.GeoSeries | None, elevation: Path | None, slope: Callable[[], Rule],
              height: Callable[[float], Rule], skipped: list[str]) -> PointExclusions:
        """The exclusions :func:`geo.exclusions.build_exclusions` would apply, as point tests.

        Parameters
        ----------
        config, study_area, layers, ownership_coverage, skipped
            As for :func:`geo.exclusions.build_exclusions` (layers in the analysis CRS).
        elevation
            The elevation raster, or None when the store has none.
        slope, height
            Give the slope (degrees) at points, and the height (m) above the basin floor
            within a radius (km) at points: the terrain exclusions compare them to their limits.

        Returns
        -------
        PointExclusions

        Raises
        ------
        ConfigError
            More exclusions than the 16-bit mask can hold.
        """
        causes = list(BUILT_IN_CAUSES)
        descriptions = dict(CAUSE_TEXT)
        descriptions[AGENCY_NOT_ALLOWED] += f" (allowed: {', '.join(config.land.agencies)})"
        configured = _applicable(config.exclusions, layers, elevation, skipped)
        causes += [e.name for e in configured]
        if len(causes) > MAX_CAUSES:
            raise ConfigError(f"exclusions: at most {MAX_CAUSES - len(BUILT_IN_CAUSES)} can be configured, "
                              f"got {len(configured)} ({', '.join(e.name for e in configured)})")
        rules: list[tuple[int, Rule]] = []
        if "federal_land" in layers:
            rules += _land_rules(config, layers["federal_land"], ownership_coverage, causes)
        if "tribal_land" in layers:
            rules.append((causes.index(TRIBAL_LAND), Within(layers["tribal_land"].geometry.to_numpy()).any))
        else:
            skipped.append("tribal land: layer 'tribal_land' not in the store; only tribal polygons of "
                           "'federal_land' are excluded as tribal")
        for exclusion in configured:
            descriptions[exclusion.name] = describe_exclusion(exclusion, layers, elevation)
            if exclusion.layer == "elevation":
                if exclusion.max_height_above_basin_m is not None:
                    rule = _above(height(exclusion.radius_km), exclusion.max_height_above_basin_m)
                else:
                    rule = _above(slope(), exclusion.max_slope_deg or 0.0)
            else:
                frame = select_features(exclusion, exclusion.layer, layers[exclusion.layer])
                rule = Within(frame.geometry.to_numpy(), exclusion.buffer_m).any
            rules.append((causes.index(exclusion.name), rule))
        area = study_area.union_all()
        shapely.prepare(area)
        return cls(causes, descriptions, area, rules)

    def at(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The exclusion bitmask (uint16) of each point, and whether it lies outside the study area.

        Parameters
        ----------
        x, y
            Coordinates (EPSG:5070 metres).

        Returns
        -------
        tuple of numpy.ndarray
            Bits per point (0: eligible) and the outside mask.
        """
        outside = ~shapely.contains_xy(self.study_area, x, y)
        bits = np.zeros(len(x), dtype=np.uint16)
        bits[outside] = 1 << self.causes.index(OUTSIDE_STUDY_AREA)
        inside = np.flatnonzero(~outside)
        if inside.size:
            xi, yi = x[inside], y[inside]
            for bit, rule in self.rules:
                bits[inside[rule(xi, yi)]] |= np.uint16(1 << bit)
        return bits, outside


def _land_rules(config: Config, land: gpd.GeoDataFrame, coverage: gpd.GeoSeries | None,
                causes: list[str]) -> list[tuple[int, Rule]]:
    """The ownership causes: unknown ownership, each agency not allowed, land that is not federal."""
    code = land["agency"].map({a: i for i, a in enumerate(AGENCY_CODES)}).fillna(
        AGENCY_CODES.index("UNKNOWN")).to_numpy(dtype=np.float64)
    polygons = Within(land.geometry.to_numpy())
    allowed = set(config.land.agencies)
    area = None if coverage is None else coverage.iloc[0]
    if area is not None:
        shapely.prepare(area)

    def covered(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return np.ones(len(x), dtype=bool) if area is None else shapely.contains_xy(area, x, y)

    last: list[tuple[np.ndarray, np.ndarray]] = []

    def agency(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The agency code at each point; the rules of one call share one look-up."""
        if not last or last[0][0] is not x:
            # where polygons overlap, the more restrictive agency (the later code) wins, as on the grid
            last[:] = [(x, polygons.largest(x, y, code, fill=0).astype(np.int64))]
        return last[0][1]

    def is_agency(index: int) -> Rule:
        return lambda x, y: agency(x, y) == index

    rules: list[tuple[int, Rule]] = []
    if config.land.federal_only and config.land.unknown_ownership == "exclude":
        rules.append((causes.index(OWNERSHIP_UNKNOWN), lambda x, y: ~covered(x, y)))
    for cause, name in AGENCY_CAUSES.items():
        if name not in allowed:
            rules.append((causes.index(cause), is_agency(AGENCY_CODES.index(name))))
    if config.land.federal_only:
        federal = [AGENCY_CODES.index(a) for a in FEDERAL_AGENCIES]
        tribal = AGENCY_CODES.index("TRIBAL")

        def not_federal(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            found = agency(x, y)
            return covered(x, y) & ~np.isin(found, federal) & (found != tribal)

        named = set(AGENCY_CAUSES.values())
        others = [AGENCY_CODES.index(a) for a in FEDERAL_AGENCIES if a not in allowed and a not in named]
        rules.append((causes.index(NOT_FEDERAL), not_federal))
        rules.append((causes.index(AGENCY_NOT_ALLOWED), lambda x, y: np.isin(agency(x, y), others)))
    return rules


def _above(measure: Rule, limit: float) -> Rule:
    """A rule removing points where ``measure`` exceeds ``limit`` (unknown values never do)."""
    def rule(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.asarray(measure(x, y) > limit)
    return rule
