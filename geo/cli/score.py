"""`geo score`: score places the user already has in mind."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd
from rich.console import Console
from rich.table import Table

import geo.api as api
from geo.cli.options import configure_logging, table_output_option
from geo.cli.run import analysis_options, config_from_options
from geo.outputs import write_sites_file
from geo.query import read_places

console = Console()


@click.command()
@click.option("--points", "points_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV with lon/lat columns, or GeoJSON/GPKG of points or polygons.")
@table_output_option("Write the scores to a .csv, .geojson or .parquet file.")
@analysis_options
def score(points_path: Path, output: Path | None, config_path: Path | None, preset: str | None,
          states: str | None, resolution: float | None, store: Path, verbose: int, quiet: int) -> None:
    """Score points or polygons: score, every sub-score and raw value, and any exclusion that applies."""
    configure_logging(verbose, quiet)
    places = read_places(points_path)
    config = config_from_options(config_path, preset, states, resolution)
    scores = api.score_points(places, config, store)
    if output is not None:
        import geopandas as gpd

        frame = gpd.GeoDataFrame(scores, geometry=places.geometry.reset_index(drop=True), crs=places.crs)
        write_sites_file(frame, output)
        click.echo(f"wrote {len(scores)} scored places to {output}")
    if quiet == 0:
        _print(scores)


def _print(scores: pd.DataFrame) -> None:
    criteria = [c[: -len("_score")] for c in scores.columns if c.endswith("_score") and c != "score"]
    table = Table(title="Scored places")
    for column in ["row", "score", "excluded because", *criteria]:
        table.add_column(column)
    for _, row in scores.iterrows():
        cells = [str(row["row"]), "" if pd.isna(row["score"]) else f"{row['score']:.3f}", row["exclusions"] or "-"]
        cells += [_cell(row.get(f"{c}_value"), row.get(f"{c}_score")) for c in criteria]
        table.add_row(*cells)
    console.print(table)


def _cell(value: float, sub: float) -> str:
    if pd.isna(value):
        return "unknown"
    return f"{value:.1f} ({sub:.2f})"
