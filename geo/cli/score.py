"""`geo score`: score places the user already has in mind, straight from the layers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from itertools import chain
from pathlib import Path

import click
import geopandas as gpd
import pandas as pd
from rich.console import Console
from rich.table import Table

import geo.api as api
from geo.cli.options import configure_logging, table_output_option
from geo.cli.run import analysis_options, config_from_options
from geo.placescores import EXCLUDED, OUTSIDE, SCORED, score_places_from_layers
from geo.pointquery import PointScorer
from geo.query import iter_places
from geo.scorefile import ScoreFileWriter

console = Console()

#: Places printed when there is no -o, and places read and scored at a time.
PREVIEW_ROWS = 20
CHUNK_ROWS = 100_000
#: Columns of the user's that name a place, shown in the preview.
_LABEL_HINTS = ("id", "name", "label", "site", "place")


@click.command()
@click.option("--points", "points_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="CSV with lon/lat columns, or GeoJSON/GPKG of points or polygons.")
@table_output_option("Write every scored place to a .csv, .geojson or .parquet file.")
@analysis_options
def score(points_path: Path, output: Path | None, config_path: Path | None, preset: str | None,
          states: str | None, resolution: float | None, store: Path, verbose: int, quiet: int) -> None:
    """Score points or polygons: status (scored, excluded, outside), score, every sub-score and raw value.

    Places are read and scored in chunks; with -o all of them are written, and the
    terminal shows the first places and the counts.
    """
    configure_logging(verbose, quiet)
    chunks = iter_places(points_path, chunk_rows=CHUNK_ROWS)
    first = next(chunks)  # reads and checks the file, and the output's format, before the layers load
    writer = ScoreFileWriter(output) if output is not None else None
    config, layer_store = api.resolve(config_from_options(config_path, preset, states, resolution), store)
    scorer = PointScorer.load(config, layer_store)
    counts: Counter[str] = Counter()
    preview: list[pd.DataFrame] = []

    def scored_chunks() -> Iterator[tuple[gpd.GeoDataFrame, pd.DataFrame]]:
        for chunk in chain([first], chunks):
            table = score_places_from_layers(scorer, chunk, first_row=int(chunk.index[0]) + 1)
            counts.update(table["status"])
            if sum(len(p) for p in preview) < PREVIEW_ROWS:
                preview.append(table.head(PREVIEW_ROWS))
            yield chunk, table

    if writer is not None:
        with writer:
            for chunk, table in scored_chunks():
                writer.write(gpd.GeoDataFrame(table, geometry=chunk.geometry.to_numpy(), crs=chunk.crs))
        click.echo(f"wrote {writer.rows:,} places to {output}")
    else:
        for _ in scored_chunks():
            pass
    if quiet == 0:
        head = pd.concat(preview).head(PREVIEW_ROWS)
        _print_preview(head, sum(counts.values()), show_all=output is None)
    _print_summary(counts, scorer, quiet)


def _print_preview(head: pd.DataFrame, total: int, show_all: bool) -> None:
    """The first places: the user's label columns, status, score, and why (the causes, or the weakest criteria)."""
    labels = _label_columns(head)
    shown = f"first {len(head)} of {total:,}" if total > len(head) else f"all {total:,}"
    table = Table(title=f"Scored places ({shown})")
    for column in [*labels, "status", "score", "why"]:
        table.add_column(column, justify="right" if column == "score" else "left")
    for _, row in head.iterrows():
        score = f"{row['score']:.3f}" if row["status"] == SCORED and pd.notna(row["score"]) else "-"
        table.add_row(*[str(row[c]) for c in labels], row["status"], score, _why(row))
    console.print(table)
    if total > len(head) and show_all:
        console.print(f"{total - len(head):,} more places not shown; write them all with -o FILE")


def _why(row: pd.Series) -> str:
    """The exclusion causes of a place, or its two weakest criteria with value and sub-score."""
    if row["status"] != SCORED:
        return row["exclusion_causes"].replace(";", ", ").replace("_", " ")
    subs = {c[: -len("_score")]: row[c] for c in row.index
            if c.endswith("_score") and c != "score" and pd.notna(row[c])}
    weakest = sorted(subs, key=lambda c: subs[c])[:2]
    return "weakest: " + ", ".join(f"{c.replace('_', ' ')} {row[f'{c}_value']:.4g} ({subs[c]:.2f})" for c in weakest)


def _print_summary(counts: Counter[str], scorer: PointScorer, quiet: int) -> None:
    """Counts by status, and the caveats of the layers used (on stderr, so they survive piping)."""
    if quiet > 1:
        return
    click.echo(f"{counts[SCORED]:,} scored, {counts[EXCLUDED]:,} on excluded land (no score), "
               f"{counts[OUTSIDE]:,} outside the states analysed ({', '.join(scorer.config.states)})", err=True)
    if scorer.synthetic:
        click.secho("SYNTHETIC DEMO DATA: these scores are made up and must not be used for decisions",
                    fg="yellow", err=True)
    if scorer.synthetic and all(p.synthetic for p in scorer.provenance.values()):
        return  # every layer's caveat would only say the same
    for layer, caveat in scorer.caveats.items():
        click.echo(f"note {layer}: {caveat}", err=True)


def _label_columns(table: pd.DataFrame) -> list[str]:
    """The user's columns that name or identify a place (at most two), else the input row number."""
    ours = table.columns.get_loc("row")
    users = list(table.columns[:ours])
    named = [c for c in users if any(h in str(c).lower() for h in _LABEL_HINTS)][:2]
    return named or ["row"]
