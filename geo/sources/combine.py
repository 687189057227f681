"""One layer from a fine source that covers part of the area and a coarser one that fills the rest.

Ownership is the case in point: PAD-US (fine, newer) covers the Great Basin only,
while the National Atlas federal-lands layer (1:1,000,000) covers all three states.
The fine source wins wherever its coverage reaches; the filler is cut to the area
outside it. Provenance says which source holds which share of each state, and the
layer stays "partial" only where neither covers.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from geo.errors import LayerSchemaError
from geo.sources import clean
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.types import ANALYSIS_CRS, STORE_CRS

log = logging.getLogger(__name__)


def fill_outside_coverage(fine: NormalizedLayer, fill: NormalizedLayer, ctx: NormalizeContext,
                          *, fine_id: str, fill_id: str) -> NormalizedLayer:
    """``fine`` where its ``coverage_wkt`` reaches, ``fill`` cut to the rest.

    Each feature's ``source`` column names the source id it comes from.

    Parameters
    ----------
    fine
        The detailed, partial source, with ``coverage_wkt`` in its provenance (EPSG:4326).
    fill
        The coarser source of the same layer, used outside that coverage.
    ctx
        The request, whose states weigh the coverage shares in the provenance.
    fine_id, fill_id
        The two sources' ids.

    Returns
    -------
    NormalizedLayer
        The joined polygons, with provenance naming both sources and where each applies.

    Raises
    ------
    LayerSchemaError
        When the two are not the same vector layer, or ``fine`` says nothing of its coverage.
    """
    if fine.layer != fill.layer or fine.frame is None or fill.frame is None:
        raise LayerSchemaError(f"cannot fill layer {fine.layer!r} from layer {fill.layer!r}")
    coverage_wkt = fine.provenance.get("coverage_wkt")
    if coverage_wkt is None:
        raise LayerSchemaError(f"source {fine_id!r} covers everything; there is nothing for {fill_id!r} to fill")
    coverage = shapely.from_wkt(coverage_wkt)
    shapely.prepare(coverage)
    outside = shapely.difference(fill.frame.geometry.to_numpy(), coverage)
    filler = fill.frame.assign(geometry=outside)
    filler, _ = clean.repair_geometries(filler, "Polygon")
    filler, _ = clean.drop_empty(filler)
    frame = gpd.GeoDataFrame(
        pd.concat([fine.frame.assign(source=fine_id), filler.assign(source=fill_id)], ignore_index=True),
        geometry="geometry", crs=STORE_CRS,
    )
    shares = _coverage_shares(coverage, fill.provenance.get("coverage_wkt"), ctx)
    fine_p, fill_p = fine.provenance, fill.provenance
    fill_coverage = fill_p.get("coverage_wkt")
    combined_coverage = None if fill_coverage is None else shapely.to_wkt(
        shapely.union(coverage, shapely.from_wkt(fill_coverage)), rounding_precision=6)
    provenance: dict[str, Any] = {
        "source": f"{fine_p['source']}, where it covers; elsewhere {fill_p['source']}",
        "url": f"{fine_p['url']} ; {fill_p['url']}",
        "license": " + ".join(dict.fromkeys([fine_p["license"], fill_p["license"]])),
        "proxy_for": fine_p.get("proxy_for") or fill_p.get("proxy_for"),
        "partial": combined_coverage is not None,
        "coarse": f"outside {fine_id}'s area: {fill_p['coarse']}" if fill_p.get("coarse") else None,
        "limitation": fill_p.get("limitation"),
        "vintage": "; elsewhere ".join(v for v in (fine_p.get("vintage"), fill_p.get("vintage")) if v) or None,
        "coverage_wkt": combined_coverage,
        "states": list(ctx.states),
        "notes": [
            f"combined: {fine_id} wherever it covers, {fill_id} elsewhere (column 'source' names each polygon's)",
            *shares,
            *(f"{fine_id}: {note}" for note in fine_p.get("notes", [])),
            *(f"{fill_id}: {note}" for note in fill_p.get("notes", [])),
        ],
    }
    log.info("layer %s: %s", fine.layer, "; ".join(shares))
    return NormalizedLayer(layer=fine.layer, provenance=provenance, frame=frame,
                           notes=[*fine.notes, *fill.notes, *shares])


def _coverage_shares(coverage: Any, fill_coverage_wkt: str | None, ctx: NormalizeContext) -> list[str]:
    """Per state, the share of its area held by the fine source and by the filler."""
    if ctx.state_boundaries is None:
        return []
    states = ctx.state_boundaries.to_crs(ANALYSIS_CRS)
    fine_area = gpd.GeoSeries([coverage], crs=STORE_CRS).to_crs(ANALYSIS_CRS).iloc[0]
    fill_area = None if fill_coverage_wkt is None else gpd.GeoSeries(
        [shapely.from_wkt(fill_coverage_wkt)], crs=STORE_CRS).to_crs(ANALYSIS_CRS).iloc[0]
    lines = []
    for state, shape in zip(states["state"], states.geometry, strict=True):
        fine_share = shapely.intersection(shape, fine_area).area / shape.area
        rest = shapely.difference(shape, fine_area)
        fill_share = (rest.area if fill_area is None else shapely.intersection(rest, fill_area).area) / shape.area
        lines.append(f"{state}: {fine_share:.0%} from the fine source, {fill_share:.0%} filled, "
                     f"{max(0.0, 1 - fine_share - fill_share):.0%} unknown")
    return lines


def merge_layers(layer: str, parts: list[NormalizedLayer]) -> NormalizedLayer:
    """One layer from several normalised sources that each hold part of it (wilderness + national parks).

    Parameters
    ----------
    layer
        The canonical layer the parts belong to.
    parts
        The normalised sources, each with its provenance.

    Returns
    -------
    NormalizedLayer
        Every feature of every part, with the sources, addresses and licences joined.

    Raises
    ------
    LayerSchemaError
        When a part is a raster.
    """
    frames = [p.frame for p in parts if p.frame is not None]
    if len(frames) != len(parts):
        raise LayerSchemaError(f"layer {layer!r}: only vector layers can be merged from several sources")
    frame = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), geometry=frames[0].geometry.name, crs=STORE_CRS)
    fields = [p.provenance for p in parts]

    def joined(key: str) -> str:
        return " + ".join(dict.fromkeys(str(f[key]) for f in fields if f.get(key)))

    merged: dict[str, Any] = {
        "source": joined("source"),
        "url": " ; ".join(dict.fromkeys(str(f["url"]) for f in fields if f.get("url"))),
        "license": joined("license"),
        "partial": any(f.get("partial", False) for f in fields),
        "states": fields[0].get("states", []),
        "notes": [n for f in fields for n in f.get("notes", [])],
    }
    proxies = [f["proxy_for"] for f in fields if f.get("proxy_for")]
    if proxies:
        merged["proxy_for"] = "; ".join(dict.fromkeys(proxies))
    return NormalizedLayer(layer=layer, provenance=merged, frame=frame,
                           notes=[n for p in parts for n in p.notes])
