"""Saved segments (``segments/*.yaml``): the model, loading with positions, and saving.

A segments file holds ``segments: [ {name: …, expr: …, description: …, owner: …}, … ]``;
files are read in sorted order, recursively, like ``tags/``. A segment's ``name`` is its
identity (``in_segment('高价值女性')``, ``tagwise segment export 高价值女性``); ``expr`` is an
expression of the Tagwise language over tags, features and attributes. ``tagwise segment
save NAME EXPR`` writes ``segments/<name>.yaml``; hand-written files may hold several.

:func:`collect_segments` keeps going past problems and returns them all (``lint``); the
expressions themselves are checked against the workspace's schema in ``specs.py``.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tagwise.errors import (
    Conflict,
    ExpressionError,
    ExpressionTypeError,
    Location,
    SpecError,
    TagwiseError,
    did_you_mean,
)
from tagwise.lang import Schema, TypedExpr, check_condition, parse
from tagwise.lang.ast import Call, Expr, Literal, Name
from tagwise.lang.expand import expand_segments
from tagwise.spec.load import Document, load_yaml, spec_errors
from tagwise.spec.tagfiles import tag_files

__all__ = [
    "SegmentSpec",
    "SegmentsSpec",
    "check_segment",
    "check_segments",
    "collect_segments",
    "file_for",
    "save_segment",
    "tags_read",
]

_UNSAFE = re.compile(r"[\x00-\x1f/\\:*?\"<>|]")
"""Characters a segment name may not hold (control characters; unsafe in file names)."""


class SegmentSpec(BaseModel):
    """One saved segment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    """The segment's identity: any text without control characters, ``/`` or ``\\``."""
    expr: str = Field(min_length=1)
    """The expression that selects the members."""
    description: str = ""
    owner: str = ""

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if value != value.strip():
            raise ValueError("a segment name cannot start or end with spaces")
        if _UNSAFE.search(value):
            raise ValueError(
                'a segment name cannot hold control characters or any of / \\ : * ? " < > |'
            )
        return value

    @field_validator("expr")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the expression is empty")
        return value

    def definition(self) -> dict[str, Any]:
        """The canonical definition that ``plan``/``apply`` compare and record."""
        return {**self.model_dump(mode="json", exclude_defaults=True), "status": "published"}


class SegmentsSpec(BaseModel):
    """Every saved segment of a workspace, and where each is written."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    segments: dict[str, SegmentSpec] = Field(default_factory=dict)
    locations: dict[str, Location] = Field(default_factory=dict)
    """``name`` → position of its ``name:`` key; ``name.expr`` → position of its expression."""
    files: dict[str, Path] = Field(default_factory=dict)
    """``name`` → the file that defines it."""

    def where(self, name: str, field: str | None = None) -> Location | None:
        """Location of a segment, or of one of its fields when known."""
        if field is not None and f"{name}.{field}" in self.locations:
            return self.locations[f"{name}.{field}"]
        return self.locations.get(name)

    def expressions(self) -> dict[str, str]:
        """Every segment's expression text, by name (what ``in_segment`` expands)."""
        return {name: spec.expr for name, spec in self.segments.items()}


def collect_segments(folder: Path) -> tuple[SegmentsSpec, list[TagwiseError]]:
    """Load every valid segment under ``folder`` and report every problem.

    A segment with a problem is left out; a repeated name keeps the first definition. A
    missing folder means no segments.
    """
    segments: dict[str, SegmentSpec] = {}
    locations: dict[str, Location] = {}
    files: dict[str, Path] = {}
    errors: list[TagwiseError] = []
    for path in tag_files(folder):
        try:
            doc = load_yaml(path)
        except SpecError as exc:
            errors.append(exc)
            continue
        for i, item in _items(doc, errors):
            spec = _segment(doc, i, item, errors)
            if spec is None:
                continue
            where = doc.location(("segments", i, "name"))
            if spec.name in segments:
                first = locations[spec.name]
                errors.append(
                    SpecError(
                        f"duplicate segment name `{spec.name}`",
                        location=where,
                        hint=f"it is first defined at {Path(first.path).name}:{first.line}; "
                        "names are unique",
                    )
                )
                continue
            segments[spec.name] = spec
            locations[spec.name] = where
            locations[f"{spec.name}.expr"] = doc.location(("segments", i, "expr"))
            files[spec.name] = path
    return SegmentsSpec(segments=segments, locations=locations, files=files), errors


def _items(doc: Document, errors: list[TagwiseError]) -> list[tuple[int, Any]]:
    raw = doc.data
    if raw is None:
        return []
    if not isinstance(raw, dict) or not isinstance(raw.get("segments") or [], list):
        errors.append(
            SpecError(
                "expected a mapping `segments:` with a list of segments",
                location=doc.location(()),
            )
        )
        return []
    for key in raw:
        if key != "segments":
            errors.append(
                SpecError(
                    f"unknown top-level key `{key}`",
                    location=doc.location((str(key),)),
                    hint=did_you_mean(str(key), ["segments"])
                    or "a segments file holds one key, `segments:`",
                )
            )
    return list(enumerate(raw.get("segments") or []))


