"""The CLI and settings references, generated from the code (docs/cli.md, docs/settings.md).

``make docs`` runs ``python -m tagwise.cli.reference DOCS_DIR`` to rewrite both files, and
``tests/test_docs.py`` fails when a checked-in file differs from what this module renders
(datasette's ``cog --check``), so neither reference can drift from the code.

The CLI reference walks the Click command tree that Typer builds and renders each command
from its parameters directly, never from a help screen: the text does not depend on the
terminal's width. The settings reference renders each field of :class:`Settings` from its
annotation, default and description. Both live here because the CLI is the interface that
already imports everything they read (the Typer app and the settings), and nothing heavier.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
import types
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

import typer
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from tagwise.cli.app import app
from tagwise.settings import CONFIG_FILE, Settings

__all__ = ["FILES", "main", "render", "render_settings"]

_CLI_INTRO = """\
# CLI reference

Generated from the Typer app by `make docs` (`src/tagwise/cli/reference.py`); do not edit
by hand: `tests/test_docs.py` fails when this file differs from the code. Every command also
takes `--help`. Global options (`--workspace`) go before the command:
`tagwise -w shop run`.
"""

_SETTINGS_INTRO = f"""\
# Settings

Generated from `src/tagwise/settings.py` by `make docs` (`src/tagwise/cli/reference.py`);
do not edit by hand: `tests/test_docs.py` fails when this file differs from the code.

