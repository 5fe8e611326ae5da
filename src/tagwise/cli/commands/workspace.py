"""``tagwise init`` and ``tagwise demo``."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer

from tagwise import workspace as workspace_api
from tagwise.cli import output
from tagwise.cli.commands.ingest import print_ingest
from tagwise.cli.commands.run import print_run
from tagwise.cli.options import JsonOption
from tagwise.errors import Conflict

__all__ = ["register"]

DEFAULT_DEMO_CUSTOMERS = 20_000
DEFAULT_DEMO_DUPLICATES = 0.02
"""tagwise.demo.generate.DEFAULT_DUPLICATES, without importing numpy."""
MAX_DEMO_DUPLICATES = 0.3
"""tagwise.demo.generate.MAX_DUPLICATES, without importing numpy."""
DEMO_AS_OF = date(2026, 11, 1)
"""The demo data's as-of date (tagwise.demo.generate.DEMO_AS_OF, without importing numpy)."""
DEMO_MARKER = ".tagwise/demo"
"""Written by `tagwise demo` into the folder it builds: only such a folder may be replaced
by `demo --force` (a workspace of your own is never deleted)."""


def init(  # noqa: PLR0917 (Typer: one parameter per option)
    directory: Annotated[Path, typer.Argument(help="Folder for the new workspace.")],
    demo: Annotated[bool, typer.Option("--demo", help="Add demo data and its sources.")] = False,
    customers: Annotated[
        int, typer.Option(help="Demo customers (with --demo).", min=100)
    ] = DEFAULT_DEMO_CUSTOMERS,
    duplicates: Annotated[
        float,
        typer.Option(
            help="Share of demo customer rows that are extra accounts of a person (with --demo).",
            min=0.0,
            max=MAX_DEMO_DUPLICATES,
        ),
    ] = DEFAULT_DEMO_DUPLICATES,
    catalog_url: Annotated[
        str | None,
        typer.Option(help="Catalog database URL (default: SQLite under .tagwise/)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a workspace: tagwise.toml, sources.yaml, features.yaml, tags/, segments/."""
    cli_user = workspace_api.Actor.os_user(via="cli")
    with workspace_api.init(directory, demo=demo, catalog_url=catalog_url, actor=cli_user) as ws:
        stats = _generate(ws.data_dir, customers, duplicates, show=not as_json) if demo else None
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
    duplicates: Annotated[
        float,
        typer.Option(
            help="Share of customer rows that are extra accounts of a person who already has "
            "one (linked by phone, email, WeChat UnionID or only fuzzily).",
            min=0.0,
            max=MAX_DEMO_DUPLICATES,
        ),
    ] = DEFAULT_DEMO_DUPLICATES,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Replace the folder if an earlier `tagwise demo` built it (any other folder "
            "is refused).",
        ),
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
    with workspace_api.init(
        directory, demo=True, actor=workspace_api.Actor.os_user(via="cli")
    ) as ws:
        (directory / DEMO_MARKER).write_text(
            "built by `tagwise demo`; `tagwise demo --force` may replace this folder\n",
            encoding="utf-8",
        )
        stats = _generate(ws.data_dir, customers, duplicates, show=not as_json)
        timings["generate_s"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        with output.progress(not as_json) as step:
            report = ws.ingest(progress=step)
        timings["ingest_s"] = round(time.perf_counter() - start, 2)
        start = time.perf_counter()
        applied = ws.apply()
        with output.progress(not as_json) as step:
            run = ws.run(as_of=DEMO_AS_OF, progress=step)
        timings["run_s"] = round(time.perf_counter() - start, 2)
        summary = _summary(ws, run.tags)
        result = {
            "workspace": str(ws.root),
            "customers": ws.customer_count(),
            "generated": stats,
            **report.model_dump(mode="json"),
            "applied": applied.summary.model_dump(mode="json"),
            "computed": run.model_dump(mode="json"),
            "summary": summary,
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
    print_run(run)
    tagged = summary["customers_tagged"]
    output.stdout.print(
        f"{len(run.tags)} tags computed; {tagged:,} of {result['customers']:,} customers "
        "have at least one tag"
    )
    for code, info in summary["distributions"].items():
        rows = [
            (v["value"], v["customers"], f"{v['customers'] / max(run.customers, 1):.1%}")
            for v in info["values"]
        ]
        output.table(
            f"{info['name']} ({code})",
            ["value", "customers", "share"],
            rows,
            numeric=["customers", "share"],
        )
    command = f"{command_name()} -w {_shown(directory)}"
    output.stdout.print(
        f"Next: `{command} tags list`, `{command} customer show C00000001`, `{command} quarantine`."
    )


def command_name() -> str:
    """How to call this very ``tagwise`` from the current folder: ``tagwise`` when the
    command on PATH is this one, else the path of the running script (e.g.
    ``.venv/bin/tagwise`` after ``make demo``), else ``python -m tagwise``."""
    script = Path(sys.argv[0])
    on_path = shutil.which("tagwise")
    if script.name == "tagwise" and script.is_file():
        if on_path is not None and Path(on_path).resolve() == script.resolve():
            return "tagwise"
        return _shown(script)
    if on_path is not None:
        return "tagwise"
    return f"{_shown(Path(sys.executable))} -m tagwise"


def _shown(path: Path) -> str:
    """A path as the user can type it here: relative below the current folder."""
    absolute = Path(os.path.abspath(path))
    try:
        relative = absolute.relative_to(Path.cwd())
    except ValueError:
        return str(absolute)
    return str(relative) if relative.parts else "."


_KEY_TAGS = ("spend_level", "rfm_segment", "lifecycle_stage", "churn_risk")


def _summary(ws: workspace_api.Workspace, computed: list[str]) -> dict[str, Any]:
    """Customers tagged and the distributions of a few key tags."""
    specs = ws.specs(check=False)
    names = {c: t.name for c, t in (specs.tags.tags.items() if specs.tags else [])}
    keys = [c for c in _KEY_TAGS if c in computed] or computed[:3]
    return {
        "customers_tagged": ws.tagged_customers(),
        "distributions": {
            c: {
                "name": names.get(c, c),
                "values": [v.model_dump() for v in ws.tag_distribution(c, limit=8)],
            }
            for c in keys
        },
    }


def _remove_workspace(directory: Path) -> None:
    if not (directory / "tagwise.toml").exists():
        raise Conflict(
            f"`{directory}` is not a Tagwise workspace; refusing to delete it",
            hint="choose an empty or new folder",
        )
    if not (directory / DEMO_MARKER).is_file():
        raise Conflict(
            f"`{directory}` is a workspace that `tagwise demo` did not build; refusing to "
            "delete it",
            hint="choose another folder for the demo (--force replaces only a demo)",
        )
    shutil.rmtree(directory)


def _generate(data_dir: Path, customers: int, duplicates: float, *, show: bool) -> dict[str, int]:
    from tagwise.demo.generate import generate  # noqa: PLC0415 (numpy-heavy, demo only)

    with output.progress(show) as step:
        stats = generate(
            data_dir,
            customers=customers,
            duplicates=duplicates,
            progress=lambda stage, rows: step(f"generating {stage}: {rows:,} rows"),
        )
    counts = dataclasses.asdict(stats)
    notes = ("invalid_rows", "extra_accounts", "seconds")  # not files: kept out of the row sum
    return {k: int(v) for k, v in counts.items() if k not in notes}


def register(app: typer.Typer) -> None:
    """Add the commands to the app."""
    app.command("init")(init)
    app.command("demo")(demo)
