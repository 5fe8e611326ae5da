"""``taxonomy.yaml``: the category tree of tags.

Example::

    categories:
      - {code: value, name: 价值, prefix: 价值}
      - {code: risk,  name: 风险, prefix: 风险,
         children: [{code: credit_risk, name: 信用风险, prefix: 风险}]}

A tag's ``category`` is a category code anywhere in the tree; ``prefix`` is what display
names of that category start with (``价值_消费等级``). Without a ``taxonomy.yaml`` a
workspace uses :data:`DEFAULT_TAXONOMY`, the eight families of docs/tags.md.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from tagwise.errors import Location, SpecError
from tagwise.spec.load import Document, load_yaml, raise_all, spec_errors

__all__ = ["DEFAULT_TAXONOMY", "Category", "Taxonomy", "load_taxonomy"]

_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


class Category(BaseModel):
    """One node of the taxonomy; ``prefix`` defaults to ``name``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name: str
    prefix: str
    description: str = ""
    children: tuple[Category, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _default_prefix(cls, data: Any) -> Any:
        if isinstance(data, dict) and "prefix" not in data and isinstance(data.get("name"), str):
            return {**data, "prefix": data["name"]}
        return data


class Taxonomy:
    """The category tree with a flat lookup by code; iterates in tree order (pre-order)."""

    __slots__ = ("_by_code", "_order", "_parent", "file", "locations", "roots")

    def __init__(
        self,
        roots: Sequence[Category],
        *,
        file: Path | None = None,
        locations: Mapping[str, Location] | None = None,
    ) -> None:
        """Index ``roots``; codes must be unique (:func:`load_taxonomy` reports duplicates).

        Raises:
            ValueError: a code appears twice (a programming error past the loader).
        """
        self.roots: tuple[Category, ...] = tuple(roots)
        """The top-level categories, in declaration order."""
        self.file = file
        """The ``taxonomy.yaml`` it came from; None for the default taxonomy."""
        self.locations: dict[str, Location] = dict(locations or {})
        """Where each category's ``code:`` is (also ``code.field`` for its fields)."""
        self._by_code: dict[str, Category] = {}
        self._parent: dict[str, str | None] = {}
        self._order: list[str] = []
        for root in self.roots:
            self._index(root, None)

    def _index(self, category: Category, parent: str | None) -> None:
        if category.code in self._by_code:
            msg = f"duplicate category code {category.code!r}"
            raise ValueError(msg)
        self._by_code[category.code] = category
        self._parent[category.code] = parent
        self._order.append(category.code)
        for child in category.children:
            self._index(child, category.code)

    def __iter__(self) -> Iterator[Category]:
        return (self._by_code[code] for code in self._order)

    def __len__(self) -> int:
        return len(self._order)

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __getitem__(self, code: str) -> Category:
        return self._by_code[code]

    def __repr__(self) -> str:
        return f"Taxonomy({', '.join(self._order)})"

    @property
    def codes(self) -> list[str]:
        """Every category code, in tree order."""
        return list(self._order)

    def get(self, code: str) -> Category | None:
        """The category with ``code``, or None."""
        return self._by_code.get(code)

    def parent(self, code: str) -> Category | None:
        """The parent of a category; None for a top-level one."""
        parent = self._parent[code]
        return None if parent is None else self._by_code[parent]

    def path(self, code: str) -> tuple[Category, ...]:
        """The categories from the top of the tree down to ``code`` (inclusive)."""
        chain: list[Category] = []
        current: str | None = code
        while current is not None:
            chain.append(self._by_code[current])
            current = self._parent[current]
        return tuple(reversed(chain))

    def suggest(self, text: str) -> str | None:
        """The category code a misspelled code, a name or a prefix most likely means."""
        for category in self:
            if text in (category.name, category.prefix):
                return category.code
        close = difflib.get_close_matches(text, self._order, n=1)
        return close[0] if close else None


def _category(code: str, name: str, prefix: str, *children: Category) -> Category:
    return Category(code=code, name=name, prefix=prefix, children=children)


DEFAULT_TAXONOMY = Taxonomy(
    [
        _category("basic", "基础属性", "基础"),
        _category("behavior", "行为", "行为"),
        _category("preference", "偏好兴趣", "偏好"),
        _category("psychology", "心理", "心理"),
        _category("value", "价值", "价值"),
        _category("lifecycle", "生命周期", "生命周期"),
        _category("social", "社交", "社交"),
        _category("risk", "风险", "风险", _category("credit_risk", "信用风险", "风险")),
    ]
)
"""The eight families of docs/tags.md, used when a workspace has no ``taxonomy.yaml``."""


class _TaxonomyFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    categories: tuple[Category, ...]


def load_taxonomy(path: Path) -> Taxonomy:
    """Load ``taxonomy.yaml``; a missing file gives :data:`DEFAULT_TAXONOMY`.

    Raises:
        SpecError: with file, line and column of the first problem (invalid YAML, an
            unknown key, an invalid or duplicate code, no categories).
    """
    if not path.exists():
        return DEFAULT_TAXONOMY
    doc = load_yaml(path)
    raw = doc.data
    if not isinstance(raw, dict) or not raw.get("categories"):
        raise SpecError(
            "expected a list `categories:` of categories",
            location=doc.location(("categories",)),
            hint="see docs/tags.md, section Taxonomy",
        )
    try:
        spec = _TaxonomyFile.model_validate(raw)
    except ValidationError as exc:
        raise_all(spec_errors(exc, doc, known=[*Category.model_fields, "categories"]))
        raise  # unreachable: a validation error has at least one problem
    locations: dict[str, Location] = {}
    _check_codes(doc, spec.categories, ("categories",), locations)
    return Taxonomy(spec.categories, file=path, locations=locations)


def _check_codes(
    doc: Document,
    categories: Iterable[Category],
    at: tuple[str | int, ...],
    locations: dict[str, Location],
) -> None:
    """Record where each code is; raise on an invalid code or a repeated one."""
    for i, category in enumerate(categories):
        here = (*at, i)
        where = doc.location((*here, "code"))
        if not _CODE.match(category.code):
            raise SpecError(
                f"category code `{category.code}` must be snake_case ascii",
                location=where,
                hint="display text belongs in `name:` and `prefix:`",
            )
        if category.code in locations:
            first = locations[category.code]
            raise SpecError(
                f"duplicate category code `{category.code}`",
                location=where,
                hint=f"first defined at {Path(first.path).name}:{first.line}",
            )
        locations[category.code] = where
        for field in ("name", "prefix", "description", "children"):
            if (*here, field) in doc.positions:
                locations[f"{category.code}.{field}"] = doc.location((*here, field))
        _check_codes(doc, category.children, (*here, "children"), locations)
