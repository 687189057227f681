"""`geo report`: a one-page HTML and Markdown report of a run."""

from __future__ import annotations

from pathlib import Path

import click

from geo.cli.map import load_result, run_option, runs_dir_option
from geo.cli.options import configure_logging
from geo.cli.run import analysis_options
from geo.report import write_report


@click.command("report")
@analysis_options
@run_option
@runs_dir_option
@click.option("-o", "--output", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Folder to write into (default: the run folder, or reports/<run id> for a fresh ranking).")
@click.pass_context
def report_command(ctx: click.Context, config_path: Path | None, preset: str | None, states: str | None,
                   resolution: float | None, store: Path, verbose: int, quiet: int, run_dir: Path | None,
                   runs_dir: Path, folder: Path | None) -> None:
    """Write report.html and report.md: overview map, top sites, breakdowns, configuration, provenance."""
    configure_logging(verbose, quiet)
    result = load_result(ctx, run_dir, runs_dir, config_path, preset, states, resolution, store, quiet)
    path = write_report(result, folder)
    click.echo(f"report: {path}")
