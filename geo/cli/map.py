"""`geo map`: the interactive map of a run, and the choice of run that `geo map` and `geo report` share."""

from __future__ import annotations

import logging
from pathlib import Path

import click

import geo.api as api
from geo.cli.options import configure_logging
from geo.cli.progress import step_progress
from geo.cli.run import analysis_options, config_from_options
from geo.maps import write_map
from geo.runs import DEFAULT_RUNS, RUN_RECORD, latest_run, result_from_run

log = logging.getLogger(__name__)


def load_result(ctx: click.Context, run_dir: Path | None, runs_dir: Path, config_path: Path | None,
                preset: str | None, states: str | None, resolution: float | None, store: Path,
                quiet: int) -> api.RunResult:
    """The run a command shows: ``--run``, else a fresh ranking when analysis options are given, else the latest run.

    With no run in ``runs_dir`` yet, the analysis is run afresh (without writing a run folder).
    """
    fresh_options = (config_path, preset, states, resolution)
    store_given = ctx.get_parameter_source("store") not in (click.core.ParameterSource.DEFAULT, None)
    if run_dir is not None and (any(o is not None for o in fresh_options) or store_given):
        raise click.UsageError("--run maps a finished run; it cannot be combined with analysis options")
    if run_dir is None and not any(o is not None for o in fresh_options) and not store_given \
            and (runs_dir / "LATEST").is_file():
        run_dir = latest_run(runs_dir)
    if run_dir is not None:
        if not (run_dir / RUN_RECORD).is_file():
            raise click.BadParameter(f"{run_dir} holds no {RUN_RECORD}; is it a run folder?", param_hint="--run")
        with step_progress(8, enabled=quiet == 0) as on_step:
            return result_from_run(run_dir, on_step)
    config = config_from_options(config_path, preset, states, resolution)
    with step_progress(len(config.criteria) + 6, enabled=quiet == 0) as on_step:
        return api.run(config, store, runs_dir=None, on_step=on_step)


run_option = click.option(
    "--run", "run_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Run folder to show (default: the latest run, or a fresh ranking when analysis options are given).")
runs_dir_option = click.option(
    "--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=DEFAULT_RUNS, show_default=True,
    help="Where run folders are found.")


@click.command("map")
@analysis_options
@run_option
@runs_dir_option
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="HTML file to write (default: maps/<run id>.html and maps/latest.html).")
@click.pass_context
def map_command(ctx: click.Context, config_path: Path | None, preset: str | None, states: str | None,
                resolution: float | None, store: Path, verbose: int, quiet: int, run_dir: Path | None,
                runs_dir: Path, output: Path | None) -> None:
    """Write an interactive map of the ranked sites that also works with no network."""
    configure_logging(verbose, quiet)
    result = load_result(ctx, run_dir, runs_dir, config_path, preset, states, resolution, store, quiet)
    path = write_map(result, output)
    click.echo(f"map: {path} ({path.stat().st_size / 1e6:.1f} MB, {len(result.sites)} sites)")