def _segment(doc: Document, i: int, item: Any, errors: list[TagwiseError]) -> SegmentSpec | None:
    at = ("segments", i)
    if not isinstance(item, dict):
        errors.append(SpecError("a segment must be a mapping of fields", location=doc.location(at)))
        return None
    try:
        return SegmentSpec.model_validate(item)
    except ValidationError as exc:
        errors.extend(spec_errors(exc, doc, prefix=at, known=SegmentSpec.model_fields))
        return None


def check_segment(
    text: str,
    *,
    schema: Schema,
    definitions: dict[str, str],
    drafts: frozenset[str] = frozenset(),
    deprecated: frozenset[str] = frozenset(),
    within: str | None = None,
) -> TypedExpr:
    """Parse ``text``, expand its ``in_segment`` calls and check it as a condition.

    Args:
        text: the expression.
        schema: attributes, features and tags (tag columns named by code).
        definitions: every saved segment's expression, by name.
        drafts: codes of draft tags, which segments may not use.
        deprecated: codes of deprecated tags (not in ``schema``), named as such.
        within: the segment ``text`` defines, if any (it may not contain itself).

    Raises:
        ExpressionError: the expression is wrong (position in ``text``, hint).
    """
    tree = expand_segments(parse(text), source=text, definitions=definitions, within=within)
    for node, code in _names(tree):
        if code in deprecated and schema.get(code) is None:
            raise ExpressionTypeError(
                f"tag `{code}` is deprecated; segments use published tags only",
                source=text,
                span=node.span,
                hint="use the tag that replaces it, or publish it again",
            )
    typed = check_condition(tree, schema, source=text)
    for node, code in _tag_reads(tree, schema):
        if code in drafts:
            raise ExpressionTypeError(
                f"tag `{code}` is a draft; segments use published tags only",
                source=text,
                span=node.span,
                hint="publish it (status: published in its file) and run `tagwise apply`",
            )
    return typed


def tags_read(tree: Expr, schema: Schema) -> list[str]:
    """The tag codes an (expanded) expression reads, in order, once each."""
    return list(dict.fromkeys(code for _, code in _tag_reads(tree, schema)))


def _tag_reads(tree: Expr, schema: Schema) -> list[tuple[Name | Literal, str]]:
    return [(node, code) for node, code in _names(tree) if _is_tag(schema, code)]


def _names(tree: Expr) -> list[tuple[Name | Literal, str]]:
    """Every name an expression reads, and every ``has_tag('code')`` argument, in order."""
    found: list[tuple[Name | Literal, str]] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, Name):
            found.append((node, node.name))
        if isinstance(node, Call) and node.name == "has_tag" and node.args:
            first = node.args[0]
            if isinstance(first, Literal) and isinstance(first.value, str):
                found.append((first, first.value))
        children: list[Expr] = []
        for f in getattr(node, "__dataclass_fields__", {}):
            value = getattr(node, f)
            children.extend(
                c for c in (value if isinstance(value, tuple) else (value,)) if isinstance(c, Expr)
            )
        stack.extend(reversed(children))  # popped left to right: the order of the text
    return found


def _is_tag(schema: Schema, name: str) -> bool:
    column = schema.get(name)
    return column is not None and column.role == "tag"


def check_segments(
    segments: SegmentsSpec,
    schema: Schema,
    *,
    drafts: frozenset[str] = frozenset(),
    deprecated: frozenset[str] = frozenset(),
) -> list[TagwiseError]:
    """Check every saved segment's expression (``tagwise lint``): one located problem each."""
    definitions = segments.expressions()
    errors: list[TagwiseError] = []
    for name, spec in segments.segments.items():
        try:
            check_segment(
                spec.expr,
                schema=schema,
                definitions=definitions,
                drafts=drafts,
                deprecated=deprecated,
                within=name,
            )
        except ExpressionError as exc:
            position = f"(line {exc.span.line}, col {exc.span.col})"
            error = SpecError(
                f"segment `{name}` `expr`: {exc.message} {position}",
                hint=exc.hint,
                location=segments.where(name, "expr"),
            )
            error.__cause__ = exc
            errors.append(error)
    return errors


def file_for(folder: Path, name: str) -> Path:
    """The file ``segment save`` writes a segment to: ``segments/<name>.yaml``."""
    return folder / f"{name}.yaml"


def save_segment(folder: Path, spec: SegmentSpec, existing: SegmentsSpec) -> Path:
    """Write ``spec`` to its own file (replacing the file atomically); returns the path.

    Raises:
        Conflict: the segment is defined in a file that holds other segments too (it is
            edited there, so that no hand-written file is rewritten).
    """
    path = file_for(folder, spec.name)
    defined_in = existing.files.get(spec.name)
    if defined_in is not None and defined_in.resolve() != path.resolve():
        others = [n for n, p in existing.files.items() if p == defined_in and n != spec.name]
        if others:
            raise Conflict(
                f"segment `{spec.name}` is defined in `{defined_in.name}` with other segments",
                hint=f"edit its expression in {defined_in}",
            )
        path = defined_in
    folder.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(
        {"segments": [spec.model_dump(mode="json", exclude_defaults=True)]},
        allow_unicode=True,
        sort_keys=False,
        width=100,
    )
    _write_atomically(path, text)
    return path


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
