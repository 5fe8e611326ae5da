"""The acting principal: on whose behalf an operation runs, and where the call came from."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import Literal

__all__ = ["Actor", "ActorKind", "Via"]

ActorKind = Literal["user", "service"]
"""A person, or a program acting under its own name (a scheduler, an importer)."""

Via = Literal["cli", "python", "api", "console"]
"""The interface the call came through."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asks for an operation. The catalog records :attr:`label` as who ingested,
    applied, ran or decided."""

    name: str
    kind: ActorKind = "user"
    via: Via = "python"
    address: str | None = None
    """The client's network address, for calls over HTTP (``None`` for local calls)."""

    @classmethod
    def os_user(cls, *, via: Via = "python") -> Actor:
        """The operating-system user running this process ("unknown" when it has none)."""
        try:
            name = getpass.getuser()
        except (KeyError, OSError):  # no USER/LOGNAME and no passwd entry (containers)
            name = "unknown"
        return cls(name=name or "unknown", kind="user", via=via)

    @property
    def label(self) -> str:
        """``name@via`` (``alice@cli``): the form the catalog records."""
        return f"{self.name}@{self.via}"

    def __str__(self) -> str:
        return self.label
