"""The ``geo`` command line: one click group, one module per subcommand."""

from __future__ import annotations

import sys

import click

from geo import __version__
from geo.cli.options import EXIT_BAD_INPUT, EXIT_CLUSTER, EXIT_FETCH_FAILED, EXIT_NO_DATA, EXIT_STORE
from geo.errors import (
    ClusterError,
    ConfigError,
    FetchError,
    GeoError,
    InputError,
    LayerNotFoundError,
    LayerSchemaError,
    StoreError,
    WriteError,
)

#: The exit code of each error a user can cause, as the README documents them; a subclass
#: takes the code of its nearest listed ancestor.
EXIT_CODES: dict[type[GeoError], int] = {
    ConfigError: EXIT_BAD_INPUT,
    InputError: EXIT_BAD_INPUT,
    LayerSchemaError: EXIT_BAD_INPUT,
    LayerNotFoundError: EXIT_NO_DATA,
    FetchError: EXIT_FETCH_FAILED,
    StoreError: EXIT_STORE,
    WriteError: EXIT_STORE,
    ClusterError: EXIT_CLUSTER,
}


def exit_code(error: GeoError) -> int:
    """The documented exit code of ``error`` (1, "unexpected", only for an error class nobody mapped).

    Parameters
    ----------
    error
        An error raised by the package.

    Returns
    -------
    int
        The exit code of the first class in the error's method resolution order that has one.
    """
    return next((EXIT_CODES[cls] for cls in type(error).__mro__ if cls in EXIT_CODES), 1)


class GeoGroup(click.Group):
    """A group that turns the package's errors into a message and their documented exit code.

    Any other exception is a bug and keeps its traceback.
    """

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except GeoError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(exit_code(exc))


@click.group(cls=GeoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="geo")
def cli() -> None:
    """Rank candidate sites for AI-infrastructure industrial parks on federal land in AZ, NV and UT.

    Start with `geo run`: with no layers in the store it ranks the synthetic demo region;
    `geo refresh` fills the store from the public services (or `--from DIR` of downloaded files).
    """


def _register() -> None:
    from geo.cli.compare import compare
    from geo.cli.explain import explain
    from geo.cli.layers import layers as layers_command
    from geo.cli.map import map_command
    from geo.cli.refresh import refresh_command
    from geo.cli.report import report_command
    from geo.cli.run import rank, run
    from geo.cli.score import score
    from geo.cli.sensitivity import sensitivity
    from geo.cli.validate import validate

    commands = (run, rank, score, explain, refresh_command, layers_command, map_command, report_command,
                sensitivity, compare, validate)
    for command in commands:
        cli.add_command(command)


_register()


def main() -> None:
    """Entry point of the ``geo`` console script."""
    cli(prog_name="geo")
