"""``tagwise sources export | publish``: lay the ingested sources out for another engine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tagwise.cli import output
from tagwise.cli.options import JsonOption, workspace_of
from tagwise.results import ExportResult

__all__ = ["register"]

sources_app = typer.Typer(
    help="Lay the ingested sources out for the spark or postgres engine.", no_args_is_help=True
)


@sources_app.command("export")
def export(
    ctx: typer.Context,
    folder: Annotated[Path, typer.Argument(help="Folder to write one dataset per source to.")],
    fmt: Annotated[
        str, typer.Option("--format", help="parquet (partitioned by customer) or csv.")
    ] = "parquet",
    partitions: Annotated[
        int, typer.Option(help="Parquet partitions, by a hash of the customer key.", min=1)
    ] = 8,
    as_json: JsonOption = False,
) -> None:
    """Write each source as a dataset `FOLDER/<source>` for the spark engine
    (`[engine] spark_sources = "FOLDER"`)."""
    with workspace_of(ctx) as ws:
        result = ws.export_sources(folder, fmt=fmt, partitions=partitions)
    _report(result, as_json=as_json)


@sources_app.command("publish")
def publish(
    ctx: typer.Context,
    url: Annotated[str, typer.Option(help="PostgreSQL URL (default: [engine] postgres_url).")] = "",
    schema: Annotated[
        str,
        typer.Option(help="Schema to create the tables in (default: [engine] postgres_schema)."),
    ] = "",
    as_json: JsonOption = False,
) -> None:
    """Copy each source into a table of a PostgreSQL database for the postgres engine."""
    with workspace_of(ctx) as ws:
        result = ws.publish_sources(url or None, schema or None)
    _report(result, as_json=as_json)


def _report(result: ExportResult, *, as_json: bool) -> None:
    if as_json:
        output.emit_result(result)
        return
    output.table(
        f"sources → {result.target}",
        ["source", "rows"],
        [(s.name, s.rows) for s in result.sources],
        numeric=["rows"],
    )


def register(app: typer.Typer) -> None:
    """Add the command group to the app."""
    app.add_typer(sources_app, name="sources")
