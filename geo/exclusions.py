"""Exclusions: the land that can never hold a site, and why, kept per cell as a bitmask."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np

from geo.config import Config, Exclusion
from geo.criteria import select_features
from geo.errors import ConfigError
from geo.grid import Grid, burn, rasterize_mask
from geo.rastercache import RunRasters
from geo.schema import FEDERAL_AGENCIES
from geo.scratch import ScratchRasters
from geo.terrain import describe_elevation, slope_supported

log = logging.getLogger(__name__)

#: Causes that every run checks, before the configured exclusions.
OUTSIDE_STUDY_AREA = "outside_study_area"
OWNERSHIP_UNKNOWN = "ownership_unknown"
NOT_FEDERAL = "not_federal"
MILITARY_LAND = "military_land"
ENERGY_LAND = "energy_land"
NATIONAL_PARK = "national_park"
WILDLIFE_REFUGE = "wildlife_refuge"
TRIBAL_LAND = "tribal_land"
AGENCY_NOT_ALLOWED = "agency_not_allowed"
BUILT_IN_CAUSES = (
    OUTSIDE_STUDY_AREA, OWNERSHIP_UNKNOWN, NOT_FEDERAL, MILITARY_LAND, ENERGY_LAND, NATIONAL_PARK,
    WILDLIFE_REFUGE, TRIBAL_LAND, AGENCY_NOT_ALLOWED,
)
#: The agency behind each agency cause; such land is excluded unless the agency is allowed.
AGENCY_CAUSES = {MILITARY_LAND: "DOD", ENERGY_LAND: "DOE", NATIONAL_PARK: "NPS", WILDLIFE_REFUGE: "FWS",
                 TRIBAL_LAND: "TRIBAL"}
#: The bitmask has 16 bits.
MAX_CAUSES = 16

#: How exclusion descriptions name the features of each layer.
LAYER_NOUNS = {
    "protected": "a protected area",
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
    NOT_FEDERAL: "not federal land (state, private, local or unknown manager)",
    MILITARY_LAND: "military land (Department of Defense ranges, bases and depots)",
    ENERGY_LAND: "Department of Energy land (national laboratories and test sites)",
    NATIONAL_PARK: "National Park Service land (parks, monuments, recreation areas): never eligible",
    WILDLIFE_REFUGE: "Fish and Wildlife Service land (wildlife refuges): never eligible",
    TRIBAL_LAND: "tribal land (reservations and trust land): never eligible",
    AGENCY_NOT_ALLOWED: "federal land of an agency this configuration does not allow",
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
        """Names of the causes in one bitmask value.

        Parameters
        ----------
        value
            A cell's value in ``bits``.

        Returns
        -------
        list[str]
            The causes whose bit is set, in the order of ``causes``.
        """
        return [cause for i, cause in enumerate(self.causes) if value & (1 << i)]

    def cell_counts(self) -> dict[str, int]:
        """How many cells each cause removes (cells with several causes count for each).

        Returns
        -------
        dict[str, int]
            Number of cells by cause name.
        """
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
    rasters: RunRasters | None = None,
) -> ExclusionMap:
    """Compute the exclusion bitmask for a run.

    ``ownership_coverage`` is the area where the ``federal_land`` layer is complete
    (``None``: everywhere); outside it, land is marked ``ownership_unknown`` rather than
    ``not_federal``. Land of an agency the configuration does not allow gets its own
    cause (military, energy, national park, wildlife refuge, or any other agency), and
    tribal land (``tribal_land`` layer, or tribal polygons of ``federal_land``) is always
    excluded. Configured exclusions whose layer is absent are skipped and named in
    ``skipped``. Terrain exclusions take slope and height above the basin floor from
    ``rasters`` when given, so a criterion measuring the same terrain shares them.

    Parameters
    ----------
    config
        The run's configuration (allowed agencies and configured exclusions).
    study_area
        The states analysed, in the grid CRS.
    layers
        The run's vector layers, in the grid CRS.
    grid
        The analysis grid.
    ownership_coverage
        Where the ``federal_land`` layer is complete, in the grid CRS; None: everywhere.
    elevation_path
        The elevation raster, for terrain exclusions; None when the store has none.
    skipped
        Collects a line for each configured exclusion whose layer is absent (changed in place).
    rasters
        The run's shared rasters; None: compute terrain rasters afresh.

    Returns
    -------
    ExclusionMap
        The bitmask on ``grid`` (one bit per cause), the causes in bit order and their descriptions.

    Raises
    ------
    ConfigError
        More exclusions than the 16-bit mask can hold.
    """
    causes = list(BUILT_IN_CAUSES)
    descriptions = dict(CAUSE_TEXT)
    descriptions[AGENCY_NOT_ALLOWED] += f" (allowed: {', '.join(config.land.agencies)})"
    configured = _applicable(config.exclusions, layers, elevation_path, skipped)
    causes += [e.name for e in configured]
    if len(causes) > MAX_CAUSES:
        raise ConfigError(f"exclusions: at most {MAX_CAUSES - len(BUILT_IN_CAUSES)} can be configured, "
                          f"got {len(configured)} ({', '.join(e.name for e in configured)})")
    if rasters is None or rasters.grid != grid:
        rasters = RunRasters(grid, elevation_path)
    scratch = rasters.scratch

    bits = np.empty(grid.shape, dtype=np.uint8 if len(causes) <= 8 else np.uint16)
    terrain = [e for e in configured if e.layer == "elevation"]
    with ThreadPoolExecutor(max_workers=1) as pool:
        # the terrain rasters are NumPy work on their own arrays: they run beside GDAL's burning
        terrain_rasters = pool.submit(_terrain_rasters, terrain, rasters)
        if "federal_land" in layers:  # it sets every cell, so it goes first
            _set_agency_causes(bits, causes, config, layers["federal_land"], grid, ownership_coverage, scratch)
        else:
            bits.fill(0)
        outside = rasterize_mask(study_area, grid, out=scratch.lend("mask", np.uint8))
        _mark(bits, np.logical_not(outside, out=outside), causes.index(OUTSIDE_STUDY_AREA))
        if "tribal_land" in layers:
            _mark(bits, rasterize_mask(layers["tribal_land"], grid, out=scratch.lend("mask", np.uint8)),
                  causes.index(TRIBAL_LAND))
        else:
            skipped.append("tribal land: layer 'tribal_land' not in the store; only tribal polygons of "
                           "'federal_land' are excluded as tribal")

        for exclusion in configured:
            surface = terrain_rasters.result()[exclusion.name] if exclusion.layer == "elevation" else None
            mask, text = _exclusion_mask(exclusion, layers, grid, rasters, surface)
            descriptions[exclusion.name] = text
            _mark(bits, mask, causes.index(exclusion.name))
    return ExclusionMap(bits, causes, descriptions)


#: Codes of the agency raster: 0 is "no polygon"; agencies burn in this order, so where
#: polygons overlap the later, more restrictive agency wins.
AGENCY_CODES = ("", "OTHER_FEDERAL", "BLM", "BOR", "USFS", "DOE", "DOD", "NPS", "FWS", "TRIBAL",
                "STATE", "LOCAL", "PRIVATE", "NGO", "UNKNOWN")


def _set_agency_causes(bits: np.ndarray, causes: list[str], config: Config, land: gpd.GeoDataFrame, grid: Grid,
                       ownership_coverage: gpd.GeoSeries | None, scratch: ScratchRasters) -> None:
    """Set each cell of ``bits`` to the causes of the agency managing it; ownership unknown outside the coverage.

    Each polygon burns its agency's causes straight into ``bits``, in the order of
    :data:`AGENCY_CODES`, so where polygons overlap the later, more restrictive agency
    wins; cells of no polygon get the causes of code 0 (not federal).
    """
    allowed = set(config.land.agencies)
    by_agency = np.zeros(len(AGENCY_CODES), dtype=bits.dtype)
    for cause, code in AGENCY_CAUSES.items():
        if code not in allowed:
            by_agency[AGENCY_CODES.index(code)] |= 1 << causes.index(cause)
    not_federal = bits.dtype.type(1 << causes.index(NOT_FEDERAL) if config.land.federal_only else 0)
    if config.land.federal_only:
        named = set(AGENCY_CAUSES.values())
        for code in (a for a in FEDERAL_AGENCIES if a not in allowed and a not in named):
            by_agency[AGENCY_CODES.index(code)] |= 1 << causes.index(AGENCY_NOT_ALLOWED)
        by_agency[~_agency_in(np.arange(len(AGENCY_CODES)), [*FEDERAL_AGENCIES, "TRIBAL"])] |= not_federal
    code = land["agency"].map({a: i for i, a in enumerate(AGENCY_CODES)}).fillna(
        AGENCY_CODES.index("UNKNOWN")).to_numpy(dtype=np.intp)
    order = np.argsort(code, kind="stable")
    bits.fill(by_agency[0])
    if len(order):
        burn(zip(land.geometry.to_numpy()[order], by_agency[code[order]].tolist(), strict=True), grid, bits)
    if not not_federal or ownership_coverage is None:
        return
    covered = rasterize_mask(gpd.GeoDataFrame(geometry=ownership_coverage), grid, out=scratch.lend("mask", np.uint8))
    uncovered = np.logical_not(covered, out=covered)
    # outside the ownership layer's coverage a cell of no polygon is of unknown, not of non-federal, ownership
    np.bitwise_and(bits, ~not_federal, out=bits, where=uncovered)
    if config.land.unknown_ownership == "exclude":
        _mark(bits, uncovered, causes.index(OWNERSHIP_UNKNOWN))


def _agency_in(agency: np.ndarray, codes: Iterable[str]) -> np.ndarray:
    """Whether each cell of an agency raster holds one of ``codes`` (a lookup table: faster than ``np.isin``)."""
    table = np.zeros(len(AGENCY_CODES), dtype=bool)
    table[[AGENCY_CODES.index(code) for code in codes]] = True
    return table[agency]


def _mark(bits: np.ndarray, mask: np.ndarray, bit: int) -> None:
    """Set ``bit`` in ``bits`` where ``mask`` is true, in place."""
    np.bitwise_or(bits, bits.dtype.type(1 << bit), out=bits, where=mask)


def _applicable(exclusions: list[Exclusion], layers: Mapping[str, gpd.GeoDataFrame],
                elevation_path: Path | None, skipped: list[str]) -> list[Exclusion]:
    """The exclusions that can be computed; a fallback only where the exclusion it stands in for cannot."""
    def usable(exclusion: Exclusion) -> str | None:
        if exclusion.layer != "elevation":
            return None if exclusion.layer in layers else f"layer {exclusion.layer!r} not usable"
        if elevation_path is None:
            return "layer 'elevation' not usable"
        if exclusion.max_slope_deg is not None and not slope_supported(elevation_path):
            return f"{describe_elevation(elevation_path)} is too coarse for slope"
        return None

    reasons = {e.name: usable(e) for e in exclusions}
    chosen = []
    for exclusion in exclusions:
        reason = reasons[exclusion.name]
        if reason is None and exclusion.fallback_for is not None and reasons.get(exclusion.fallback_for, "") is None:
            reason = f"not needed: {exclusion.fallback_for!r} applies"
        if reason is None:
            chosen.append(exclusion)
        else:
            skipped.append(f"exclusion {exclusion.name!r}: {reason}; exclusion not applied")
    return chosen


def _terrain_rasters(exclusions: list[Exclusion], rasters: RunRasters) -> dict[str, np.ndarray]:
    """The slope, or height above the basin floor, each terrain exclusion compares with its limit, by name."""
    return {e.name: rasters.height_above_basin_m(e.radius_km) if e.max_height_above_basin_m is not None
            else rasters.slope_degrees() for e in exclusions}


def _exclusion_mask(exclusion: Exclusion, layers: Mapping[str, gpd.GeoDataFrame], grid: Grid,
                    rasters: RunRasters, surface: np.ndarray | None) -> tuple[np.ndarray, str]:
    """The cells ``exclusion`` removes (a loan of the scratch mask), and its description.

    ``surface`` is the terrain raster of a terrain exclusion (see :func:`_terrain_rasters`).
    """
    text = describe_exclusion(exclusion, layers, rasters.elevation_path)
    mask = rasters.scratch.lend("mask", np.uint8)
    if exclusion.layer == "elevation":
        limit = exclusion.max_height_above_basin_m
        if limit is None:
            limit = exclusion.max_slope_deg
        assert surface is not None and limit is not None
        return np.greater(surface, limit, out=mask.view(bool)), text
    frame = select_features(exclusion, exclusion.layer, layers[exclusion.layer])
    if exclusion.buffer_m > 0:
        frame = gpd.GeoDataFrame(geometry=frame.geometry.buffer(exclusion.buffer_m), crs=frame.crs)
    return rasterize_mask(frame, grid, out=mask), text


def describe_exclusion(exclusion: Exclusion, layers: Mapping[str, gpd.GeoDataFrame],
                       elevation_path: Path | None) -> str:
    """The words outputs use for the land a configured exclusion removes.

    Parameters
    ----------
    exclusion
        The configured exclusion.
    layers
        The loaded layers (the protected layer's designations are named).
    elevation_path
        The elevation raster, for the terrain exclusions.

    Returns
    -------
    str
        For example "a town of at least 1,000 people, or within 5,000 m of one".
    """
    if exclusion.layer == "elevation":
        if exclusion.max_height_above_basin_m is not None:
            assert elevation_path is not None
            return (f"high ground: more than {exclusion.max_height_above_basin_m:g} m above the lowest ground "
                    f"within {exclusion.radius_km:g} km ({describe_elevation(elevation_path)}, coarse)")
        return f"slope steeper than {exclusion.max_slope_deg:g} degrees"
    text = LAYER_NOUNS.get(exclusion.layer, exclusion.layer.replace("_", " "))
    if exclusion.layer == "protected":
        designations = sorted(set(layers["protected"]["designation"].dropna().astype(str)))
        text = f"a protected area ({', '.join(designations[:6])}{', ...' if len(designations) > 6 else ''})"
    if exclusion.min_population:
        text += f" of at least {exclusion.min_population:,} people"
    if exclusion.buffer_m:
        text += f", or within {exclusion.buffer_m:,.0f} m of one"
    return text
