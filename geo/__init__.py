"""Site-suitability analysis for AI-infrastructure industrial parks on US federal land.

The Python API mirrors the ``geo`` command line::

    import geo
    config = geo.load_config(preset="chip_fab")
    result = geo.run(config)          # ranks sites on the default store (or the demo region)
    result.sites.head()               # the site table, one row per candidate site

Every name of :mod:`geo.api` is offered here; it is imported on first use, so that
``import geo`` stays fast.
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("geo-siting")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

logging.getLogger(__name__).addHandler(logging.NullHandler())


def __getattr__(name: str) -> Any:
    """The API name ``name`` (one of ``geo.api.__all__``), imported from :mod:`geo.api` on first use."""
    if not name.startswith("_"):
        api = importlib.import_module("geo.api")
        if name in api.__all__:
            return getattr(api, name)
    raise AttributeError(f"module 'geo' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *importlib.import_module("geo.api").__all__})
