"""Documentation that cannot drift: the generated references equal what the code renders,
every error code, CLI command and setting is documented."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
from pydantic import BaseModel

from tagwise import errors
from tagwise.cli import reference
from tagwise.cli.app import app
from tagwise.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def test_every_error_code_is_documented() -> None:
    text = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    classes = [
        c
        for _, c in inspect.getmembers(errors, inspect.isclass)
        if issubclass(c, errors.TagwiseError)
    ]
    assert len(classes) >= 9
    for cls in classes:
        assert f"`{cls.code}`" in text, cls.__name__
        assert f"`{cls.__name__}`" in text, cls.__name__


def test_error_codes_are_unique() -> None:
    codes = [
        c.code
        for _, c in inspect.getmembers(errors, inspect.isclass)
        if issubclass(c, errors.TagwiseError)
    ]
    assert len(codes) == len(set(codes))


def test_every_cli_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert {"demo", "init", "ingest", "quarantine", "lint", "plan", "apply", "run"} <= set(names)
    for name in names:
        assert f"tagwise {name}" in readme or f"shop {name}" in readme, name
    for group in app.registered_groups:
        sub = group.typer_instance
        for command in sub.registered_commands:
            assert f"{group.name} {command.name}" in readme, (group.name, command.name)


@pytest.mark.parametrize("name", sorted(reference.FILES))
def test_generated_reference_is_up_to_date(name: str) -> None:
    """datasette's `cog --check`: the checked-in file is exactly what the code renders."""
    checked_in = (ROOT / "docs" / name).read_text(encoding="utf-8")
    assert checked_in == reference.FILES[name](), (
        f"docs/{name} differs from the code: run `make docs` and commit the result"
    )


def test_cli_reference_does_not_depend_on_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    wide = reference.render()
    monkeypatch.setenv("COLUMNS", "40")
    assert reference.render() == wide


def leaf_settings(model: type[BaseModel], prefix: str = "") -> list[str]:
    found: list[str] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found += leaf_settings(annotation, f"{prefix}{name}.")
        else:
            found.append(f"{prefix}{name}")
    return found


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    names = leaf_settings(Settings)
    assert {"name", "catalog.url", "identity.matching.upper"} <= set(names)
    for name in names:
        assert f"| `{name}` |" in text, name


def test_every_cli_command_and_option_is_in_the_reference() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for command in app.registered_commands:
        name = command.name or command.callback.__name__.replace("_", "-")
        assert f"## `tagwise {name}`" in text, name
    for group in app.registered_groups:
        assert f"## `tagwise {group.name}`" in text, group.name
        for command in group.typer_instance.registered_commands:
            assert f"## `tagwise {group.name} {command.name}`" in text, (group.name, command.name)
    run_section = text.split("## `tagwise run`", 1)[1].split("\n## ", 1)[0]
    for option in ("--tags", "--as-of", "--due", "--engine", "--json"):
        assert f"`{option}" in run_section, option
