"""``geo layers``: what the layer store holds, where it came from, how old it is, and what is missing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from geo.cli.options import EXIT_NO_DATA, configure_logging, store_option, verbosity
from geo.errors import StoreError
from geo.schema import SCHEMAS
from geo.store import LayerStore

_COLUMNS = (
    ("layer", "layer"), ("source", "source"), ("vintage", "data vintage"), ("retrieved_at", "retrieved"),
    ("age_days", "age (days)"), ("features", "features"), ("license", "licence"), ("caveat", "caveat"),
)


def layer_rows(store: LayerStore, now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per stored layer: source, data vintage, retrieval time, age, features, licence and caveat.

    Parameters
    ----------
    store
        The layer store.
    now
        The time ages are measured from; the current time by default.

    Returns
    -------
    list of dict
        One row per stored layer, in the store's order.
    """
    now = now or datetime.now(UTC)
    rows = []
    for name, record in store.provenances().items():
        rows.append(
            {
                "layer": name,
                "source": record.source,
                "url": record.url,
                "vintage": record.vintage,
                "retrieved_at": record.retrieved_at.isoformat(),
                "age_days": round(record.age_days(now), 1),
                "features": record.feature_count,
                "license": record.license,
                "caveat": record.caveat,
                "version": store.version(name),
            }
        )
    return rows


def missing_layers(present: list[str]) -> list[dict[str, str]]:
    """The canonical layers not in ``present``, each with what the analysis does without it.

    Parameters
    ----------
    present
        Names of the layers the store holds.

    Returns
    -------
    list of dict
        ``{"layer": name, "without": what happens}``, in schema order.
    """
    return [{"layer": name, "without": schema.without} for name, schema in SCHEMAS.items() if name not in present]


def _cell(row: dict[str, Any], key: str) -> str:
    value = row[key]
    if key == "retrieved_at":
        return str(value)[:16].replace("T", " ")
    if key == "age_days":
        return f"{value:.1f}"
    if key == "features":
        return f"{value:,}"
    return "" if value is None else str(value)


def _plain(rows: list[dict[str, Any]], missing: list[dict[str, str]]) -> str:
    """Tab-separated full text, for a pipe or a file: nothing is cut."""
    lines = ["\t".join(title for _, title in _COLUMNS)]
    lines += ["\t".join(_cell(row, key) for key, _ in _COLUMNS) for row in rows]
    if missing:
        lines += ["", "missing layer\twhat the analysis does without it"]
        lines += [f"{m['layer']}\t{m['without']}" for m in missing]
    return "\n".join(lines)


def missing_table(missing: list[dict[str, str]]) -> Table:
    """A table of the missing layers and what the analysis does without each."""
    table = Table(title="Missing layers")
    table.add_column("layer")
    table.add_column("what the analysis does without it", overflow="fold")
    for m in missing:
        table.add_row(m["layer"], escape(m["without"]))
    return table


@click.command("layers")
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print the stored layers as JSON.")
@verbosity
def layers(store: Path, as_json: bool, verbose: int, quiet: int) -> None:
    """Show each stored layer (source, data vintage, retrieval time, age, features, licence, caveats)
    and the layers that are missing, with what the analysis does without them.

    On a terminal the table is fitted to its width; piped or redirected, the full text is
    printed as tab-separated lines.
    """
    configure_logging(verbose, quiet)
    try:
        rows = layer_rows(LayerStore(store))
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    missing = missing_layers([row["layer"] for row in rows])
    ctx = click.get_current_context()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        ctx.exit(0 if rows else EXIT_NO_DATA)
    console = Console()
    if not rows:
        click.echo(f"The store at {store} holds no layers; run `geo refresh` to fill it.")
        ctx.exit(EXIT_NO_DATA)
    if not console.is_terminal:
        click.echo(_plain(rows, missing))
        return
    table = Table(title=f"Layers in {store}")
    for key, title in _COLUMNS:
        table.add_column(title, justify="right" if key in ("age_days", "features") else "left")
    for row in rows:
        table.add_row(*(escape(_cell(row, key)) for key, _ in _COLUMNS))
    console.print(table)
    if missing:
        console.print(missing_table(missing))
