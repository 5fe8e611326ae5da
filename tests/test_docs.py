"""Documentation that cannot drift: every error code and CLI command is documented."""

from __future__ import annotations

import inspect
from pathlib import Path

from tagwise import errors
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


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    for group_name, field in Settings.model_fields.items():
        annotation = field.annotation
        if hasattr(annotation, "model_fields"):
            for name in annotation.model_fields:
                assert f"`{group_name}.{name}`" in text, f"{group_name}.{name}"
        else:
            assert f"`{group_name}`" in text, group_name
