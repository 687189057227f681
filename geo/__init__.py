"""Site-suitability analysis for AI-infrastructure industrial parks on US federal land.

The Python API mirrors the ``geo`` command line::

    import geo
    config = geo.load_config(preset="chip_fab")
    result = geo.run(config)          # ranks sites on the default store (or the demo region)
    result.sites.head()               # the site table, one row per candidate site
"""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("geo-siting")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

logging.getLogger(__name__).addHandler(logging.NullHandler())
