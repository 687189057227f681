"""``geo refresh``: pull every layer from its public source (or a directory) into the store."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console
from rich.filesize import decimal
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from geo.cli.layers import missing_layers, missing_table
from geo.cli.options import EXIT_BAD_INPUT, EXIT_FETCH_FAILED, configure_logging, parse_states, store_option, verbosity
from geo.errors import ConfigError, LayerSchemaError
from geo.refresh import RefreshOutcome
from geo.refresh import refresh as run_refresh
from geo.sources.registry import ENV_VAR, load_registry
from geo.store import KEEP_VERSIONS, LayerStore

DEFAULT_STATES = ("AZ", "NV", "UT")
_STYLE = {"ok": "green", "failed": "bold red", "skipped": "yellow", "dry-run": "cyan"}


class _LayerBars:
    """One rich progress bar per layer and unit, fed by the refresh progress callback."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[tuple[str, str], TaskID] = {}

    def __call__(self, layer: str, done: int, total: int | None, unit: str) -> None:
        key = (layer, unit)
        if key not in self.tasks:
            self.tasks[key] = self.progress.add_task(f"{layer}", total=total, count="")
        shown = f"{decimal(done)}" if unit == "bytes" else f"{done:,} {unit}"
        if total is not None:
            shown += f" of {decimal(total) if unit == 'bytes' else f'{total:,}'}"
        self.progress.update(self.tasks[key], completed=done, total=total, count=shown)


def summary_table(outcomes: list[RefreshOutcome], *, dry_run: bool) -> Table:
    """The end-of-run table: layer, source, features, time, status (and what went wrong)."""
    table = Table(title="Refresh plan" if dry_run else "Refresh summary")
    table.add_column("layer")
    table.add_column("source")
    if not dry_run:
        table.add_column("features", justify="right")
        table.add_column("time", justify="right")
    table.add_column("status")
    table.add_column("from" if dry_run else "message", overflow="fold")
    for o in outcomes:
        status = f"[{_STYLE.get(o.status, 'white')}]{o.status}[/]"
        if dry_run:
            table.add_row(o.layer, escape(o.source), status, escape(o.message))
        else:
            features = f"{o.features:,}" if o.features is not None else ""
            table.add_row(o.layer, escape(o.source), features, f"{o.seconds:.1f} s", status, escape(o.message))
    return table


@click.command("refresh")
@store_option
@click.option("--layer", "layers", multiple=True, metavar="NAME",
              help="Refresh only this layer (repeatable); by default every layer with a public source.")
@click.option("--states", default=",".join(DEFAULT_STATES), show_default=True, callback=parse_states,
              help="Comma-separated states to cover.")
@click.option("--force", is_flag=True,
              help="Store a new version even if its feature count collapsed against the previous one.")
@click.option("--dry-run", is_flag=True, help="List what would be fetched and from where; fetch nothing.")
@click.option("--from", "from_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Read the publishers' files from this directory instead of the network.")
@click.option("--sources", "sources_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              envvar=ENV_VAR, help=f"YAML file overriding sources' addresses, titles or licences (env {ENV_VAR}).")
@click.option("--keep", type=click.IntRange(min=1), default=KEEP_VERSIONS, show_default=True,
              envvar="GEO_KEEP_VERSIONS", metavar="N",
              help="Versions of each refreshed layer to keep, the current one included (env GEO_KEEP_VERSIONS).")
@verbosity
def refresh_command(
    store: Path,
    layers: tuple[str, ...],
    states: str,
    force: bool,
    dry_run: bool,
    from_dir: Path | None,
    sources_file: Path | None,
    keep: int,
    verbose: int,
    quiet: int,
) -> None:
    """Pull layers from their public services, validate them and swap them into the store.

    A layer that fails keeps its previous version; running the same command again
    resumes: layers already stored are skipped and completed downloads are reused.
    """
    configure_logging(verbose, quiet)
    codes = tuple(states.split(","))
    console = Console()
    try:
        registry = load_registry(sources_file)
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
            TextColumn("{task.fields[count]}"), TimeElapsedColumn(),
            console=Console(stderr=True), transient=False, disable=dry_run or quiet > 0,
        ) as bars:
            outcomes = run_refresh(
                LayerStore(store, keep_versions=keep), layers=list(layers) or None, states=codes, force=force,
                dry_run=dry_run, from_dir=from_dir, registry=registry, progress=_LayerBars(bars),
            )
    except (ConfigError, LayerSchemaError) as exc:  # a bad --states, --layer or sources file
        click.secho(f"error: {exc}", fg="red", err=True)
        raise SystemExit(EXIT_BAD_INPUT) from exc
    console.print(summary_table(outcomes, dry_run=dry_run))
    missing = [] if dry_run else missing_layers(LayerStore(store).layers())
    if missing:
        console.print(missing_table(missing))
    failed = [o.layer for o in outcomes if o.status == "failed"]
    if failed:
        console.print(f"[bold red]{len(failed)} layer(s) failed[/] ({', '.join(failed)}); "
                      "their previous versions were kept. Run the same command again to resume.")
        raise SystemExit(EXIT_FETCH_FAILED)
