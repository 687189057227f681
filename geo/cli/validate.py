"""`geo validate`: check the model against places the user knows."""

from __future__ import annotations

import json
from pathlib import Path

import click
from rich.console import Console

from geo.atomic import atomic_write_text
from geo.cli.options import configure_logging
from geo.cli.run import analysis_options, config_from_options
from geo.validation import validate as validate_places

console = Console()

OUTPUT_SUFFIXES = (".json", ".csv")


@click.command("validate")
@click.option("--points", "points_path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Labelled places: CSV with lon/lat columns, or GeoJSON/GPKG of points or polygons.")
@click.option("--label-column", default="known_good", show_default=True,
              help="Column saying whether a place is known good: 1/0, true/false or yes/no.")
@click.option("--bootstrap", "n_boot", type=click.IntRange(min=100), default=2000, show_default=True,
              help="Bootstrap resamples of the AUC interval.")
@click.option("--level", type=click.FloatRange(min=0, max=1, min_open=True, max_open=True), default=0.95,
              show_default=True, help="Confidence level of the AUC interval.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the bootstrap.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the measures and scored places (.json) or the scored places (.csv).")
@analysis_options
def validate(points_path: Path, label_column: str, n_boot: int, level: float, seed: int, output: Path | None,
             config_path: Path | None, preset: str | None, states: str | None, resolution: float | None,
             store: Path, verbose: int, quiet: int) -> None:
    """Measure how well scores separate labelled places: ROC AUC with a bootstrap interval, and
    the median rank percentile of the known-good places among all eligible cells."""
    configure_logging(verbose, quiet)
    if output is not None and output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise click.BadParameter(f"{output}: use one of {', '.join(OUTPUT_SUFFIXES)}", param_hint="--output")
    config = config_from_options(config_path, preset, states, resolution)
    result = validate_places(points_path, label_column, config, store, n_boot=n_boot, level=level, seed=seed)
    if quiet == 0:
        console.print(f"places: {result.positives} known good, {result.negatives} others"
                      + (f", {result.dropped} outside the analysis grid (left out)" if result.dropped else ""))
        console.print(f"ROC AUC: [bold]{result.auc:.3f}[/] ({result.level:.0%} interval "
                      f"{result.auc_low:.3f}-{result.auc_high:.3f}, {n_boot} bootstrap resamples)")
        console.print(f"median rank percentile of the known-good places among eligible cells: "
                      f"[bold]{result.median_rank_percentile:.1f}[/]")
        console.print("[dim]AUC 0.5 = no better than chance, 1.0 = every known-good place scores above every other; "
                      "places on excluded land count as scoring lowest.[/]")
    if output is not None:
        if output.suffix.lower() == ".json":
            places = json.loads(result.places.to_json(orient="records"))
            atomic_write_text(output, json.dumps({**result.to_dict(), "places": places}, indent=2))
        else:
            atomic_write_text(output, result.places.to_csv(index=False))
        click.echo(f"wrote the validation to {output}")
