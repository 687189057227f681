"""The source registry: the specs' overridable part, with the user's override applied.

The packaged registry is built from the specs (:mod:`geo.sources.catalog`). A user
override file (``geo refresh --sources FILE`` or the ``GEO_SOURCES`` environment
variable) can change a source's title, licence, vintage, proxy status, notes or online
address (a mirror, a newer service address), and choose which sources a layer uses::

    sources:
      hifld_transmission:
        url: https://mirror.example.org/arcgis/rest/services/Transmission/FeatureServer/0
        title: HIFLD transmission lines (our mirror)
    layers:
      protected: {sources: [nps_boundaries]}

The file is validated against the specs: an unknown source id, a layer that does not
hold a source, or a field that does not belong is an error naming the file and key.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator, model_validator
from pydantic.fields import FieldInfo

from geo.errors import ConfigError
from geo.schema import SCHEMAS
from geo.sources.catalog import LAYERS, SPECS
from geo.sources.spec import ADDRESS_FIELDS, Endpoint, Source

ENV_VAR = "GEO_SOURCES"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LayerEntry(_Model):
    """The sources of one layer and how they combine."""

    mode: Literal["first", "merge"] = "first"
    default: bool = Field(True, description="Refreshed when no --layer is given")
    sources: list[Source] = Field(min_length=1)


class Registry(_Model):
    """Every layer's sources, as refresh uses them."""

    layers: dict[str, LayerEntry]

    @field_validator("layers")
    @classmethod
    def _known_layers(cls, value: dict[str, LayerEntry]) -> dict[str, LayerEntry]:
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
        """Sources of ``layer`` that can be fetched online, in order of preference.

        Parameters
        ----------
        layer
            A canonical layer name.

        Returns
        -------
        list[Source]
            Those with an endpoint; empty for a layer the registry does not list.
        """
        entry = self.layers.get(layer)
        return [s for s in entry.sources if s.endpoint is not None] if entry else []

    def default_layers(self) -> list[str]:
        """Layers refreshed when none are named, in schema order.

        Returns
        -------
        list[str]
            Layers marked default that have at least one online source.
        """
        return [name for name in SCHEMAS if name in self.layers and self.layers[name].default and self.sources(name)]

    def source(self, source_id: str) -> Source:
        """The source with id ``source_id``.

        Parameters
        ----------
        source_id
            A source id, as in its spec.

        Returns
        -------
        Source
            The source as the registry (with any override) describes it.

        Raises
        ------
        ConfigError
            When no layer lists that id.
        """
        for entry in self.layers.values():
            for source in entry.sources:
                if source.id == source_id:
                    return source
        raise ConfigError(f"no source {source_id!r} in the registry")


#: Fields an override may set on a source: what provenance says, and the online address.
_DESCRIPTIVE = ("title", "license", "proxy_for", "vintage", "notes")


def _unset_or(field: FieldInfo) -> tuple[Any, None]:
    """A patch field: the value the source field takes, or None (the default) to keep the source's own."""
    annotation: Any = field.annotation
    return annotation | None, None


_SourcePatch = create_model(  # type: ignore[call-overload]
    "_SourcePatch",
    __base__=_Model,
    **{name: _unset_or(Source.model_fields[name]) for name in _DESCRIPTIVE},
    **{name: _unset_or(field) for name, field in Endpoint.model_fields.items() if name not in _DESCRIPTIVE},
)


class _LayerPatch(_Model):
    mode: Literal["first", "merge"] | None = None
    default: bool | None = None
    sources: list[str] | None = Field(None, min_length=1, description="Source ids in order of preference")


class _Override(_Model):
    sources: dict[str, _SourcePatch] = Field(default_factory=dict)
    layers: dict[str, _LayerPatch] = Field(default_factory=dict)


