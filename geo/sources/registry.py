"""The source registry: which public service feeds each canonical layer.

The packaged ``endpoints.yaml`` lists the sources; a user override file (``geo refresh
--sources FILE`` or the ``GEO_SOURCES`` environment variable) can change any field of a
source (a mirror, a newer service address) or replace a layer's list of sources without
editing code. Both files are validated; an unknown key is an error naming the key and
the file.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from geo.errors import ConfigError
from geo.schema import SCHEMAS
from geo.types import STATE_FIPS, STATE_NAMES

ENV_VAR = "GEO_SOURCES"
Protocol = Literal["arcgis", "overpass", "bulk", "table"]


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


class Source(_Model):
    """One public source of one canonical layer."""

    id: str
    protocol: Protocol
    title: str = Field(description="Publisher and dataset name")
    format: str
    license: str
    url: str | None = None
    urls: list[str] = Field(default_factory=list)
    state_urls: dict[str, str] = Field(default_factory=dict)
    url_template: str | None = None
    layer_name: str | None = None
    where: str = "1=1"
    out_fields: str = "*"
    page_size: int | None = Field(None, gt=0)
    bbox_filter: bool = True
    member: str | None = None
    columns: list[str] | None = None
    join: JoinSpec | None = None
    table: TableSpec | None = None
    resolution_deg: float | None = Field(None, gt=0)
    sha256: str | None = None
    proxy_for: str | None = None
    notes: list[str] = Field(default_factory=list)

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
    def _one_address(self) -> Source:
        given = [n for n in ("url", "urls", "state_urls", "url_template") if getattr(self, n)]
        if len(given) != 1:
            raise ValueError(
                f"source {self.id!r}: give exactly one of url, urls, state_urls, url_template (got {given or 'none'})"
            )
        if self.url_template is not None and self.resolution_deg is None:
            raise ValueError(f"source {self.id!r}: url_template needs resolution_deg for the mosaic")
        if self.protocol == "table" and self.table is None:
            raise ValueError(f"source {self.id!r}: a table source needs a `table` section")
        return self

    def resolve_urls(self, states: Sequence[str], bbox: Sequence[float] | None = None) -> list[str]:
        """The URLs to read for ``states``; tiles of ``url_template`` need ``bbox``."""
        if self.url:
            return [self.url]
        if self.urls:
            return list(self.urls)
        if self.state_urls:
            return [self.state_urls[s] for s in states if s in self.state_urls]
        if bbox is None:
            raise ConfigError(f"source {self.id!r}: its tiles depend on the area; the states layer is needed first")
        return [self.url_template.format(lat=lat, lon=lon) for lat, lon in tile_corners(bbox)]  # type: ignore[union-attr]

    def resolve_where(self, states: Sequence[str]) -> str:
        """``where`` with ``{states}`` and ``{state_names}`` filled in."""
        return self.where.format(
            states=",".join(f"'{s}'" for s in states),
            state_names=",".join(f"'{STATE_NAMES[s]}'" for s in states),
        )


class LayerSources(_Model):
    """The sources of one layer and how they combine."""

    mode: Literal["first", "merge"] = "first"
    default: bool = Field(True, description="Refreshed when no --layer is given")
    sources: list[Source] = Field(min_length=1)


class Registry(_Model):
    """Every layer's sources."""

    layers: dict[str, LayerSources]

    @field_validator("layers")
    @classmethod
    def _known_layers(cls, value: dict[str, LayerSources]) -> dict[str, LayerSources]:
        unknown = sorted(set(value) - set(SCHEMAS))
        if unknown:
            raise ValueError(f"unknown layers {unknown}; the layers are: {', '.join(SCHEMAS)}")
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> Registry:
        seen: dict[str, str] = {}
        for layer, entry in self.layers.items():
            for source in entry.sources:
                if seen.get(source.id, layer) != layer:
                    raise ValueError(f"source id {source.id!r} is used by layers {seen[source.id]!r} and {layer!r}")
                seen[source.id] = layer
        return self

    def sources(self, layer: str) -> list[Source]:
        """Sources of ``layer`` in order of preference (empty when it has none)."""
        entry = self.layers.get(layer)
        return list(entry.sources) if entry else []

    def default_layers(self) -> list[str]:
        """Layers refreshed when none are named, in schema order."""
        return [name for name in SCHEMAS if name in self.layers and self.layers[name].default]

    def source(self, source_id: str) -> Source:
        """The source with id ``source_id``."""
        for entry in self.layers.values():
            for source in entry.sources:
                if source.id == source_id:
                    return source
        raise ConfigError(f"no source {source_id!r} in the registry")


