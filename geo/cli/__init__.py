"""The ``geo`` command line: one click group, one module per subcommand."""

from __future__ import annotations

import sys

import click

from geo import __version__
from geo.cli.options import EXIT_BAD_INPUT, EXIT_FETCH_FAILED, EXIT_NO_DATA
from geo.errors import (
    ConfigError, FetchError, GeoError, InputError, LayerNotFoundError, LayerSchemaError, LocalWriteError,
)

#: A local write failed: a read-only store or a full disk (not a public source).
EXIT_LOCAL_WRITE = 6


class GeoGroup(click.Group):
    """A group that turns the package's errors into a message and a meaningful exit code."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (ConfigError, InputError, LayerSchemaError) as exc:
            _fail(exc, EXIT_BAD_INPUT)
        except LayerNotFoundError as exc:
            _fail(exc, EXIT_NO_DATA)
        except FetchError as exc:
            _fail(exc, EXIT_FETCH_FAILED)
        except LocalWriteError as exc:
            _fail(exc, EXIT_LOCAL_WRITE)
        except GeoError as exc:
            _fail(exc, 1)


def _fail(exc: Exception, code: int) -> None:
    click.secho(f"error: {exc}", fg="red", err=True)
    sys.exit(code)


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
