"""Reading a configuration: defaults, then a park-type preset, then a YAML file, then overrides.

A configuration file holds the keys of :class:`~geo.config.models.Config`. ``criteria``
and ``exclusions`` may be given either as a full list (replacing the defaults) or as a
mapping from name to the fields to change (patching the defaults), and
``preset: chip_fab`` starts from one of the park-type presets in ``geo/presets/``::

    preset: chip_fab
    states: [NV, UT]
    criteria:
      water_stress: {weight: 0.4}
"""

from __future__ import annotations

import copy
import difflib
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from geo.config.models import Config, Criterion, Exclusion
from geo.errors import ConfigError

PRESETS = ("fiber_cable_plant", "transformer_plant", "power_module_plant", "chip_fab")
#: The fields a criterion or exclusion needs when a configuration adds a new one by name.
_NEW_ENTRY_FIELDS = {
    "criteria": [name for name, field in Criterion.model_fields.items() if field.is_required() and name != "name"],
    "exclusions": [name for name, field in Exclusion.model_fields.items() if field.is_required() and name != "name"],
}
_ENTRY_KIND = {"criteria": "criterion", "exclusions": "exclusion"}


def load_config(path: str | Path | None = None, *, preset: str | None = None,
                overrides: dict[str, Any] | None = None) -> Config:
    """Read a configuration: defaults, then a preset, then a YAML file, then ``overrides``.

    Parameters
    ----------
    path
        A UTF-8 YAML file of configuration keys (it may name a ``preset`` itself).
    preset
        A park-type preset to start from, one of :data:`PRESETS`.
    overrides
        Keys applied last, as the command line's options are.

    Returns
    -------
    Config
        The validated configuration; ``origin`` names the file and preset.

    Raises
    ------
    ConfigError
        Naming the file and the key at fault: an unknown key, a misspelt criterion or
        exclusion (with the nearest known name), a value out of range or not finite,
        a name unfit for file names, or a file that is not UTF-8 YAML.
    """
    data: dict[str, Any] = {}
    where = "defaults"
    if path is not None:
        where = str(path)
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
                              "save the configuration as UTF-8") from None
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read configuration: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: a configuration must be a mapping of keys, got {type(loaded).__name__}")
        data = loaded
    preset = data.pop("preset", None) if preset is None else preset
    base = Config().model_dump(mode="json")
    if preset is not None:
        base = _merge(base, _preset_data(preset), f"preset {preset}")
        where = f"{where} (preset {preset})"
    base = _merge(base, data, where)
    if overrides:
        base = _merge(base, overrides, "command-line options")
    try:
        config = Config.model_validate(base)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, where, base)) from None
    config._origin = where
    return config


def _preset_data(name: str) -> dict[str, Any]:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; presets are: {', '.join(PRESETS)}")
    text = resources.files("geo.presets").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _merge(base: dict[str, Any], patch: dict[str, Any], where: str) -> dict[str, Any]:
    """Apply ``patch`` to ``base``; named lists (criteria, exclusions) may be patched by name."""
    out = copy.deepcopy(base)
    for key, value in patch.items():
        if key in ("criteria", "exclusions") and isinstance(value, dict):
            out[key] = _patch_named(out.get(key, []), value, key, where)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, where)
        else:
            out[key] = value
    return out


def _patch_named(items: list[dict[str, Any]], patch: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """Patch, drop (``name: null``) or add the entries of ``items`` named by the keys of ``patch``.

    A name that is not configured yet adds a new entry, which must then be complete; an
    incomplete one is most likely a misspelt name, reported with the nearest known name.
    """
    by_name = {item["name"]: item for item in items}
    for name, fields in patch.items():
        if fields is None:  # `name: null` drops the entry
            by_name.pop(name, None)
            continue
        if not isinstance(fields, dict):
            raise ConfigError(f"{where}: {key}.{name} must be a mapping of fields")
        if name in by_name:
            merged = {**by_name[name], **fields}
            if "value_function" in fields:
                merged["value_function"] = fields["value_function"]
            by_name[name] = merged
            continue
        missing = [field for field in _NEW_ENTRY_FIELDS[key] if field not in fields]
        if missing:
            raise ConfigError(_unknown_entry(where, key, name, list(by_name), missing))
        by_name[name] = {"name": name, **fields}
    return list(by_name.values())


def _unknown_entry(where: str, key: str, name: str, known: list[str], missing: list[str]) -> str:
    """The message for an incomplete entry under a name that is not configured, with the nearest known name."""
    kind = _ENTRY_KIND[key]
    nearest = difflib.get_close_matches(str(name), known, n=1)
    hint = f" (did you mean {nearest[0]!r}?)" if nearest else ""
    return (f"{where}: {key}.{name}: unknown {kind} {name!r}{hint}; known {key} are {', '.join(known)}, "
            f"and a new {kind} needs {', '.join(missing)}")


def _describe(exc: ValidationError, where: str, data: dict[str, Any]) -> str:
    """One line per problem, naming list entries by their ``name`` rather than their index."""
    lines = [f"{where}: invalid configuration"]
    for err in exc.errors():
        parts: list[str] = []
        node: Any = data
        for part in err["loc"]:
            if isinstance(part, int) and isinstance(node, list) and part < len(node):
                node = node[part]
                parts.append(str(node.get("name", part)) if isinstance(node, dict) else str(part))
            else:
                node = node.get(part) if isinstance(node, dict) else None
                parts.append(str(part))
        loc = ".".join(parts)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        lines.append(f"  {loc or '(top level)'}: {msg}")
    return "\n".join(lines)


def config_yaml(config: Config) -> str:
    """The configuration as YAML, for run records and `geo config --show`.

    Parameters
    ----------
    config
        A validated configuration.

    Returns
    -------
    str
        Every field, defaults included, in the model's order.
    """
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
