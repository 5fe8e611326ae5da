"""Versions of spec definitions, as the catalog records them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["SpecVersion"]


@dataclass(frozen=True, slots=True)
class SpecVersion:
    """One immutable version of a category, feature or tag definition."""

    kind: str
    code: str
    version: int
    status: str
    definition: Mapping[str, Any]
    digest: str
    diff: str
    applied_at: datetime
    applied_by: str
