"""What a public source is: one typed spec per source, beside its normaliser.

A :class:`SourceSpec` says everything the package knows about a source before any data
is read: the canonical layer it makes, its title and licence, whether it is a proxy,
partial or coarse (and the caveat to show), the data's own vintage, how to fetch it
(an :class:`Endpoint`: protocol and address), which downloaded files it reads offline
(:class:`FileKind`) and the normaliser that maps its fields onto the layer's schema.

Specs live in one module per canonical layer under :mod:`geo.sources.layers`; each
module ends with a :class:`LayerSources` listing its specs in order of preference.
Refresh and offline ingestion loop over these; nothing else names a source.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from geo.errors import ConfigError
from geo.sources.base import NormalizeContext, NormalizedLayer
from geo.types import STATE_FIPS, STATE_NAMES

ProtocolName = Literal["arcgis", "overpass", "bulk", "table"]
#: How offline files of a kind are read: by suffix (vector or table), as a zip of
#: Mapbox vector tiles, or as GeoTIFF paths (several tiles are mosaicked).
ReadAs = Literal["auto", "vector_tiles", "raster"]
#: ``normalize(raw, ctx, spec)``: the publisher's data to one canonical layer.
Normalizer = Callable[[Any, NormalizeContext, "SourceSpec"], NormalizedLayer]

PUBLIC_DOMAIN = "Public domain (US Government work)"
NATURAL_EARTH = "Public domain (Natural Earth)"
ODBL = "ODbL 1.0 (© OpenStreetMap contributors)"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class JoinSpec(_Model):
    """A table inside the same archive joined onto the vector file by a key column."""

    member: str
    key: str
    columns: list[str] | None = None


class TableSpec(_Model):
    """How to read a CSV or Excel table."""

    header: int = 0
    sheet: str | int | None = None
    na_values: list[str] = Field(default_factory=list)
    text_columns: list[str] = Field(default_factory=list, description="Read as text (FIPS codes keep their zeros)")


class Endpoint(_Model):
    """Where and how a source is fetched online: the part a user may override.

    Exactly one of ``url``, ``urls``, ``state_urls`` and ``url_template`` is given. In
    ``where``, ``{states}`` becomes the quoted state codes and ``{state_names}`` the
    quoted state names; ``url_template`` takes ``{lat}`` and ``{lon}``, whole degrees of
    a 1° tile's north-west corner.
    """

    protocol: ProtocolName
    format: str
    url: str | None = None
    urls: list[str] = Field(default_factory=list)
    state_urls: dict[str, str] = Field(default_factory=dict)
    url_template: str | None = None
    layer_name: str | None = Field(None, description="Pick an ArcGIS service's layer by name")
    where: str = "1=1"
    out_fields: str = "*"
    page_size: int | None = Field(None, gt=0)
    bbox_filter: bool = True
    member: str | None = Field(None, description="File (glob) to read inside a downloaded archive")
    columns: list[str] | None = None
    join: JoinSpec | None = None
    table: TableSpec | None = None
    resolution_deg: float | None = Field(None, gt=0)
    sha256: str | None = None
    notes: list[str] = Field(default_factory=list, description="About the service, not the data")

    @field_validator("sha256")
    @classmethod
    def _hex_digest(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", value):
            raise ValueError(f"sha256 must be 64 hex digits, got {value!r}")
        return value.lower() if value else value

    @field_validator("state_urls")
    @classmethod
    def _known_states(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(STATE_FIPS))
        if unknown:
            raise ValueError(f"unknown state codes {unknown}; expected {sorted(STATE_FIPS)}")
        return value

    @model_validator(mode="after")
    def _one_address(self) -> Endpoint:
        given = [n for n in ADDRESS_FIELDS if getattr(self, n)]
        if len(given) != 1:
            raise ValueError(f"give exactly one of url, urls, state_urls, url_template (got {given or 'none'})")
        if self.url_template is not None and self.resolution_deg is None:
            raise ValueError("url_template needs resolution_deg for the mosaic")
        if self.protocol == "table" and self.table is None:
            raise ValueError("a table source needs a `table` section")
        return self

    def resolve_urls(self, states: Sequence[str], bbox: Sequence[float] | None = None) -> list[str]:
        """The URLs to read for ``states``; tiles of ``url_template`` need ``bbox``.

        Parameters
        ----------
        states
            Two-letter codes of the requested states.
        bbox
            ``(west, south, east, north)`` of the area, for tiled sources.

        Returns
        -------
        list of str
            The addresses to fetch, in order.
        """
        if self.url:
            return [self.url]
        if self.urls:
            return list(self.urls)
        if self.state_urls:
            return [self.state_urls[s] for s in states if s in self.state_urls]
        if bbox is None:
            raise ConfigError("tiles depend on the area; the states layer is needed first")
        assert self.url_template is not None
        return [self.url_template.format(lat=lat, lon=lon) for lat, lon in tile_corners(bbox)]

    def resolve_where(self, states: Sequence[str]) -> str:
        """``where`` with ``{states}`` and ``{state_names}`` filled in.

        Parameters
        ----------
        states
            Two-letter state codes of the request.

        Returns
        -------
        str
            The SQL ``where`` clause, codes and names quoted and comma-separated.
        """
        return self.where.format(
            states=",".join(f"'{s}'" for s in states),
            state_names=",".join(f"'{STATE_NAMES[s]}'" for s in states),
        )


ADDRESS_FIELDS = ("url", "urls", "state_urls", "url_template")


def tile_corners(bbox: Sequence[float]) -> list[tuple[int, int]]:
    """North-west corners ``(lat, west_lon)`` of the 1° tiles covering ``bbox`` (western hemisphere).

    Parameters
    ----------
    bbox
        ``(xmin, ymin, xmax, ymax)`` in degrees.

    Returns
    -------
    list[tuple[int, int]]
        Whole-degree north latitude and west longitude (positive) of each tile.
    """
    xmin, ymin, xmax, ymax = bbox
    lats = range(math.floor(ymin) + 1, math.ceil(ymax) + 1)
    lons = range(math.floor(-xmax) + 1, math.ceil(-xmin) + 1)
    return [(lat, lon) for lat in lats for lon in lons]


class Source(_Model):
    """The part of a spec a user may override: what provenance says and where to fetch.

    Built from a :class:`SourceSpec` by :func:`source_of`; an override file changes its
    fields (see :mod:`geo.sources.registry`). ``endpoint`` is None for sources that are
    only read from downloaded files.
    """

    id: str
    layer: str
    title: str = Field(description="Publisher and dataset name")
    license: str
    proxy_for: str | None = None
    vintage: str | None = Field(None, description="When the data describes, as the publisher dates it")
    notes: list[str] = Field(default_factory=list)
    endpoint: Endpoint | None = None


@dataclass(frozen=True)
class FileKind:
    """A kind of publisher file that offline ingestion recognises.

    ``patterns`` are globs on the lower-cased file name; ``fields`` identify the file by
    its attribute names when the name does not match; ``tileset`` does the same for a
    zip of vector tiles by the name in its ``metadata.json``. ``skip_reason`` marks
    files that are recognised but deliberately not used.
    """

    key: str
    description: str
    patterns: tuple[str, ...]
    fields: frozenset[str] = frozenset()
    tileset: str | None = None
    read_as: ReadAs = "auto"
    skip_reason: str | None = None


@dataclass(frozen=True)
class OfflineFiles:
    """The files a source reads offline: one main kind and optional extra inputs.

    With extras, the normaliser receives a mapping: ``{main_key: main, name: extra or None}``.
    ``extra_only`` says why an extra file alone is not used.
    """

    main: FileKind
    main_key: str | None = None
    extras: Mapping[str, FileKind] = field(default_factory=dict)
    extra_only: str | None = None


@dataclass(frozen=True)
class SourceSpec:
    """One public source of one canonical layer: everything known before any data is read.

    ``url`` is the publisher's page or address for the dataset, recorded in provenance
    when nothing more precise is known. ``fills`` marks a coarse, complete source that
    fills in where an earlier, finer source of the same layer does not reach.
    ``needs_counties`` marks table sources that are joined to the county polygons.
    ``ignores`` lists related files that are recognised but deliberately not used.
    """

    id: str
    layer: str
    title: str
    license: str
    url: str
    normalize: Normalizer
    endpoint: Endpoint | None = None
    files: OfflineFiles | None = None
    vintage: str | None = None
    proxy_for: str | None = None
    partial: bool = False
    coarse: str | None = None
    caveat: str | None = None
    notes: tuple[str, ...] = ()
    fills: bool = False
    needs_counties: bool = False
    ignores: tuple[FileKind, ...] = ()

    def source(self) -> Source:
        """The user-overridable view of this spec, before any override.

        Returns
        -------
        Source
            Id, layer, title, licence, proxy status, vintage, notes and endpoint.
        """
        return Source(id=self.id, layer=self.layer, title=self.title, license=self.license,
                      proxy_for=self.proxy_for, vintage=self.vintage, notes=list(self.notes),
                      endpoint=self.endpoint)

    def file_kinds(self) -> list[FileKind]:
        """Every file kind this spec recognises: main, extras and ignored ones.

        Returns
        -------
        list[FileKind]
            The main kind first, then the extras, then the ignored ones.
        """
        kinds = [*self.ignores]
        if self.files is not None:
            kinds = [self.files.main, *self.files.extras.values(), *kinds]
        return kinds


@dataclass(frozen=True)
class LayerSources:
    """The sources of one canonical layer, in order of preference.

    ``mode`` "first" stores the first source that succeeds; "merge" fetches every online
    source and stores them together. ``default`` layers are refreshed when no layer is
    named.
    """

    layer: str
    sources: tuple[SourceSpec, ...]
    mode: Literal["first", "merge"] = "first"
    default: bool = True

    def __post_init__(self) -> None:
        wrong = [s.id for s in self.sources if s.layer != self.layer]
        if wrong:
            raise ValueError(f"layer {self.layer!r} lists sources of other layers: {', '.join(wrong)}")
