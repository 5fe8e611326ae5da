"""Dependencies point inward (STYLE.md 1), no import circles, the public API is exactly what
__init__ exports, and the identity tables are read only by the identity package.

The import graph is built from the source (an AST walk of every module, imports inside
functions included), so a lazy import counts as much as one at the top.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import tagwise

SRC = Path(tagwise.__file__).resolve().parent
INTERFACES = ("tagwise.cli", "tagwise.api", "tagwise.web")
FOUNDATION = frozenset({"tagwise._version", "tagwise.errors"})
"""Modules every layer may import: the version and the exception tree."""

ALLOWED: dict[str, frozenset[str]] = {
    "tagwise.model": frozenset(),
    "tagwise.lang": frozenset({"tagwise.model"}),
    # the settings take the engine names from the registry, a table that imports no engine
    "tagwise.settings": frozenset({"tagwise.engine.registry"}),
    "tagwise.spec": frozenset({"tagwise.model", "tagwise.lang", "tagwise.settings"}),
    "tagwise.store": frozenset({"tagwise.model", "tagwise.lang", "tagwise.settings"}),
    "tagwise.compile": frozenset(
        {
            "tagwise.model",
            "tagwise.lang",
            "tagwise.settings",
            "tagwise.spec",
            "tagwise.store",
        }
    ),
    "tagwise.specs": frozenset(
        {"tagwise.model", "tagwise.lang", "tagwise.settings", "tagwise.spec", "tagwise.compile"}
    ),
    "tagwise.engine": frozenset(
        {
            "tagwise.model",
            "tagwise.lang",
            "tagwise.settings",
            "tagwise.spec",
            "tagwise.specs",
            "tagwise.store",
            "tagwise.compile",
            # the PostgreSQL engine publishes the customer keys that resolution moved
            "tagwise.identity.store",
        }
    ),
    "tagwise.identity": frozenset(
        {
            "tagwise.model",
            "tagwise.settings",
            "tagwise.spec",
            "tagwise.store",
            # matching on Spark shares the engine's session and its error translation
            "tagwise.engine.spark",
        }
    ),
    "tagwise.ingest": frozenset(
        {"tagwise.model", "tagwise.settings", "tagwise.spec", "tagwise.store", "tagwise.identity"}
    ),
    "tagwise.demo": frozenset({"tagwise.model"}),
    # the segment index follows the tag store and answers the rest with the warehouse
    "tagwise.index": frozenset(
        {
            "tagwise.model",
            "tagwise.lang",
            "tagwise.settings",
            "tagwise.spec",
            "tagwise.specs",
            "tagwise.store",
            "tagwise.compile.features",
            "tagwise.identity.store",
            "tagwise.results",
        }
    ),
    # the profile operation of the facade: typed against the Workspace it belongs to
    "tagwise.explain": frozenset(
        {
            "tagwise.model",
            "tagwise.lang",
            "tagwise.settings",
            "tagwise.spec",
            "tagwise.specs",
            "tagwise.store",
            "tagwise.compile",
            "tagwise.engine",
            "tagwise.identity",
            "tagwise.workspace",
            "tagwise.results",
        }
    ),
    # audiences: the segment operations of the facade, typed against the Workspace (as
    # tagwise.explain); they read the stores and the index, return the typed results
    "tagwise.audience": frozenset(
        {
            "tagwise.model",
            "tagwise.lang",
            "tagwise.settings",
            "tagwise.spec",
            "tagwise.specs",
            "tagwise.store",
            "tagwise.compile",
            "tagwise.engine",
            "tagwise.identity",
            "tagwise.index",
            "tagwise.workspace",
            "tagwise.results",
        }
    ),
    "tagwise.workspace": frozenset(
        {
            "tagwise.model",
            "tagwise.lang",
            "tagwise.settings",
            "tagwise.spec",
            "tagwise.specs",
            "tagwise.store",
            "tagwise.compile",
            "tagwise.engine",
            "tagwise.identity",
            "tagwise.ingest",
            "tagwise.explain",
            "tagwise.audience",
            "tagwise.demo",
            "tagwise.index",
            "tagwise.results",
        }
    ),
    "tagwise.cli": frozenset(
        {"tagwise.cli", "tagwise.workspace", "tagwise.settings", "tagwise.results"}
    ),
    "tagwise.__main__": frozenset({"tagwise.cli"}),
    "tagwise": frozenset({"tagwise.workspace"}),
}
"""What each part may import (besides itself and :data:`FOUNDATION`). A name allows the
module or package and everything under it."""

INTERFACE_EXCEPTIONS: dict[str, str] = {
    "tagwise.engine.pipeline": "`tagwise run` checks an --as-of date before the workspace "
    "opens (check_as_of)",
    "tagwise.demo": "`tagwise demo` runs the generator, which is not a workspace operation",
}
"""Imports of the CLI beyond the workspace, errors and settings, each with its reason."""


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__")


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in SRC.rglob("*.py")}


def _resolve(name: str) -> str | None:
    """The module of ``tagwise`` an imported name lives in (a package's __init__ for a
    name it defines)."""
    known = modules()
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _type_only(tree: ast.Module) -> set[int]:
    """The ids of the nodes under ``if TYPE_CHECKING:``."""
    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for statement in node.body:
                found.update(id(n) for n in ast.walk(statement))
    return found


def _imported(node: ast.AST, me: str, path: Path) -> Iterator[str]:
    if isinstance(node, ast.Import):
        yield from (a.name for a in node.names)
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:  # relative: from the module's package
            package = me if path.name == "__init__.py" else me.rpartition(".")[0]
            for _ in range(node.level - 1):
                package = package.rpartition(".")[0]
            base = f"{package}.{base}" if base else package
        for alias in node.names:
            # `from tagwise.identity import store` imports the module tagwise.identity.store
            full = f"{base}.{alias.name}"
            yield full if full in modules() else base


@cache
def imports_of(name: str, *, type_only: bool = True) -> frozenset[str]:
    """The tagwise modules that module ``name`` imports (with ``type_only``: also those
    under ``if TYPE_CHECKING:``)."""
    path = modules()[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped = set() if type_only else _type_only(tree)
    found = {
        _resolve(target)
        for node in ast.walk(tree)
        if id(node) not in skipped
        for target in _imported(node, name, path)
        if target == "tagwise" or target.startswith("tagwise.")
    }
    return frozenset(m for m in found if m is not None and m != name)


def _part(name: str) -> str:
    """The entry of :data:`ALLOWED` a module belongs to (the longest matching prefix)."""
    matches = [p for p in ALLOWED if name == p or name.startswith(p + ".")]
    assert matches, f"{name} belongs to no part of ALLOWED: add it"
    return max(matches, key=len)


def _within(target: str, allowed: frozenset[str]) -> bool:
    return any(target == a or target.startswith(a + ".") for a in allowed)


def test_dependencies_point_inward() -> None:
    """Each module imports only its own part, the foundation, and the parts its entry of
    ALLOWED names (the CLI additionally the listed exceptions)."""
    wrong = []
    for name in sorted(modules()):
        part = _part(name)
        allowed = ALLOWED[part] | FOUNDATION | {part}
        if part == "tagwise.cli":
            allowed |= frozenset(INTERFACE_EXCEPTIONS)
        wrong += [f"{name} → {t}" for t in sorted(imports_of(name)) if not _within(t, allowed)]
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_model_imports_nothing_from_tagwise() -> None:
    for name in modules():
        if _part(name) == "tagwise.model":
            assert not {t for t in imports_of(name) if _part(t) != "tagwise.model"}, name


def test_no_module_outside_an_interface_imports_an_interface() -> None:
    for name in modules():
        if _part(name) in {"tagwise.cli", "tagwise.__main__"}:
            continue
        bad = {m for m in imports_of(name) if m.startswith(INTERFACES)}
        assert not bad, f"{name} imports {bad}"


def test_the_interface_exceptions_are_still_needed() -> None:
    """A listed exception that no CLI module uses any more is removed from the list."""
    used = {
        t
        for name in modules()
        if _part(name) == "tagwise.cli"
        for t in imports_of(name)
        if not t.startswith("tagwise.cli")
    }
    for exception in INTERFACE_EXCEPTIONS:
        assert any(_within(t, frozenset({exception})) for t in used), exception


def _cycle(graph: dict[str, frozenset[str]]) -> list[str] | None:
    """One import circle of the graph, as the list of its modules, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_cycle_finder_finds_a_circle() -> None:
    graph = {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset()}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": frozenset({"b"}), "b": frozenset()}) is None


