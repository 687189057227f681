"""`geo compare`: rank two or more park types (presets or configuration files) over the same layers."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pandas as pd
from rich.console import Console
from rich.table import Table

from geo.atomic import atomic_write_text
from geo.cli.options import configure_logging, resolution_option, states_option, store_or_demo_option, verbosity
from geo.cli.progress import step_progress
from geo.config import PRESETS, Config, load_config
from geo.scenarios import ComparisonResult, rank_column
from geo.scenarios import compare as compare_scenarios

console = Console()

OUTPUT_SUFFIXES = (".json", ".csv")


def scenario_config(spec: str, states: str | None, resolution: float | None) -> Config:
    """The configuration a command-line scenario names: a configuration file, or else a preset."""
    overrides: dict[str, object] = {}
    if states:
        overrides["states"] = [s.strip().upper() for s in states.split(",") if s.strip()]
    if resolution:
        overrides["resolution_m"] = resolution
    path = Path(spec)
    if path.is_file():
        return load_config(path, overrides=overrides)
    if spec in PRESETS:
        return load_config(preset=spec, overrides=overrides)
    raise click.BadParameter(f"{spec!r} is neither a configuration file nor a preset ({', '.join(PRESETS)})",
                             param_hint="PRESET_OR_FILE")


@click.command("compare")
@click.argument("scenarios", nargs=-1, required=True, metavar="PRESET_OR_FILE...")
@click.option("--top-n", type=click.IntRange(min=1), default=10, show_default=True,
              help="Size of the lists compared.")
@states_option
@resolution_option
@store_or_demo_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the comparison: .json (statistics and top sites) or .csv (every site of every scenario).")
@click.option("--map", "map_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write an HTML map with each scenario as a layer of its own.")
@verbosity
def compare(scenarios: tuple[str, ...], top_n: int, states: str | None, resolution: float | None, store: Path | None,
            output: Path | None, map_path: Path | None, verbose: int, quiet: int) -> None:
    """Compare the rankings of two or more presets or configuration files over the same layers.

    Reports how many sites their top N share, the rank correlation (Kendall, Spearman)
    of the sites found in both, and the sites that appear in only one top N.
    """
    configure_logging(verbose, quiet)
    if len(scenarios) < 2:
        raise click.UsageError("give at least two presets or configuration files to compare")
    if output is not None and output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise click.BadParameter(f"{output}: use one of {', '.join(OUTPUT_SUFFIXES)}", param_hint="--output")
    configs = [scenario_config(spec, states, resolution) for spec in scenarios]
    with step_progress(len(configs), enabled=quiet == 0) as on_step:
        comparison = compare_scenarios(configs, store, top_n=top_n,
                                       on_scenario=lambda name: on_step(f"scenario {name}"))
    if quiet == 0:
        print_comparison(comparison)
    if output is not None:
        write_comparison(comparison, output)
        click.echo(f"wrote the comparison to {output}")
    if map_path is not None:
        from geo.maps import write_map

        first, *others = comparison.names
        written = write_map(comparison.results[first], map_path,
                            scenarios={name: comparison.sites[name] for name in others})
        click.echo(f"wrote the map to {written}")


def print_comparison(comparison: ComparisonResult) -> None:
    """Pairwise agreement, each scenario's top sites with their ranks elsewhere, and sites only in one."""
    if any(r.synthetic for r in comparison.results.values()):
        console.print("[bold yellow]SYNTHETIC DEMO DATA[/]: these sites are made up to show how the tool works.")
    n = comparison.top_n
    pairs = Table(title=f"Agreement between scenarios (top {n})")
    for column in ("scenario A", "scenario B", f"shared in top {n}", "Jaccard", "sites in both", "Kendall tau",
                   "Spearman rho"):
        pairs.add_column(column, justify="left" if column.startswith("scenario") else "right")
    for _, row in comparison.pairs.iterrows():
        shared = f"{row['top_n_shared']}/{min(row['top_n_a'], row['top_n_b'])}"
        pairs.add_row(row["scenario_a"], row["scenario_b"], shared,
                      _num(row["jaccard"]), str(row["matched"]), _num(row["kendall_tau"]), _num(row["spearman_rho"]))
    console.print(pairs)
    names = comparison.names
    for name in names:
        table = Table(title=f"Top {n}: {name}")
        table.add_column("rank", justify="right")
        table.add_column("site")
        table.add_column("score", justify="right")
        for other in names:
            if other != name:
                table.add_column(f"rank in {other}", justify="right")
        for _, site in comparison.sites[name].head(n).iterrows():
            ranks = ["-" if pd.isna(site[rank_column(o)]) else f"{site[rank_column(o)]:.0f}"
                     for o in names if o != name]
            table.add_row(str(site["rank"]), site["site_id"], f"{site['score']:.3f}", *ranks)
        console.print(table)
    for name, only in comparison.only_in.items():
        console.print(f"only in the top {n} of {name}: {', '.join(only) if only else 'none'}")
    console.print("[dim]'-' = no site there is the same land (sites are the same land when they overlap "
                  "by at least half of the smaller).[/]")


def _num(value: float) -> str:
    return "-" if pd.isna(value) else f"{value:.2f}"


def write_comparison(comparison: ComparisonResult, path: Path) -> None:
    """Write the comparison as JSON (statistics and top sites) or CSV (every site of every scenario), atomically."""
    if path.suffix.lower() == ".json":
        text = json.dumps(comparison.to_dict(), indent=2)
    else:
        text = comparison.table().to_csv(index=False)
    atomic_write_text(path, text)
