"""What the global options hand to every command."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer

from tagwise.workspace import Actor, Workspace, open_workspace

__all__ = ["State", "workspace_of"]


@dataclass(slots=True)
class State:
    """Global options of one invocation."""

    workspace: Path | None = None


def workspace_of(ctx: typer.Context) -> Workspace:
    """Open the workspace chosen by ``--workspace`` or found above the current folder, on
    behalf of the operating-system user via the CLI."""
    state = ctx.obj if isinstance(ctx.obj, State) else State()
    return open_workspace(state.workspace, actor=Actor.os_user(via="cli"))
