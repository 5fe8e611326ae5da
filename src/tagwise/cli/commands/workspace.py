"""``tagwise init`` and ``tagwise demo``."""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from tagwise import workspace as workspace_api
from tagwise.cli import output
from tagwise.cli.commands.ingest import JsonOption, print_ingest
from tagwise.errors import Conflict

__all__ = ["register"]

DEFAULT_DEMO_CUSTOMERS = 20_000


def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new workspace.")],
    demo: Annotated[bool, typer.Option("--demo", help="Add demo data and its sources.")] = False,
    customers: Annotated[
        int, typer.Option(help="Demo customers (with --demo).", min=100)
    ] = DEFAULT_DEMO_CUSTOMERS,
    catalog_url: Annotated[
        str | None,
        typer.Option(help="Catalog database URL (default: SQLite under .tagwise/)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a workspace: tagwise.toml, sources.yaml, features.yaml, tags/, segments/."""
    with workspace_api.init(directory, demo=demo, catalog_url=catalog_url) as ws:
        stats = _generate(ws.data_dir, customers, show=not as_json) if demo else None
        result: dict[str, Any] = {"workspace": str(ws.root), "catalog": ws.catalog.url}
    if stats is not None:
        result["demo_rows"] = stats
    if as_json:
        output.emit_json(result)
        return
    output.stdout.print(f"created workspace {result['workspace']}")
    if demo:
        output.stdout.print("demo data in data/; load it with `tagwise ingest`")


def demo(
    directory: Annotated[Path, typer.Argument(help="Folder for the demo workspace.")] = Path(
        "tagwise-demo"
    ),
    customers: Annotated[
        int, typer.Option(help="Number of demo customers.", min=100)
    ] = DEFAULT_DEMO_CUSTOMERS,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the folder if it already exists.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """The main job: build a demo workspace with realistic retail data and ingest it."""
    directory = directory.resolve()
    if directory.exists() and any(directory.iterdir()):
        if not force:
            raise Conflict(
                f"`{directory}` exists and is not empty", hint="pass --force to replace it"
            )
        _remove_workspace(directory)
    timings: dict[str, float] = {}
    start = time.perf_counter()
    with workspace_api.init(directory, demo=True) as ws:
        stats = _generate(ws.data_dir, customers, show=not as_json)
        timings["generate_s"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        with output.progress(not as_json) as step:
            report = ws.ingest(progress=step)
        timings["ingest_s"] = round(time.perf_counter() - start, 2)
        result = {
            "workspace": str(ws.root),
            "customers": ws.customer_count(),
            "generated": stats,
            **report.to_dict(),
            "timings": timings,
        }
    if as_json:
        output.emit_json(result)
        return
    output.stdout.print(
        f"demo workspace {ws.root}: generated {sum(stats.values()):,} rows in "
        f"{timings['generate_s']} s, ingested in {timings['ingest_s']} s"
    )
    print_ingest(report)
    output.stdout.print(
        f"{result['customers']:,} customers have a cid. Next: "
        f"`tagwise -w {directory} quarantine` to see rejected rows."
    )


def _remove_workspace(directory: Path) -> None:
    if not (directory / "tagwise.toml").exists():
        raise Conflict(
            f"`{directory}` is not a Tagwise workspace; refusing to delete it",
            hint="choose an empty or new folder",
        )
    shutil.rmtree(directory)


def _generate(data_dir: Path, customers: int, *, show: bool) -> dict[str, int]:
    from tagwise.demo.generate import generate  # noqa: PLC0415 (numpy-heavy, demo only)

    with output.progress(show) as step:
        stats = generate(
            data_dir,
            customers=customers,
            progress=lambda stage, rows: step(f"generating {stage}: {rows:,} rows"),
        )
    counts = dataclasses.asdict(stats)
    return {k: int(v) for k, v in counts.items() if k not in ("invalid_rows", "seconds")}


def register(app: typer.Typer) -> None:
    """Add the commands to the app."""
    app.command("init")(init)
    app.command("demo")(demo)
