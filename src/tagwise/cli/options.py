"""The options every command shares, and the workspace the global options choose.

``--json``, ``--limit`` and the parsing of ``--as-of`` dates are declared here once, so
that each command spells them alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import typer

from tagwise.errors import ConfigError
from tagwise.workspace import Actor, Workspace, open_workspace

__all__ = ["JsonOption", "LimitOption", "State", "parse_date", "workspace_of"]

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object on stdout.")]
"""``--json``: the command's result as one JSON object instead of text."""

LimitOption = Annotated[int, typer.Option("--limit", help="Show at most this many.", min=1)]
"""``--limit N``: the length of a listing (each command picks its default)."""


@dataclass(slots=True)
class State:
    """Global options of one invocation."""

    workspace: Path | None = None


def workspace_of(ctx: typer.Context) -> Workspace:
    """Open the workspace chosen by ``--workspace`` or found above the current folder, on
    behalf of the operating-system user via the CLI."""
    state = ctx.obj if isinstance(ctx.obj, State) else State()
    return open_workspace(state.workspace, actor=Actor.os_user(via="cli"))


def parse_date(text: str | None) -> date | None:
    """A ``--as-of`` value (YYYY-MM-DD).

    Raises:
        ConfigError: not a date.
    """
    if text is None:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError as exc:
        raise ConfigError(f"--as-of `{text}` is not a date", hint="write it as 2026-11-01") from exc