class _SourcePatch(_Model):
    """Fields an override file may change on an existing source (all optional)."""

    title: str | None = None
    format: str | None = None
    license: str | None = None
    url: str | None = None
    urls: list[str] | None = None
    state_urls: dict[str, str] | None = None
    url_template: str | None = None
    layer_name: str | None = None
    where: str | None = None
    out_fields: str | None = None
    page_size: int | None = None
    bbox_filter: bool | None = None
    member: str | None = None
    columns: list[str] | None = None
    join: JoinSpec | None = None
    table: TableSpec | None = None
    resolution_deg: float | None = None
    sha256: str | None = None
    proxy_for: str | None = None
    notes: list[str] | None = None


class _Override(_Model):
    sources: dict[str, _SourcePatch] = Field(default_factory=dict)
    layers: dict[str, dict[str, Any]] = Field(default_factory=dict)


def tile_corners(bbox: Sequence[float]) -> list[tuple[int, int]]:
    """North-west corners ``(lat, west_lon)`` of the 1° tiles covering ``bbox`` (western hemisphere)."""
    xmin, ymin, xmax, ymax = bbox
    lats = range(math.floor(ymin) + 1, math.ceil(ymax) + 1)
    lons = range(math.floor(-xmax) + 1, math.ceil(-xmin) + 1)
    return [(lat, lon) for lat in lats for lon in lons]


def packaged_path() -> Path:
    """The registry file shipped with the package."""
    return Path(str(resources.files("geo.sources") / "endpoints.yaml"))


def load_registry(override: str | os.PathLike[str] | None = None) -> Registry:
    """The packaged registry with the user's override applied.

    Parameters
    ----------
    override
        A YAML override file; by default the file named by ``GEO_SOURCES``, if set.

    Raises
    ------
    ConfigError
        When a file cannot be read or does not validate; the message names the file and key.
    """
    base_path = packaged_path()
    data = _read_yaml(base_path)
    override = override or os.environ.get(ENV_VAR) or None
    if override is not None:
        data = _apply_override(data, Path(override), base_path)
    return _validate(Registry, data, base_path if override is None else Path(override))


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read sources file {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"sources file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"sources file {path}: expected a mapping at the top level")
    return data


def _apply_override(data: dict[str, Any], path: Path, base_path: Path) -> dict[str, Any]:
    patch = _validate(_Override, _read_yaml(path), path)
    layers: dict[str, Any] = {name: dict(entry) for name, entry in (data.get("layers") or {}).items()}
    for name, entry in patch.layers.items():
        layers[name] = entry
    index = {
        source["id"]: source
        for entry in layers.values()
        for source in entry.get("sources") or []
        if isinstance(source, dict) and "id" in source
    }
    for source_id, changes in patch.sources.items():
        if source_id not in index:
            raise ConfigError(
                f"sources file {path}: source {source_id!r} is not in {base_path.name}; "
                f"the sources are: {', '.join(sorted(index))}"
            )
        fields = changes.model_dump(exclude_unset=True)
        addresses = {"url", "urls", "state_urls", "url_template"}
        if addresses & set(fields):  # a new address replaces the old one, whatever its kind
            for key in addresses - set(fields):
                index[source_id].pop(key, None)
        index[source_id].update(fields)
    return {**data, "layers": layers}


def _validate(model: type[_Model], data: dict[str, Any], path: Path) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"sources file {path}: {_describe(exc.errors())}") from exc


def _describe(errors: Iterable[dict[str, Any]]) -> str:
    parts = []
    for err in errors:
        where = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown key {where!r}")
        else:
            parts.append(f"{where}: {err['msg']}" if where else err["msg"])
    return "; ".join(parts)
