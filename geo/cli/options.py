"""Options shared by every ``geo`` subcommand, defined once."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

#: Exit codes: 0 success, 1 unexpected failure, 2 usage error (click), 3 bad input or
#: configuration, 4 data missing from the store, 5 a public source failed, 6 a local file
#: could not be written (full disk, read-only folder).
EXIT_BAD_INPUT = 3
EXIT_NO_DATA = 4
EXIT_FETCH_FAILED = 5
EXIT_WRITE_FAILED = 6


def configure_logging(verbose: int, quiet: int) -> None:
    """Map ``-v``/``-q`` counts onto a log level for the package logger."""
    level = logging.WARNING - 10 * verbose + 10 * quiet
    logging.basicConfig(
        level=max(logging.DEBUG, min(level, logging.CRITICAL)),
        format="%(levelname)s %(name)s: %(message)s",
    )


def _verbosity(func: F) -> F:
    func = click.option("-v", "--verbose", count=True, help="More log output (repeatable).")(func)
    func = click.option("-q", "--quiet", count=True, help="Less output (repeatable).")(func)
    return func


verbosity = _verbosity

store_option = click.option(
    "--store",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="GEO_STORE",
    default=Path("data/store"),
    show_default=True,
    help="Layer store folder (env GEO_STORE).",
)

config_option = click.option(
    "-c", "--config", "config_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML configuration file (see `geo/presets/` for examples).",
)

preset_option = click.option(
    "-p", "--preset",
    help="Park-type preset: fiber_cable_plant, transformer_plant, power_module_plant, chip_fab.",
)

states_option = click.option(
    "--states",
    help="Comma-separated states to analyse, e.g. AZ,NV (default: the configuration's).",
)

workers_option = click.option(
    "--workers", type=click.IntRange(min=1), default=min(4, os.cpu_count() or 1), show_default=True,
    help="Processes sharing the weight draws (the result does not depend on it).",
)
