"""Dependencies point inward (STYLE.md 1): nothing imports the interfaces; the core
imports no interface; the public API is exactly what __init__ exports."""

from __future__ import annotations

import ast
from pathlib import Path

import tagwise

SRC = Path(tagwise.__file__).resolve().parent
INTERFACES = ("tagwise.cli", "tagwise.api", "tagwise.web")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(p for p in parts if p != "__init__")


def test_no_module_outside_an_interface_imports_an_interface() -> None:
    for path in SRC.rglob("*.py"):
        name = module_name(path)
        if name.startswith(INTERFACES) or name == "tagwise.__main__":
            continue
        bad = {m for m in imports_of(path) if m.startswith(INTERFACES)}
        assert not bad, f"{name} imports {bad}"


def test_model_and_lang_and_spec_do_not_import_stores() -> None:
    for package in ("spec",):
        for path in (SRC / package).rglob("*.py"):
            bad = {m for m in imports_of(path) if m.startswith(("tagwise.store", "tagwise.ingest"))}
            assert not bad, f"{module_name(path)} imports {bad}"


def test_public_api_is_sorted_and_complete() -> None:
    assert tagwise.__all__ == sorted(tagwise.__all__)
    public = {
        n
        for n in dir(tagwise)
        if not n.startswith("_")
        and n
        not in {
            "annotations",
            "cli",
            "demo",
            "engine",
            "errors",
            "explain",
            "ingest",
            "lang",
            "model",
            "results",
            "settings",
            "spec",
            "specs",
            "store",
            "workspace",
        }
    }
    assert public == set(tagwise.__all__) - {"__version__"}


def test_no_sql_is_built_from_f_strings_of_raw_names() -> None:
    """SQL text may interpolate only quoted identifiers/literals (store/sql.py) and
    fixed fragments; a bare {name} inside quotes would be pasting user text."""
    for package in ("ingest", "store"):
        for path in (SRC / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            assert "'{" not in text, path


CLI_MAY_IMPORT = (
    "tagwise.cli",
    "tagwise.workspace",
    "tagwise.errors",
    "tagwise.settings",
    "tagwise.results",
    "tagwise.demo",  # `tagwise demo` runs the data generator, which no operation owns
)


def test_the_cli_imports_only_the_workspace_errors_settings_and_results() -> None:
    """STYLE.md 1: interfaces read typed results; they never reach into engines or stores."""
    for path in (SRC / "cli").rglob("*.py"):
        inside = {m for m in imports_of(path) if m.startswith("tagwise.")}
        bad = {m for m in inside if not m.startswith(CLI_MAY_IMPORT)}
        assert not bad, f"{module_name(path)} imports {bad}"


def test_the_cli_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from tagwise.engine.pipeline import RunReport\n", encoding="utf-8")
    assert {m for m in imports_of(bad) if not m.startswith(CLI_MAY_IMPORT)} == {
        "tagwise.engine.pipeline"
    }
