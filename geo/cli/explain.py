"""`geo explain`: why a site ranks where it does, or why a place is not a site."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from geo.cli.options import EXIT_BAD_INPUT, configure_logging, verbosity
from geo.runmodel import RunRecord
from geo.runs import DEFAULT_RUNS, latest_run, read_run
from geo.query import explain_location, explain_site

console = Console()


@click.command()
@click.argument("site_id", required=False)
@click.option("--lon", type=float, help="Longitude of a place to explain instead of a site.")
@click.option("--lat", type=float, help="Latitude of a place to explain instead of a site.")
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
    site = answer["site"]
    nan = float("nan")
    console.print(f"nearest line: {site.get('nearest_line_kv')} kV at {site.get('nearest_line_km', nan):.1f} km; "
                  f"nearest substation: {site.get('nearest_substation') or 'unnamed'} at "
                  f"{site.get('nearest_substation_km', float('nan')):.1f} km; nearest town: "
                  f"{site.get('nearest_town')} at {site.get('nearest_town_km', float('nan')):.1f} km")
    for layer, caveat in answer["caveats"].items():
        console.print(f"[yellow]note[/] {layer}: {caveat}")