def test_no_import_circles() -> None:
    """No module reaches itself through imports that run (at import time or inside a
    function); imports for type checking only do not run and are left out."""
    graph = {name: imports_of(name, type_only=False) for name in modules()}
    cycle = _cycle(graph)
    assert cycle is None, "import circle: " + " → ".join(cycle or [])


def test_public_api_is_sorted_and_complete() -> None:
    assert tagwise.__all__ == sorted(tagwise.__all__)
    subpackages = {n for n in dir(tagwise) if f"tagwise.{n}" in modules()}
    public = {n for n in dir(tagwise) if not n.startswith("_")} - subpackages - {"annotations"}
    assert public == set(tagwise.__all__) - {"__version__"}


def test_only_the_identity_package_names_identity_tables() -> None:
    """No SQL (nor any text) outside tagwise.identity names an ``ident.`` table."""
    pattern = re.compile(r"\bident\.[a-z_]+")
    found = [
        f"{name}: {match.group()}"
        for name, path in sorted(modules().items())
        if not name.startswith("tagwise.identity")
        for match in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not found, found


def test_no_sql_is_built_from_f_strings_of_raw_names() -> None:
    """SQL text may interpolate only quoted identifiers/literals (store/sql.py) and
    fixed fragments; a bare {name} inside quotes would be pasting user text."""
    for package in ("ingest", "store", "identity"):
        for path in (SRC / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert "'{" not in text, path
