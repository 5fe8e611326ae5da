"""Types of the expression language and the schema that names are resolved against.

A :class:`Schema` lists the columns an expression may use: attributes, features and tags.
A tag is a column whose name is the tag code; its type follows its kind (enum → string,
flag → boolean, multi → list<string>, score → number).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from tagwise.model.tag import TagKind

__all__ = ["TAG_TYPES", "Column", "Schema", "Type", "common_type"]


class Type(StrEnum):
    """The static type of an expression; ``null`` is the type of the ``null`` literal."""

    NUMBER = "number"
    STRING = "string"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMP = "timestamp"
    DURATION = "duration"
    LIST = "list<string>"
    NULL = "null"


_TEMPORAL = frozenset({Type.DATE, Type.TIMESTAMP})


def common_type(a: Type, b: Type) -> Type | None:
    """The type two values share, or None: null fits anything; date with timestamp is timestamp."""
    if b in (a, Type.NULL):
        return a
    if a == Type.NULL:
        return b
    if {a, b} == _TEMPORAL:
        return Type.TIMESTAMP
    return None


Role = Literal["attribute", "feature", "tag"]

TAG_TYPES: Mapping[TagKind, Type] = MappingProxyType(
    {
        TagKind.ENUM: Type.STRING,
        TagKind.FLAG: Type.BOOLEAN,
        TagKind.MULTI: Type.LIST,
        TagKind.SCORE: Type.NUMBER,
    }
)
"""The column type of each tag kind."""


@dataclass(frozen=True, slots=True)
class Column:
    """A name an expression can use: an attribute, a feature or a tag."""

    name: str
    type: Type
    role: Role
    tag_kind: TagKind | None = None
    """Set exactly for tags; the type must match the kind (``TAG_TYPES``)."""

    def __post_init__(self) -> None:
        if (self.role == "tag") != (self.tag_kind is not None):
            raise ValueError(f"column {self.name!r}: tag_kind is set exactly for tags")
        if self.tag_kind is not None and TAG_TYPES[self.tag_kind] != self.type:
            raise ValueError(
                f"column {self.name!r}: a {self.tag_kind} tag has type "
                f"{TAG_TYPES[self.tag_kind]}, not {self.type}"
            )


@dataclass(frozen=True, slots=True)
class Schema:
    """The columns an expression may use, looked up by name (names are unique)."""

    columns: tuple[Column, ...]
    _by_name: Mapping[str, Column] = field(init=False, repr=False, compare=False)

    def __init__(self, columns: Iterable[Column]) -> None:
        cols = tuple(columns)
        by_name = {c.name: c for c in cols}
        if len(by_name) != len(cols):
            raise ValueError("column names of a schema must be unique")
        object.__setattr__(self, "columns", cols)
        object.__setattr__(self, "_by_name", MappingProxyType(by_name))

    def __getitem__(self, name: str) -> Column:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Column]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def get(self, name: str) -> Column | None:
        """The column called ``name``, or None."""
        return self._by_name.get(name)

    @property
    def names(self) -> tuple[str, ...]:
        """Every column name, in schema order."""
        return tuple(self._by_name)

    @property
    def tags(self) -> tuple[Column, ...]:
        """The tag columns, in schema order."""
        return tuple(c for c in self.columns if c.role == "tag")