def packaged_registry() -> Registry:
    """The registry as the specs define it, without any override.

    Returns
    -------
    Registry
        Every layer's sources, in order of preference.
    """
    return Registry(layers={
        name: LayerEntry(mode=entry.mode, default=entry.default, sources=[s.source() for s in entry.sources])
        for name, entry in LAYERS.items()
    })


def load_registry(override: str | os.PathLike[str] | None = None) -> Registry:
    """The packaged registry with the user's override applied.

    Parameters
    ----------
    override
        A YAML override file; by default the file named by ``GEO_SOURCES``, if set.

    Returns
    -------
    Registry
        Every layer's sources.

    Raises
    ------
    ConfigError
        When the file cannot be read or does not validate against the specs; the message
        names the file and key.
    """
    registry = packaged_registry()
    override = override or os.environ.get(ENV_VAR) or None
    if override is None:
        return registry
    path = Path(override)
    patch = _validate(_Override, _read_yaml(path), path)
    sources = {s.id: s for entry in registry.layers.values() for s in entry.sources}
    for source_id, changes in patch.sources.items():
        if source_id not in sources:
            raise ConfigError(f"sources file {path}: key 'sources.{source_id}': {source_id!r} is not a known "
                              f"source; the sources are: {', '.join(sorted(sources))}")
        sources[source_id] = _patched(sources[source_id], changes.model_dump(exclude_unset=True), path)
    layers = {}
    for name, entry in registry.layers.items():
        changes = patch.layers.get(name)
        ids = [s.id for s in entry.sources] if changes is None or changes.sources is None else changes.sources
        layers[name] = LayerEntry(
            mode=(changes.mode if changes and changes.mode else entry.mode),
            default=(changes.default if changes and changes.default is not None else entry.default),
            sources=[sources[i] for i in _layer_ids(name, ids, path)],
        )
    unknown = sorted(set(patch.layers) - set(layers))
    if unknown:
        raise ConfigError(f"sources file {path}: key 'layers.{unknown[0]}': not a layer with sources; "
                          f"the layers are: {', '.join(layers)}")
    return Registry(layers=layers)


def _layer_ids(layer: str, ids: list[str], path: Path) -> list[str]:
    for source_id in ids:
        spec = SPECS.get(source_id)
        if spec is None or spec.layer != layer:
            own = ", ".join(s.id for s in LAYERS[layer].sources)
            raise ConfigError(f"sources file {path}: key 'layers.{layer}.sources': {source_id!r} is not a source "
                              f"of layer {layer!r}; its sources are: {own}")
    return ids


def _patched(source: Source, fields: dict[str, Any], path: Path) -> Source:
    """``source`` with ``fields`` of an override applied; a new address replaces the old one."""
    where = f"sources file {path}: key 'sources.{source.id}'"
    descriptive = {k: v for k, v in fields.items() if k in _DESCRIPTIVE}
    address = {k: v for k, v in fields.items() if k not in _DESCRIPTIVE}
    endpoint = source.endpoint
    if address:
        base = endpoint.model_dump(exclude_unset=True) if endpoint is not None else {}
        if set(ADDRESS_FIELDS) & set(address):
            for key in ADDRESS_FIELDS:
                base.pop(key, None)
        if endpoint is None and "protocol" not in address:
            raise ConfigError(f"{where}: this source is read from files only; give a `protocol` with its address")
        try:
            endpoint = Endpoint.model_validate({**base, **address})
        except ValidationError as exc:
            raise ConfigError(f"{where}: {_describe(exc.errors())}") from exc
    return source.model_copy(update={**descriptive, "endpoint": endpoint})


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read sources file {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"sources file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"sources file {path}: expected a mapping at the top level")
    return data


def _validate(model: type[_Model], data: dict[str, Any], path: Path) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"sources file {path}: {_describe(exc.errors())}") from exc


def _describe(errors: Iterable[Any]) -> str:
    parts = []
    for err in errors:
        where = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            parts.append(f"unknown key {where!r}")
        else:
            parts.append(f"{where}: {err['msg']}" if where else err["msg"])
    return "; ".join(parts)
