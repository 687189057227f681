"""Exceptions raised by the package.

Every error derives from :class:`GeoError` and also from the matching built-in
exception, so callers can catch either (a store failure is also an ``OSError``,
a schema problem also a ``ValueError``). Soft problems (data repaired, dropped or only
a proxy) are not exceptions: they are logged, and recorded in a run's ``warnings``
and ``caveats``.
"""

from __future__ import annotations


class GeoError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(GeoError, ValueError):
    """A configuration file or value is invalid."""


class LayerSchemaError(GeoError, ValueError):
    """A layer does not match its canonical schema."""


class EmptyLayerError(LayerSchemaError):
    """A source has no usable feature inside the requested states."""


class LayerNotFoundError(GeoError, KeyError):
    """A layer was asked for that the store does not hold."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class StoreError(GeoError, OSError):
    """The layer store could not be read or written."""


class WriteError(GeoError, OSError):
    """A file or folder could not be written here (full disk, read-only folder, no permission)."""


class FetchError(GeoError, IOError):
    """A public source could not be fetched or answered with an error."""


class InputError(GeoError, ValueError):
    """A user-supplied input file (points, polygons) is invalid."""



class ClusterError(GeoError, OSError):
    """The Dask cluster lost its workers or the work it was given; nothing of the run was written."""
