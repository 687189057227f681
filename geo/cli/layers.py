"""``geo layers``: what the layer store holds, where it came from and how old it is."""

from __future__ import annotations

import json
from datetime import datetime, UTC
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from geo.cli.options import EXIT_NO_DATA, configure_logging, store_option, verbosity
from geo.errors import StoreError
from geo.store import LayerStore


def layer_rows(store: LayerStore, now: datetime | None = None) -> list[dict[str, Any]]:
    """One row per stored layer: source, retrieval time, age, features, licence and caveat."""
    now = now or datetime.now(UTC)
    rows = []
    for name, record in store.provenances().items():
        rows.append(
            {
                "layer": name,
                "source": record.source,
                "url": record.url,
                "retrieved_at": record.retrieved_at.isoformat(),
                "age_days": round(record.age_days(now), 1),
                "features": record.feature_count,
                "license": record.license,
                "caveat": record.caveat,
                "version": store.version(name),
            }
        )
    return rows


@click.command("layers")
@store_option
@click.option("--json", "as_json", is_flag=True, help="Print the table as JSON.")
@verbosity
def layers(store: Path, as_json: bool, verbose: int, quiet: int) -> None:
    """Show each stored layer: source, retrieval time, age, features, licence and caveats."""
    configure_logging(verbose, quiet)
    try:
        rows = layer_rows(LayerStore(store))
    except StoreError as exc:
        raise click.ClickException(str(exc)) from exc
    ctx = click.get_current_context()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        ctx.exit(0 if rows else EXIT_NO_DATA)
    console = Console()
    if not rows:
        console.print(f"The store at {store} holds no layers; run `geo refresh` to fill it.")
        ctx.exit(EXIT_NO_DATA)
    table = Table(title=f"Layers in {store}")
    for column, justify in (
        ("layer", "left"), ("source", "left"), ("retrieved", "left"), ("age (days)", "right"),
        ("features", "right"), ("licence", "left"), ("caveat", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        table.add_row(
            row["layer"], escape(row["source"]), row["retrieved_at"][:16].replace("T", " "),
            f"{row['age_days']:.1f}", f"{row['features']:,}", escape(row["license"]), escape(row["caveat"] or ""),
        )
    console.print(table)
