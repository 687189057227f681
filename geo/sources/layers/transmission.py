"""Electric transmission lines: HIFLD, with full attributes or as its voltage classes only."""

from __future__ import annotations

from typing import Any

import pandas as pd

from geo.errors import LayerSchemaError
from geo.schema import VOLTAGE_CLASSES, schema_for
from geo.sources import clean
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.sources.normalizing import as_geoframe, finish
from geo.sources.spec import Endpoint, FileKind, LayerSources, OfflineFiles, SourceSpec

_HIFLD_URL = ("https://services2.arcgis.com/FiaPA4ga0iQKduv3/arcgis/rest/services/"
              "US_Electric_Power_Transmission_Lines/FeatureServer/0")
_IM3_URL = "https://github.com/IMMM-SFA/datacenter-atlas"
_IM3_LICENSE = "Public domain (HIFLD Open data); IM3 atlas tiles BSD-2-Clause (Battelle)"
_IM3_NOTES = (
    "HIFLD lines as packaged in the PNNL IM3 Open Source Data Center Atlas vector tiles "
    "(zoom 8): only VOLT_CLASS is available; voltage, owner and status are missing",
    "voltage_kv is left missing: only the HIFLD voltage class is known",
    "rebuilt from vector tiles: positions good to about 30-40 m; lines are split at junctions "
    "and merged per class, so features do not match HIFLD records one to one",
)


def plausible_kv(kv: pd.Series, what: str) -> tuple[pd.Series, list[str]]:
    """``kv`` with values outside the schema's range (0, 1500] kV made missing, and a note.

    Parameters
    ----------
    kv
        Voltages in kV.
    what
        What carries them ("line", "substation"), for the note.

    Returns
    -------
    tuple of Series and list of str
        The voltages, and a note when some were left missing.
    """
    upper = schema_for("transmission").column("voltage_kv").max_value
    bad = kv.notna() & ((kv <= 0) | (kv > upper))
    if not bad.any():
        return kv, []
    example = kv[bad].iloc[0]
    return kv.mask(bad), [f"{int(bad.sum())} implausible {what} voltages (e.g. {example:g} kV) left missing"]


def _volt_class(values: pd.Series, source_id: str) -> tuple[pd.Series, list[str]]:
    """HIFLD voltage classes with 'NOT AVAILABLE' missing and 'SUB 100' read as 'UNDER 100'."""
    text = clean.null_sentinels(values.to_frame("v"), ["v"])["v"].astype("string").str.upper()
    notes = []
    sub100 = text.eq("SUB 100").fillna(False)
    if sub100.any():
        notes.append(f"{int(sub100.sum())} lines of class 'SUB 100' stored as 'UNDER 100'")
        text = text.mask(sub100, "UNDER 100")
    bad = text.notna() & ~text.isin(VOLTAGE_CLASSES)
    if bad.any():
        raise LayerSchemaError(
            f"source {source_id!r}: unknown VOLT_CLASS {text[bad].iloc[0]!r}; "
            f"expected one of {', '.join(VOLTAGE_CLASSES)}"
        )
    return text, notes


def _hifld_transmission(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    frame = as_geoframe(raw, spec.id, ("VOLTAGE", "VOLT_CLASS"))
    frame = clean.null_sentinels(frame, ["VOLTAGE", "STATUS", "OWNER"])
    kv, notes = plausible_kv(pd.to_numeric(frame["VOLTAGE"], errors="coerce"), "line")
    volt_class, class_notes = _volt_class(frame["VOLT_CLASS"], spec.id)
    notes += class_notes
    out = frame.assign(
        voltage_kv=kv, voltage_class=volt_class,
        status=frame["STATUS"] if "STATUS" in frame.columns else pd.NA,
        owner=frame["OWNER"] if "OWNER" in frame.columns else pd.NA,
    )
    return finish(spec, out, ctx, notes=notes)


_IM3_NOTES = (
    "HIFLD lines as packaged in the PNNL IM3 Open Source Data Center Atlas vector tiles "
    "(zoom 8): only VOLT_CLASS is available; voltage, owner and status are missing",
    "voltage_kv is left missing: only the HIFLD voltage class is known",
    "rebuilt from vector tiles: positions good to about 30-40 m; lines are split at junctions "
    "and merged per class, so features do not match HIFLD records one to one",
)
_IM3_LICENSE = "Public domain (HIFLD Open data); IM3 atlas tiles BSD-2-Clause (Battelle)"


def _im3_transmission(raw: Any, ctx: NormalizeContext, spec: SourceSpec) -> NormalizedLayer:
    frame = as_geoframe(raw, spec.id, ("VOLT_CLASS",))
    volt_class, notes = _volt_class(frame["VOLT_CLASS"], spec.id)
    out = frame.assign(voltage_class=volt_class)
    return finish(spec, out, ctx, notes=notes)


HIFLD_TRANSMISSION = SourceSpec(
    id="hifld_transmission", layer="transmission", title="HIFLD, U.S. Electric Power Transmission Lines",
    license="Public domain (HIFLD open data)", url=_HIFLD_URL,
    endpoint=Endpoint(
        protocol="arcgis", format="geojson", url=_HIFLD_URL, page_size=2000,
        out_fields="ID,TYPE,STATUS,OWNER,VOLTAGE,VOLT_CLASS,INFERRED,SUB_1,SUB_2,SOURCE,SOURCEDATE,VAL_DATE",
        notes=["The HIFLD services moved to services2 in August 2025."],
    ),
    files=OfflineFiles(FileKind("hifld_transmission", "HIFLD transmission lines with full attributes",
                                ("*electric_power_transmission_lines*",),
                                frozenset({"VOLTAGE", "VOLT_CLASS", "OWNER"}))),
    normalize=_hifld_transmission,
)

HIFLD_VOLT_CLASS = SourceSpec(
    id="hifld_volt_class", layer="transmission",
    title="HIFLD U.S. Electric Power Transmission Lines via PNNL IM3 Data Center Atlas "
          "(GeoJSON rebuilt from the atlas's zoom-8 vector tiles)",
    license=_IM3_LICENSE, url=_IM3_URL, vintage="HIFLD as of early/mid 2025 (atlas of June 2025)",
    caveat="voltage classes only, no line voltages; positions good to about 30-40 m",
    notes=_IM3_NOTES,
    files=OfflineFiles(FileKind("hifld_volt_class", "HIFLD VOLT_CLASS lines rebuilt from IM3 tiles (GeoJSON)",
                                ("hifld_transmission_lines*volt_class*.geojson",), frozenset({"VOLT_CLASS"}))),
    normalize=_im3_transmission,
)

HIFLD_VOLT_CLASS_TILES = SourceSpec(
    id="hifld_volt_class_tiles", layer="transmission",
    title="HIFLD U.S. Electric Power Transmission Lines via PNNL IM3 Data Center Atlas "
          "(zoom-8 Mapbox vector tiles)",
    license=_IM3_LICENSE, url=_IM3_URL, vintage="HIFLD as of early/mid 2025 (atlas of June 2025)",
    caveat="voltage classes only, no line voltages; positions good to about 30-40 m",
    notes=_IM3_NOTES,
    files=OfflineFiles(FileKind(
        "hifld_volt_class_tiles", "HIFLD transmission vector tiles from the IM3 atlas (zip of .pbf)",
        ("hifld_transmission_lines*vector_tiles*.zip",), tileset="transmission", read_as="vector_tiles",
    )),
    normalize=_im3_transmission,
)

LAYER = LayerSources("transmission", (HIFLD_TRANSMISSION, HIFLD_VOLT_CLASS, HIFLD_VOLT_CLASS_TILES))
