"""Load YAML files keeping the line and column of every value.

Spec errors must point at the exact place in the file (``sources.yaml:12:7``), so the
loader keeps a map from each value's path (``("sources", "orders", "columns")``) to its
position, and :func:`spec_error` turns a pydantic validation error into a located
:class:`~tagwise.errors.SpecError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tagwise.errors import Location, SpecError, did_you_mean

__all__ = ["Document", "SpecProblems", "load_yaml", "raise_all", "spec_error", "spec_errors"]

Path_ = tuple[str | int, ...]


class SpecProblems(SpecError):
    """Every problem found in one spec file, raised together so that ``lint`` reports them
    all (the first one is this error's own message, location and hint)."""

    def __init__(self, problems: list[SpecError]) -> None:
        first = problems[0]
        super().__init__(first.message, hint=first.hint, location=first.location)
        self.problems = problems


def raise_all(problems: list[SpecError]) -> None:
    """Raise the problems of one file together (nothing when there are none).

    Raises:
        SpecError: the one problem, or :class:`SpecProblems` holding several.
    """
    flat = [p for problem in problems for p in getattr(problem, "problems", [problem])]
    if len(flat) == 1:
        raise flat[0]
    if flat:
        raise SpecProblems(flat)


@dataclass(frozen=True, slots=True)
class Document:
    """A parsed YAML file: its data and where each value starts."""

    path: Path
    data: Any
    positions: Mapping[Path_, tuple[int, int]]

    def location(self, key: Iterable[str | int]) -> Location:
        """The position of ``key``, or of its nearest parent that has one."""
        parts = tuple(key)
        while parts and parts not in self.positions:
            parts = parts[:-1]
        line, col = self.positions.get(parts, (1, 1))
        return Location(self.path, line, col)


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml when PyYAML has it (10× faster; same nodes and marks), else pure Python."""


def load_yaml(path: Path) -> Document:
    """Parse one YAML file.

    Raises:
        SpecError: the file is missing or is not valid YAML.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise SpecError(f"spec file `{path.name}` does not exist", location=Location(path)) from exc
    except UnicodeDecodeError as exc:
        raise SpecError("spec file is not UTF-8 text", location=Location(path)) from exc
    try:
        node = yaml.compose(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise SpecError(f"invalid YAML: {exc.problem}", location=Location(path, line, col)) from exc
    positions: dict[Path_, tuple[int, int]] = {}
    data = _construct(node, (), positions, path) if node is not None else None
    return Document(path=path, data=data, positions=positions)


_SCALARS = yaml.SafeLoader("")


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _construct(
    node: yaml.Node, at: Path_, positions: dict[Path_, tuple[int, int]], path: Path
) -> Any:
    """Build Python values from a node tree; a mapping entry's position is its key's.

    Raises:
        SpecError: a mapping holds the same key twice.
    """
    positions.setdefault(at, _mark(node))
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _SCALARS.construct_object(key_node)
            if key in result:
                raise _duplicate(key, key_node, positions[(*at, str(key))], at, path)
            positions[(*at, str(key))] = _mark(key_node)
            result[key] = _construct(value_node, (*at, str(key)), positions, path)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*at, i), positions, path) for i, item in enumerate(node.value)]
    return _SCALARS.construct_object(node)


def _duplicate(
    key: Any, node: yaml.Node, first: tuple[int, int], at: Path_, path: Path
) -> SpecError:
    """A key written twice in one mapping (YAML would silently keep the last one)."""
    field = ".".join(str(p) for p in (*at, key))
    line, col = _mark(node)
    return SpecError(
        f"duplicate key `{field}`",
        location=Location(path, line, col),
        hint=f"`{key}` is first defined at line {first[0]}; keep one definition",
    )


def spec_error(
    exc: ValidationError, doc: Document, *, prefix: Path_ = (), known: Iterable[str] = ()
) -> SpecError:
    """The first problem of a validation error, located in the YAML file."""
    return spec_errors(exc, doc, prefix=prefix, known=known)[0]


def spec_errors(
    exc: ValidationError, doc: Document, *, prefix: Path_ = (), known: Iterable[str] = ()
) -> list[SpecError]:
    """Every problem of a validation error, located in the YAML file: one per field, a
    misspelled key first (it also makes the real one "missing", which is then not
    reported again)."""
    errors = exc.errors()
    typos = [e for e in errors if e["type"] == "extra_forbidden"]
    typo_parents = {tuple(e["loc"][:-1]) for e in typos}
    rest = [
        e
        for e in errors
        if e["type"] != "extra_forbidden"
        and not (e["type"] == "missing" and tuple(e["loc"][:-1]) in typo_parents)
    ]
    out: list[SpecError] = []
    seen: set[Path_] = set()
    for error in [*typos, *rest]:
        loc = tuple(str(p) if not isinstance(p, int) else p for p in error["loc"])
        if loc in seen:
            continue  # one problem per field (a union reports each of its members)
        seen.add(loc)
        out.append(_located(error, loc, doc, prefix=prefix, known=known))
    return out


def _located(
    error: Any, loc: Path_, doc: Document, *, prefix: Path_, known: Iterable[str]
) -> SpecError:
    full = (*prefix, *loc)
    field = ".".join(str(p) for p in full) or "(top level)"
    hint = None
    if error["type"] == "extra_forbidden" and loc:
        hint = did_you_mean(str(loc[-1]), known)
        message = f"unknown field `{field}`"
    else:
        message = f"`{field}`: {error['msg'].lower()}"
    return SpecError(message, location=doc.location(full), hint=hint)
