"""Every source spec, gathered from the layer modules, and the one entry point that normalises.

:data:`LAYERS` holds each canonical layer's :class:`~geo.sources.spec.LayerSources` in
schema order (states and counties first, since the others are clipped to the states
and county tables are joined to the counties); :data:`SPECS` indexes every spec by id.
:func:`normalize` runs a spec's normaliser and adds what the spec (or the user's
override of it) says to the provenance: title, licence, vintage, proxy, partial and
coarse status, caveat and notes.

``raw`` is what a fetcher or the offline reader got, with the publisher's own field
names: a GeoDataFrame for vector services and files; a pandas DataFrame for tables; a
mapping of named tables for sources built from several files (see
:class:`~geo.sources.spec.OfflineFiles`); a :class:`~pathlib.Path` to a GeoTIFF for
elevation. The elevation normaliser writes a temporary GeoTIFF that the caller owns.
"""

from __future__ import annotations

import logging
from typing import Any

from geo.errors import LayerSchemaError
from geo.schema import SCHEMAS
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.layers import (
    backbone_pops,
    counties,
    county_stats,
    elevation,
    federal_land,
    places,
    power_plants,
    protected,
    rail,
    roads,
    states,
    substations,
    transmission,
    tribal_land,
    urban,
    water_service_areas,
    water_stress,
)
from geo.sources.spec import LayerSources, Source, SourceSpec

log = logging.getLogger(__name__)

_MODULES = (
    states, counties, federal_land, tribal_land, protected, transmission, substations, water_stress,
    county_stats, water_service_areas, backbone_pops, roads, rail, places, urban, power_plants, elevation,
)
#: Each layer's sources in order of preference, in schema order.
LAYERS: dict[str, LayerSources] = {
    name: module.LAYER for name in SCHEMAS for module in _MODULES if module.LAYER.layer == name
}
#: Every spec by source id.
SPECS: dict[str, SourceSpec] = {spec.id: spec for entry in LAYERS.values() for spec in entry.sources}


def spec_of(source_id: str) -> SourceSpec:
    """The spec of ``source_id``.

    Parameters
    ----------
    source_id
        A source id, e.g. hifld_transmission.

    Returns
    -------
    SourceSpec
        The source's spec.

    Raises
    ------
    LayerSchemaError
        For an unknown id, listing the known ones.
    """
    try:
        return SPECS[source_id]
    except KeyError:
        raise LayerSchemaError(f"unknown source {source_id!r}; the sources are: {', '.join(sorted(SPECS))}") from None


def layer_of(source_id: str) -> str:
    """The canonical layer that ``source_id`` produces.

    Parameters
    ----------
    source_id
        A source id.

    Returns
    -------
    str
        The layer's name.
    """
    return spec_of(source_id).layer


def normalize(source_id: str, raw: Any, ctx: NormalizeContext, source: Source | None = None) -> NormalizedLayer:
    """Turn what the publisher of ``source_id`` distributes into its canonical layer.

    Parameters
    ----------
    source_id
        The source the data comes from.
    raw
        The publisher's data (see the module docstring).
    ctx
        The request: states and their boundaries.
    source
        The user's override of the source's title, licence and notes; the spec's by default.

    Returns
    -------
    NormalizedLayer
        The layer, with provenance from the data and from the spec.

    Raises
    ------
    LayerSchemaError
        For an unknown source id, input of the wrong kind, a missing publisher field,
        or a result that does not match the layer's schema.
    EmptyLayerError
        When nothing of the source lies inside the requested states.
    """
    spec = spec_of(source_id)
    result = spec.normalize(raw, ctx, spec)
    result.provenance = describe(result.provenance, source or spec.source())
    log.info(
        "normalised %s into layer %s%s", source_id, result.layer,
        f" ({len(result.frame)} features)" if result.frame is not None else "",
    )
    return result


def describe(provenance: dict[str, Any], source: Source) -> dict[str, Any]:
    """``provenance`` with what ``source`` (and its spec, when it has one) says of the data.

    Title, licence, vintage and proxy status come from ``source``, so that a user's
    override of them reaches the stored provenance; partial and coarse status and the
    caveat come from the spec. Vintage, coarseness and partial coverage measured on the
    data count where the spec says nothing.

    Parameters
    ----------
    provenance
        What the normaliser found: notes, covered area, states, and for some layers
        ``coarse`` or ``partial`` measured on the data.
    source
        The source as the registry holds it, override applied.

    Returns
    -------
    dict
        Keyword arguments for the store's provenance record.
    """
    spec = SPECS.get(source.id)
    out = dict(provenance)
    out.update(source=source.title, license=source.license, vintage=source.vintage or out.get("vintage"))
    out.setdefault("url", spec.url if spec is not None else "")
    out["proxy_for"] = source.proxy_for or out.get("proxy_for")
    if spec is not None:
        out["partial"] = spec.partial or bool(out.get("partial"))
        out["coarse"] = spec.coarse or out.get("coarse")
        out["limitation"] = spec.caveat
    notes = [*source.notes, *out.get("notes", [])]
    out["notes"] = list(dict.fromkeys(notes))
    return out
