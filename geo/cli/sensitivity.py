"""`geo sensitivity`: does the ranking hold when the weights change?"""

from __future__ import annotations

import json
from pathlib import Path

import click
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

import geo.api as api
from geo.atomic import atomic_write_text
from geo.cli.options import configure_logging, workers_option
from geo.cli.progress import err_console, step_progress
from geo.cli.run import analysis_options, config_from_options
from geo.outputs import write_sites_file
from geo.sensitivity import METHODS, NOT_SENSITIVE, SensitivityResult
from geo.sensitivity import sensitivity as measure_sensitivity

console = Console()

OUTPUT_SUFFIXES = (".csv", ".geojson", ".parquet", ".json")


@click.command("sensitivity")
@analysis_options
@click.option("--draws", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Monte Carlo draws of the weights.")
@click.option("--concentration", type=click.FloatRange(min=0, min_open=True), default=100.0, show_default=True,
              help="Dirichlet concentration around the configured weights (larger = closer).")
@click.option("--top-n", type=click.IntRange(min=1), default=10, show_default=True,
              help="Size of the list whose membership is measured.")
@click.option("--sweep", type=click.FloatRange(min=0, max=1, min_open=True), default=0.5, show_default=True,
              help="One-at-a-time sweep of each weight from -SWEEP to +SWEEP (0.5 = -50 % to +50 %).")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed of the draws.")
@click.option("--method", type=click.Choice(list(METHODS)), default="search", show_default=True,
              help="search: find sites again under every draw (thorough); rerank: re-rank this run's sites from "
                   "their cells' sub-scores (fast, what `geo run` uses).")
@workers_option
@click.option("--scheduler", envvar="GEO_DASK_SCHEDULER",
              help="Spread the search draws over Dask: 'local' starts a cluster of --workers processes here, "
                   "an address (tcp://host:8786) uses a running one (env GEO_DASK_SCHEDULER).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the site table with robustness columns (.csv, .geojson, .parquet) or everything (.json).")
def sensitivity(config_path: Path | None, preset: str | None, states: str | None, resolution: float | None,
                store: Path, verbose: int, quiet: int, draws: int, concentration: float, top_n: int, sweep: float,
                seed: int, method: str, workers: int, scheduler: str | None, output: Path | None) -> None:
    """Measure how robust the ranking is to the weights.

    Draws weights around the configured ones (Dirichlet), sweeps each weight one at a
    time and leaves each criterion out; for every site prints the share of draws in
    which it stays in the top N, its median rank and 90 % rank interval, and the
    criterion its rank is most sensitive to. By default every draw searches for sites
    again; `--method rerank` re-ranks this run's sites instead, as `geo run` does.
    """
    configure_logging(verbose, quiet)
    if output is not None and output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise click.BadParameter(f"{output}: use one of {', '.join(OUTPUT_SUFFIXES)}", param_hint="--output")
    config = config_from_options(config_path, preset, states, resolution)
    with step_progress(len(config.criteria) + 6, enabled=quiet == 0) as on_step:
        result = api.run(config, store, runs_dir=None, on_step=on_step)
    columns = (TextColumn("weight draws"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True, disable=quiet > 0) as progress:
        task = progress.add_task("draws", total=draws)
        outcome = measure_sensitivity(result, draws=draws, concentration=concentration, top_n=top_n, sweep=sweep,
                                      seed=seed, workers=workers, method=method,  # type: ignore[arg-type]
                                      scheduler=scheduler or None,
                                      on_draw=lambda done, _total: progress.update(task, completed=done))
    if quiet == 0:
        print_sensitivity(result, outcome)
    if output is not None:
        write_sensitivity(outcome, output)
        click.echo(f"wrote {len(outcome.sites)} sites to {output}")


def print_sensitivity(result: api.RunResult, outcome: SensitivityResult) -> None:
    """The top sites with their robustness, and how many of the top N each variant keeps."""
    settings = outcome.settings
    top_n = settings["top_n"]
    if result.synthetic:
        console.print("[bold yellow]SYNTHETIC DEMO DATA[/]: these sites are made up to show how the tool works.")
    sites = outcome.sites
    table = Table(title=f"Robustness of the top {min(top_n, len(sites))} of {len(sites)} sites "
                        f"({settings['draws']} weight draws, concentration {settings['concentration']:g})")
    for column in ("rank", "site", "score", f"in top {top_n}", "median rank", "90% interval", "most sensitive to"):
        table.add_column(column, justify="left" if column in ("site", "most sensitive to") else "right")
    for _, site in sites.head(top_n).iterrows():
        table.add_row(
            str(site["rank"]), site["site_id"], f"{site['score']:.3f}", f"{site['top_n_share']:.0%}",
            _rank(site["rank_median"]), f"{_rank(site['rank_p05'])}-{_rank(site['rank_p95'])}",
            (f"{site['most_sensitive_to']} (±{site['sweep_rank_shift']:.0f})"
             if site["most_sensitive_to"] != NOT_SENSITIVE else "none: rank holds"),
        )
    console.print(table)
    summary = outcome.summary()
    size = min(top_n, len(sites))
    variants = Table(title=f"Sites of the top {size} still in it when one weight changes")
    for column in summary.columns:
        variants.add_column(column, justify="left" if column == "criterion" else "right")
    for _, row in summary.iterrows():
        cells = ["-" if pd.isna(v) else f"{int(v)}/{size}" for v in row.iloc[2:]]
        variants.add_row(row["criterion"], f"{row['weight']:.2f}", *cells)
    console.print(variants)
    timings = settings["timings"]
    console.print(f"[dim]method {settings['method']}: {settings['method_text']}.[/]")
    console.print(f"[dim]{settings['draws']} draws in {timings['draws_s']:.1f} s "
                  f"({timings['per_draw_s'] * 1000:.0f} ms each); "
                  f"sweeps and leave-one-out {timings['sweeps_s']:.1f} s. "
                  "A rank of '-' means not a site at that quantile of the draws.[/]")


def _rank(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:.0f}"


def write_sensitivity(outcome: SensitivityResult, path: Path) -> None:
    """Write the site table with robustness columns, or (for .json) every measure, atomically."""
    if path.suffix.lower() == ".json":
        atomic_write_text(path, json.dumps(outcome.to_dict(), indent=2))
    else:
        write_sites_file(outcome.sites, path)