Settings come from, in increasing priority: the defaults below, `{CONFIG_FILE}` in the
workspace (a setting `group.name` is the key `name` of the table `[group]`), `TAGWISE_*`
environment variables (nested with `__`, e.g. `TAGWISE_CATALOG__URL`), and explicit
arguments. A setting whose default is "not set" is left out of the file to keep it unset.
"""


# -- the CLI ------------------------------------------------------------------------------


def render() -> str:
    """The CLI reference as Markdown: every command and group, depth first."""
    root = typer.main.get_command(app)
    sections = [_CLI_INTRO]
    for command, ctx in _walk(root, "tagwise", None):
        sections.append(_command_section(command, ctx))
    return "\n".join(sections)


def _walk(command: Any, name: str, parent: Any) -> Iterator[tuple[Any, Any]]:
    ctx = command.context_class(command, info_name=name, parent=parent)
    if getattr(command, "hidden", False):
        return
    yield command, ctx
    if hasattr(command, "list_commands"):
        for sub_name in command.list_commands(ctx):
            yield from _walk(command.get_command(ctx, sub_name), sub_name, ctx)


def _command_section(command: Any, ctx: Any) -> str:
    usage = " ".join([ctx.command_path, *command.collect_usage_pieces(ctx)])
    lines = [f"## `{ctx.command_path}`", "", *_paragraphs(command.help or ""), "```text", usage]
    lines += ["```", ""]
    params = [p for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
    arguments = [p for p in params if p.param_type_name == "argument"]
    options = [p for p in params if p.param_type_name == "option" and p.name != "help"]
    lines += _param_table("argument", arguments, ctx)
    lines += _param_table("option", options, ctx)
    if hasattr(command, "list_commands"):
        lines += _subcommand_table(command, ctx)
    return "\n".join(lines)


def _paragraphs(text: str) -> list[str]:
    """Help text as Markdown paragraphs: docstring line breaks joined, as Click rewraps."""
    text = inspect.cleandoc(text.split("\f", 1)[0])
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        if paragraph.strip():
            out += [" ".join(line.strip() for line in paragraph.splitlines()), ""]
    return out


def _param_table(kind: str, params: Sequence[Any], ctx: Any) -> list[str]:
    if not params:
        return []
    lines = [f"| {kind} | description |", "|---|---|"]
    for param in params:
        record = param.get_help_record(ctx)
        name, help_text = record if record else (param.human_readable_name, "")
        lines.append(f"| `{_cell(name)}` | {_cell(help_text)} |")
    return [*lines, ""]


def _subcommand_table(group: Any, ctx: Any) -> list[str]:
    lines = ["| command | summary |", "|---|---|"]
    for name in group.list_commands(ctx):
        sub = group.get_command(ctx, name)
        if getattr(sub, "hidden", False):
            continue
        summary = sub.short_help or (_paragraphs(sub.help or "") or [""])[0]
        lines.append(f"| `{ctx.command_path} {name}` | {_cell(summary)} |")
    return [*lines, ""]


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


# -- settings -----------------------------------------------------------------------------


def render_settings() -> str:
    """The settings reference as Markdown: one table per group, every field once."""
    sections = [_SETTINGS_INTRO]
    top = [(n, f) for n, f in Settings.model_fields.items() if _group_of(f) is None]
    sections.append(_settings_table("", top, ""))
    for name, field in Settings.model_fields.items():
        group = _group_of(field)
        if group is not None:
            sections += _group_sections(name, group)
    return "\n".join(sections)


def _group_of(field: FieldInfo) -> type[BaseModel] | None:
    annotation = field.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _group_sections(path: str, group: type[BaseModel]) -> list[str]:
    doc = _markdown_doc(group.__doc__ or "")
    plain = [(n, f) for n, f in group.model_fields.items() if _group_of(f) is None]
    sections = [_settings_table(f"## `[{path}]`\n\n{doc}\n", plain, f"{path}.")]
    for name, field in group.model_fields.items():
        sub = _group_of(field)
        if sub is not None:
            sections += _group_sections(f"{path}.{name}", sub)
    return sections


def _markdown_doc(docstring: str) -> str:
    """A docstring as Markdown: reST ``literals`` and :role:`targets` become `code`."""
    text = inspect.cleandoc(docstring).replace("``", "`")
    return re.sub(r":\w+:`~?([^`]+)`", r"`\1`", text)


def _settings_table(heading: str, fields: Sequence[tuple[str, FieldInfo]], prefix: str) -> str:
    lines = [heading] if heading else []
    lines += ["| setting | type | default | description |", "|---|---|---|---|"]
    for name, field in fields:
        row = [f"`{prefix}{name}`", _type_text(field.annotation), _default_text(field)]
        lines.append("| " + " | ".join([*row, _cell(field.description or "")]) + " |")
    return "\n".join([*lines, ""])


def _type_text(annotation: Any) -> str:
    """A field's type in TOML's words: `integer, optional`, `list of string`."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return _one_of([json.dumps(a, ensure_ascii=False) for a in args])
    if origin in (Union, types.UnionType):
        kept = [a for a in args if a is not type(None)]
        text = " or ".join(_type_text(a) for a in kept)
        return f"{text}, optional" if len(kept) < len(args) else text
    if origin in (tuple, list):
        item = _type_text(args[0])
        nested = item.replace("list of ", "lists of ", 1)
        return "list of " + (nested if item.startswith("list") else item)
    if origin is dict:
        return f"table of {_type_text(args[1])}"
    return _TOML_TYPES.get(annotation, getattr(annotation, "__name__", str(annotation)))


_TOML_TYPES: dict[Any, str] = {str: "string", int: "integer", float: "float", bool: "boolean"}


def _one_of(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _default_text(field: FieldInfo) -> str:
    value = field.default
    if value is PydanticUndefined and field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    if value is None:
        return "not set"
    return "`" + _toml(value).replace("|", "\\|") + "`"


def _toml(value: Any) -> str:
    """A default as it is written in ``tagwise.toml``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    msg = f"no TOML form for the default {value!r}"
    raise TypeError(msg)


# -- the files ----------------------------------------------------------------------------

FILES = {"cli.md": render, "settings.md": render_settings}
"""Each generated file of docs/ and the function that renders it."""


def main(argv: Sequence[str] | None = None) -> int:
    """Write the generated references into a docs folder (default: ``docs``)."""
    args = list(sys.argv[1:] if argv is None else argv)
    folder = Path(args[0] if args else "docs")
    for name, build in FILES.items():
        (folder / name).write_text(build(), encoding="utf-8")
        sys.stdout.write(f"wrote {folder / name}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
