"""Load ``tags/*.yaml``: every tag definition of a workspace, with where each field is.

Each file holds ``tags: [ {code: …, name: …, …}, … ]``; files are read in sorted order,
recursively (``tags/value.yaml``, ``tags/risk/credit.yml``). :func:`collect_tags` keeps
going past problems and returns them all (lint); :func:`load_tags` raises the first.

``TagsSpec.locations`` maps a tag code to the position of its ``code:`` key, and
``code.field`` (``spend_level.rule``), ``code.field.N`` and ``code.field.N.key``
(``spend_level.rule.1.when``: the second branch; indexes are 0-based like YAML paths) to
the position of that key or item, so later checks can point at the exact line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from tagwise.errors import Location, SpecError, TagwiseError
from tagwise.spec.load import Document, load_yaml
from tagwise.spec.tags import Band, RuleBranch, TagSpec, TagsSpec

__all__ = ["collect_tags", "load_tags", "tag_files"]

_SUFFIXES = (".yaml", ".yml")
_KNOWN_KEYS = sorted(
    {*TagSpec.model_fields, *RuleBranch.model_fields, *Band.model_fields, "else"} - {"else_"}
)
"""Every key a tag may use, for "did you mean" hints on typos."""


def load_tags(folder: Path) -> TagsSpec:
    """Load every tag under ``folder`` (the workspace's ``tags/`` folder).

    Raises:
        SpecError: the first problem, with file, line and column.
    """
    spec, errors = collect_tags(folder)
    if errors:
        raise errors[0]
    return spec


def collect_tags(folder: Path) -> tuple[TagsSpec, list[TagwiseError]]:
    """Load every valid tag under ``folder`` and report every problem.

    A tag with a problem is left out of the spec; a repeated code keeps the first
    definition. A missing folder means no tags.
    """
    collector = _Collector(folder)
    files = tag_files(folder)
    for path in files:
        collector.read(path)
    spec = TagsSpec(tags=collector.tags, locations=collector.locations, files=tuple(files))
    return spec, list(collector.errors)


def tag_files(folder: Path) -> list[Path]:
    """The YAML files under ``folder``, sorted, recursively, skipping hidden ones."""
    if not folder.is_dir():
        return []
    found = [
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in _SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


class _Collector:
    """Reads tag files one by one into shared tags, locations and errors."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.tags: dict[str, TagSpec] = {}
        self.locations: dict[str, Location] = {}
        self.errors: list[SpecError] = []
        self.seen: dict[str, Location] = {}
        """Where each code was first defined, valid or not (for duplicate errors)."""

    def read(self, path: Path) -> None:
        try:
            doc = load_yaml(path)
        except SpecError as exc:
            self.errors.append(exc)
            return
        for i, item in self._items(doc):
            self._tag(doc, i, item)

    def _items(self, doc: Document) -> Iterator[tuple[int, Any]]:
        raw = doc.data
        if raw is None:
            return
        if not isinstance(raw, dict):
            self.errors.append(
                SpecError(
                    "expected a mapping `tags:` with a list of tags", location=doc.location(())
                )
            )
            return
        for key in raw:
            if key != "tags":
                hint = "did you mean `tags`?" if _close(str(key), ["tags"]) else None
                self.errors.append(
                    SpecError(
                        f"unknown top-level key `{key}`",
                        location=doc.location((str(key),)),
                        hint=hint or "a tags file holds one key, `tags:`",
                    )
                )
        items = raw.get("tags")
        if items is None:
            return
        if not isinstance(items, list):
            self.errors.append(
                SpecError("`tags` must be a list of tags", location=doc.location(("tags",)))
            )
            return
        yield from enumerate(items)

    def _tag(self, doc: Document, i: int, item: Any) -> None:
        at = ("tags", i)
        if not isinstance(item, dict):
            self.errors.append(
                SpecError("a tag must be a mapping of fields", location=doc.location(at))
            )
            return
        code = item.get("code")
        label = code if isinstance(code, str) and code else f"tags.{i}"
        if isinstance(code, str) and not self._first(doc, code, (*at, "code")):
            return
        try:
            spec = TagSpec.model_validate(item)
        except ValidationError as exc:
            self.errors.extend(_errors(exc, doc, at=at, label=label, item=item))
            return
        self.tags[spec.code] = spec
        self.locations[spec.code] = doc.location((*at, "code"))
        for path in doc.positions:
            if len(path) > len(at) and path[: len(at)] == at:
                key = ".".join(str(p) for p in (spec.code, *path[len(at) :]))
                self.locations[key] = doc.location(path)

    def _first(self, doc: Document, code: str, at: tuple[str | int, ...]) -> bool:
        """Whether this is the first definition of ``code``; reports a repeat."""
        where = doc.location(at)
        first = self.seen.get(code)
        if first is None:
            self.seen[code] = where
            return True
        self.errors.append(
            SpecError(
                f"duplicate tag code `{code}`",
                location=where,
                hint=f"`{code}` is first defined at {self._short(first)}; codes are unique",
            )
        )
        return False

    def _short(self, location: Location) -> str:
        """``tags/value.yaml:3``: the path relative to the workspace, and the line."""
        path = Path(location.path)
        try:
            shown = path.relative_to(self.folder.parent).as_posix()
        except ValueError:
            shown = path.name
        return f"{shown}:{location.line}"


def _errors(
    exc: ValidationError, doc: Document, *, at: tuple[str | int, ...], label: str, item: Any
) -> list[SpecError]:
    """One located error per field of the tag that has a problem.

    pydantic reports every member of a union (``rule`` is a list or a string); the
    deepest problem of a field is the one that matches what the user wrote.
    """
    details = exc.errors()
    typos = {str(d["loc"][-1]) for d in details if d["type"] == "extra_forbidden" and d["loc"]}
    by_field: dict[str, tuple[tuple[str | int, ...], ErrorDetails]] = {}
    for detail in details:
        path = _data_path(item, detail["loc"])
        if detail["type"] == "missing" and _close(str(path[-1]) if path else "", typos):
            continue  # the misspelled key explains the missing one
        key = str(path[0]) if path else ""
        best = by_field.get(key)
        if best is None or _better(detail, path, best):
            by_field[key] = (path, detail)
    return [
        _error(detail, doc, at=at, path=path, label=label, item=item)
        for path, detail in by_field.values()
    ]


def _better(
    detail: ErrorDetails,
    path: tuple[str | int, ...],
    best: tuple[tuple[str | int, ...], ErrorDetails],
) -> bool:
    if (detail["type"] == "extra_forbidden") != (best[1]["type"] == "extra_forbidden"):
        return detail["type"] == "extra_forbidden"
    return len(path) > len(best[0])


def _data_path(item: Any, loc: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """``loc`` without pydantic's union member labels: only steps that exist in the data."""
    path: list[str | int] = []
    node = item
    for step in loc:
        found = (isinstance(node, dict) and step in node) or (
            isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        )
        if not found and isinstance(step, str) and ("[" in step or step in {"str", "none"}):
            continue  # a union member label
        node = node[step] if found else None
        path.append(step)
    return tuple(path)


def _error(
    detail: ErrorDetails,
    doc: Document,
    *,
    at: tuple[str | int, ...],
    path: tuple[str | int, ...],
    label: str,
    item: Any,
) -> SpecError:
    field = ".".join(str(p) for p in (label, *path))
    text = detail["msg"].removeprefix("Value error, ")
    hint = None
    if detail["type"] == "extra_forbidden":
        message = f"unknown field `{field}`"
        close = _close(str(path[-1]), _KNOWN_KEYS)
        hint = f"did you mean `{close}`?" if close else None
    elif not path:  # a whole-tag check: point at the first field it names
        message = f"tag `{label}`: {text}"
        named = [k for k in item if f"`{k}`" in text]
        path = (named[0],) if named else ("code",)
    else:
        message = f"`{field}`: {text[:1].lower()}{text[1:]}"
        if detail["type"] == "enum":
            expected = str((detail.get("ctx") or {}).get("expected", ""))
            options = [o.strip(" '") for o in expected.replace(" or ", ",").split(",")]
            close = _close(str(detail["input"]), [o for o in options if o])
            hint = f"did you mean `{close}`?" if close else None
    return SpecError(message, location=doc.location((*at, *path)), hint=hint)


def _close(word: str, options: Any) -> str | None:
    found = difflib.get_close_matches(word, list(options), n=1)
    return found[0] if found else None
