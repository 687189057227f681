"""`geo explain`: why a site ranks where it does, or why a place is not a site."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from geo.cli.options import EXIT_BAD_INPUT, configure_logging, verbosity
from geo.errors import InputError
from geo.query import explain_location, explain_site
from geo.runmodel import RunRecord
from geo.runs import DEFAULT_RUNS, latest_run, read_run

console = Console()


def _coordinate(limit: float) -> Any:
    """A click callback accepting a finite coordinate within +/- ``limit`` degrees (None passes)."""
    def check(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
        if value is not None and not (math.isfinite(value) and -limit <= value <= limit):
            raise click.BadParameter(f"{value!r} is not a coordinate: give decimal degrees between "
                                     f"-{limit:g} and {limit:g}", ctx=ctx, param=param)
        return value
    return check


@click.command()
@click.argument("site_id", required=False)
@click.option("--lon", type=float, callback=_coordinate(180), help="Longitude of a place to explain instead of a site.")
@click.option("--lat", type=float, callback=_coordinate(90), help="Latitude of a place to explain instead of a site.")
@click.option("--run", "run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Run folder (default: the latest run in --runs-dir).")
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_RUNS,
              show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the explanation as JSON.")
@verbosity
def explain(site_id: str | None, lon: float | None, lat: float | None, run_dir: Path | None,
            runs_dir: Path, as_json: bool, verbose: int, quiet: int) -> None:
    """Explain SITE_ID's score breakdown, or (with --lon/--lat) why a place is not a site."""
    configure_logging(verbose, quiet)
    if (site_id is None) == (lon is None or lat is None):
        raise click.UsageError("give either a SITE_ID or both --lon and --lat")
    if run_dir is None and not runs_dir.is_dir():
        raise InputError(f"--runs-dir {runs_dir}: no such folder; give the folder `geo run` writes runs to "
                         f"(default {DEFAULT_RUNS}) or run `geo run` first")
    folder = run_dir or latest_run(runs_dir)
    sites, record = read_run(folder)
    if site_id is not None:
        match = sites[sites["site_id"] == site_id]
        if match.empty:
            click.secho(f"error: no site {site_id!r} in run {folder.name}; `geo explain --lon X --lat Y` "
                        "explains any place", fg="red", err=True)
            raise SystemExit(EXIT_BAD_INPUT)
        answer = explain_site(match.iloc[0], record, len(sites))
        if as_json:
            click.echo(json.dumps(answer, indent=2, default=str))
            return
        _print_site(answer, record)
        return
    assert lon is not None and lat is not None  # both given: checked above
    answer = explain_location(folder, record, sites, lon, lat)
    if as_json:
        click.echo(json.dumps(answer, indent=2, default=str))
        return
    console.print(f"[bold]{lon:.5f}, {lat:.5f}[/]: {answer['status'].replace('_', ' ')}")
    for reason in answer["reasons"]:
        console.print(f"  - {reason}")


def _print_site(answer: dict, record: RunRecord) -> None:
    if record.synthetic:
        console.print("[bold yellow]SYNTHETIC DEMO DATA[/]")
    console.print(answer["summary"])
    table = Table(title="Score breakdown")
    for column in ("criterion", "weight", "raw value", "sub-score", "contribution"):
        table.add_column(column, justify="left" if column == "criterion" else "right")
    for part in answer["criteria"]:
        value = "unknown" if part["value"] != part["value"] else f"{part['value']:.2f} {part['unit']}"
        table.add_row(part["criterion"], f"{part['weight']:.2f}", value, f"{part['sub_score']:.3f}",
                      f"{part['contribution']:.3f}")
    console.print(table)
    console.print("; ".join(nearest_features(answer["site"], record)), soft_wrap=True)
    for layer, caveat in answer["caveats"].items():
        console.print(f"[yellow]note[/] {layer}: {caveat}")


def nearest_features(site: dict[str, Any], record: RunRecord) -> list[str]:
    """Phrases for a site's nearest qualifying line, substation and town, never showing a missing value as "nan".

    Parameters
    ----------
    site
        The site's row (``nearest_*`` columns, missing where nothing was found).
    record
        The run record; its ``layers`` say whether a layer was in the store at all.

    Returns
    -------
    list of str
        One phrase per feature kind, e.g. "nearest substation: Harry Allen at 4.2 km".
    """
    layers = record.layers
    phrases = []
    for layer, noun, missing in (("transmission", "line", "no transmission layer"),
                                 ("substations", "substation", "no substation layer"),
                                 ("places", "town", "no places layer")):
        km = _number(site.get(f"nearest_{noun}_km"))
        if layer not in layers:
            phrases.append(f"nearest {noun}: {missing}")
        elif km is None:
            phrases.append(f"nearest {noun}: none qualifying in the {layer} layer")
        elif noun == "line":
            kv = _number(site.get("nearest_line_kv"))
            phrases.append(f"nearest line: {f'{kv:.0f} kV' if kv is not None else 'unknown voltage'} at {km:.1f} km")
        else:
            name = site.get(f"nearest_{noun}")
            named = isinstance(name, str) and name.strip()
            phrases.append(f"nearest {noun}: {name if named else 'unnamed'} at {km:.1f} km")
    return phrases


def _number(value: Any) -> float | None:
    """A finite float, or None for a missing value."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
