"""`geo run` (the main job) and `geo rank`."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

import geo.api as api
import geo.cluster as cluster
from geo.cli.options import (
    F,
    config_option,
    configure_logging,
    preset_option,
    resolution_option,
    states_option,
    store_or_demo_option,
    table_output_option,
    top_option,
    verbosity,
    workers_option,
)
from geo.cli.progress import err_console, step_progress
from geo.config import Config, load_config
from geo.report import REPORT_HTML
from geo.runs import publish_map

console = Console(width=max(Console().width, 130))


def config_from_options(config_path: Path | None, preset: str | None, states: str | None,
                        resolution: float | None) -> Config:
    """The configuration named by the shared options, with command-line overrides applied last."""
    overrides: dict[str, object] = {}
    if states:
        overrides["states"] = [s.strip().upper() for s in states.split(",") if s.strip()]
    if resolution:
        overrides["resolution_m"] = resolution
    return load_config(config_path, preset=preset, overrides=overrides)


def analysis_options(func: F) -> F:
    """Options every ranking command takes."""
    for option in reversed((
        config_option, preset_option, states_option, resolution_option, store_or_demo_option, verbosity,
    )):
        func = option(func)
    return func


def engine_options(func: F) -> F:
    """Options choosing the in-memory or the chunked (Dask) path."""
    for option in reversed((
        click.option("--engine", type=click.Choice(cluster.ENGINES), default="auto", show_default=True,
                     help="memory: the whole grid in memory; dask: in tiles on a Dask cluster; auto: dask when "
                          f"the in-memory estimate exceeds {cluster.MEMORY_SHARE:.0%} of available memory."),
        click.option("--tile-size", type=click.IntRange(min=1), default=None,
                     help="Tile edge in cells for the dask engine (default 4096; larger than the grid: one tile)."),
        click.option("--scheduler", envvar=cluster.SCHEDULER_ENV,
                     help=f"Address of an existing Dask scheduler (env {cluster.SCHEDULER_ENV}); "
                          "default: a local cluster."),
    )):
        func = option(func)
    return func


def _note(line: str) -> None:
    err_console.print(f"[dim]{line}[/]")


def print_sites(result: api.RunResult, top: int) -> None:
    """The top sites as a table, with a banner when the layers are synthetic or proxies."""
    sites = result.sites
    if result.synthetic:
        console.print("[bold yellow]SYNTHETIC DEMO DATA[/]: these sites are made up to show how the tool works.")
    for layer, caveat in result.record.caveats.items():
        if not result.synthetic:
            console.print(f"[yellow]note[/] {layer}: {caveat}")
    for line in result.record.skipped:
        console.print(f"[dim]skipped: {line}[/]")
    for line in result.record.warnings:
        console.print(f"[yellow]warning[/] {line}")
    robust = "top_n_share" in sites.columns
    table = Table(title=f"Top {min(top, len(sites))} of {len(sites)} candidate sites ({result.analysis.config.name})")
    columns = [("rank", True), ("site", False), ("score", True), ("acres", True), ("state", False),
               ("agency", False), ("county", False), ("line kV", True), ("line km", True), ("town", False)]
    if robust:
        top_n = result.record.robustness.top_n if result.record.robustness else result.analysis.config.sites.top_n
        columns += [(f"in top {top_n}", True), ("rank 90%", True)]
    for column, right in columns:
        table.add_column(column, justify="right" if right else "left", no_wrap=True,
                         max_width=16 if column in ("county", "town") else None)
    for _, site in sites.head(top).iterrows():
        row = [
            str(site["rank"]), site["site_id"], f"{site['score']:.3f}", f"{site['area_acres']:,.0f}",
            str(site["state"]), str(site["agency"]), str(site["county"] or ""),
            _fmt(site["nearest_line_kv"], "{:.0f}"), _fmt(site["nearest_line_km"], "{:.1f}"),
            str(site["nearest_town"] or ""),
        ]
        if robust:
            row += [_fmt(site["top_n_share"], "{:.0%}"),
                    f"{_fmt(site['rank_p05'], '{:.0f}')}-{_fmt(site['rank_p95'], '{:.0f}') or 'out'}"]
        table.add_row(*row)
    console.print(table)
    console.print(f"terrain: {result.analysis.terrain}")


def print_states(result: api.RunResult, per_state: int) -> None:
    """Per state: how many sites, its best ``per_state`` sites, or why it has none."""
    summary = result.record.states
    counts = ", ".join(f"{code} {entry.sites}" for code, entry in summary.items())
    console.print(f"sites per state: {counts}")
    for code, entry in summary.items():
        if entry.sites == 0:
            console.print(f"[yellow]{code}[/]: {entry.why}")
            continue
        if per_state <= 0:
            continue
        best = result.sites[result.sites["state"] == code].head(per_state)
        listed = "; ".join(f"#{r.rank} {r.site_id} {r.score:.3f} ({r.county}, {r.agency})" for r in best.itertuples())
        console.print(f"best in {code}: {listed}")


def _fmt(value: float, pattern: str) -> str:
    return "" if value is None or value != value else pattern.format(value)


@click.command()
@analysis_options
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=api.DEFAULT_RUNS,
              show_default=True, help="Where run folders are written.")
@top_option(10)
@click.option("--per-state", type=click.IntRange(min=0), default=3, show_default=True,
              help="Also print the best N sites of each state (0: only the counts).")
@click.option("--robustness-draws", type=click.IntRange(min=0), default=100, show_default=True,
              help="Weight draws behind each site's top-N share and rank interval (0: skip; "
                   "`geo sensitivity` runs the full analysis).")
@workers_option
@engine_options
def run(config_path: Path | None, preset: str | None, states: str | None, resolution: float | None,
        store: Path, verbose: int, quiet: int, runs_dir: Path, top: int, per_state: int, robustness_draws: int,
        workers: int, engine: cluster.Engine, tile_size: int | None, scheduler: str | None) -> None:
    """Rank candidate sites, write the site table, run record, map and report, and print the top sites."""
    configure_logging(verbose, quiet)
    config = config_from_options(config_path, preset, states, resolution)
    with step_progress(len(config.criteria) + 10, enabled=quiet == 0) as on_step:
        result = cluster.run(config, store, engine=engine, tile_size=tile_size, scheduler=scheduler,
                             runs_dir=runs_dir, robustness_draws=robustness_draws, workers=workers,
                             documents=True, on_step=on_step, on_note=_note if quiet == 0 else None)
    map_path = publish_map(result)
    if quiet == 0:
        print_sites(result, top)
        print_states(result, per_state)
    click.echo(f"outputs: {result.output_dir}")
    click.echo(f"map:     {map_path}")
    click.echo(f"report:  {result.output_dir / REPORT_HTML if result.output_dir else ''}")


@click.command()
@analysis_options
@top_option(25)
@table_output_option("Also write the full table: .csv, .geojson or .parquet.")
@workers_option
@engine_options
def rank(config_path: Path | None, preset: str | None, states: str | None, resolution: float | None,
         store: Path, verbose: int, quiet: int, top: int, output: Path | None, workers: int, engine: cluster.Engine,
         tile_size: int | None, scheduler: str | None) -> None:
    """Rank candidate sites and print them, without writing a run folder."""
    configure_logging(verbose, quiet)
    config = config_from_options(config_path, preset, states, resolution)
    with step_progress(len(config.criteria) + 6, enabled=quiet == 0) as on_step:
        result = cluster.run(config, store, engine=engine, tile_size=tile_size, scheduler=scheduler, runs_dir=None,
                             workers=workers, on_step=on_step, on_note=_note if quiet == 0 else None)
    print_sites(result, top)
    if output is not None:
        api.write_sites(result.sites, output)
        click.echo(f"wrote {len(result.sites)} sites to {output}")
