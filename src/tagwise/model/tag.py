"""Tags in the domain model: the kinds of tag (one definition for every layer)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["TagKind"]


class TagKind(StrEnum):
    """How many values a customer can have and what they are."""

    ENUM = "enum"
    FLAG = "flag"
    MULTI = "multi"
    SCORE = "score"
