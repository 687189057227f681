"""Options shared by every ``geo`` subcommand, defined once."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from geo.config import MAX_RESOLUTION_M, MIN_RESOLUTION_M
from geo.store import DEFAULT_STORE
from geo.types import STATE_FIPS

F = TypeVar("F", bound=Callable[..., Any])

#: Exit codes: 0 success, 1 unexpected failure (a bug: it prints a traceback), 2 usage error,
#: 3 bad input or configuration, 4 a layer missing from the store, 5 a public source failed,
#: 6 a local file could not be written (full disk, read-only folder), or the layer store or a
#: run folder is damaged or cannot be read, 7 the Dask cluster lost its workers or the work.
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_NO_DATA = 4
EXIT_FETCH_FAILED = 5
EXIT_STORE = 6
EXIT_CLUSTER = 7


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
    default=DEFAULT_STORE,
    show_default=True,
    help="Layer store folder (env GEO_STORE).",
)

#: For ranking commands: None when neither --store nor GEO_STORE is given, which lets the
#: analysis fall back to the synthetic demo region while the default store is empty.
store_or_demo_option = click.option(
    "--store",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="GEO_STORE",
    default=None,
    help=f"Layer store folder (env GEO_STORE). Without either, {DEFAULT_STORE}, or the SYNTHETIC demo region "
    "while that store is empty.",
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

def parse_states(ctx: click.Context | None, param: click.Parameter | None, value: str | None) -> str | None:
    """Check a comma-separated list of state codes; returns it upper-cased (None when not given).

    Parameters
    ----------
    ctx, param
        The click context and parameter, for the error message.
    value
        The option's text, e.g. ``"az, nv"``.

    Returns
    -------
    str or None
        The codes joined by commas, e.g. ``"AZ,NV"``.
    """
    if value is None:
        return None
    codes = [code.strip().upper() for code in value.split(",") if code.strip()]
    if not codes:
        raise click.BadParameter(f"{value!r} names no state; give codes such as {','.join(STATE_FIPS)}",
                                 ctx=ctx, param=param)
    unknown = [code for code in codes if code not in STATE_FIPS]
    if unknown:
        raise click.BadParameter(f"unknown state code(s) {', '.join(unknown)} in {value!r}; "
                                 f"the states analysed are {', '.join(STATE_FIPS)}", ctx=ctx, param=param)
    return ",".join(dict.fromkeys(codes))


states_option = click.option(
    "--states", callback=parse_states,
    help="Comma-separated states to analyse, e.g. AZ,NV (default: the configuration's).",
)


class FiniteRange(click.FloatRange):
    """A float range that also refuses NaN and infinity (``FloatRange`` lets NaN through)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = click.FLOAT.convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(number, param, ctx)


resolution_option = click.option(
    "--resolution", type=FiniteRange(min=MIN_RESOLUTION_M, max=MAX_RESOLUTION_M), metavar="METRES",
    help=f"Grid cell size in metres, {MIN_RESOLUTION_M:g} to {MAX_RESOLUTION_M:g} (default 250).",
)


def top_option(default: int) -> Callable[[F], F]:
    """``--top N``: how many sites to print, at least one.

    Parameters
    ----------
    default
        Sites printed when the option is not given.

    Returns
    -------
    Callable
        The click option decorator.
    """
    return click.option("--top", type=click.IntRange(min=1), default=default, show_default=True,
                        help="Sites to print.")

workers_option = click.option(
    "--workers", type=click.IntRange(min=1), default=min(4, os.cpu_count() or 1), show_default=True,
    help="Processes sharing the weight draws (the result does not depend on it).",
)


#: The formats a site or score table can be written in.
TABLE_SUFFIXES = (".csv", ".geojson", ".parquet")


def _check_table_suffix(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    if value is not None and value.suffix.lower() not in TABLE_SUFFIXES:
        raise click.BadParameter(f"{value}: cannot write {value.suffix or 'a file without a suffix'!r}; "
                                 f"use {', '.join(TABLE_SUFFIXES)}", ctx=ctx, param=param)
    return value


def table_output_option(help: str) -> Callable[[F], F]:
    """``-o/--output FILE`` for a table, its format (CSV, GeoJSON, GeoParquet) checked before any work.

    Parameters
    ----------
    help
        The option's help text.

    Returns
    -------
    Callable
        The click option decorator.
    """
    return click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
                        callback=_check_table_suffix, help=help)
