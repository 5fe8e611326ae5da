"""Naming rules for tags (docs/tags.md, "Naming rules"; ``[naming]`` in ``tagwise.toml``).

:func:`check_names` returns every problem, each a :class:`~tagwise.errors.SpecError`
located at the offending field (or at the tag when the field is missing), with one-line
messages and a hint. Each rule is one small function in :data:`_CHECKS`; uniqueness of
display names spans tags and runs after them. Unique codes are the loader's job
(:mod:`tagwise.spec.tagfiles` reports a repeated code at the second definition).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tagwise.errors import SpecError, TagwiseError, did_you_mean
from tagwise.settings import NamingSettings
from tagwise.spec.tags import TagKind, TagSpec, TagsSpec
from tagwise.spec.taxonomy import Taxonomy

__all__ = ["check_names", "has_numeric_threshold"]

_STRINGS = re.compile(r"'(?:[^']|'')*'|`[^`]*`")
"""String literals and backquoted names: digits inside them are not thresholds."""
_THRESHOLD = re.compile(
    r"(?:<=|>=|<>|!=|[<>=])\s*[-+]?\d"  # spend_365d >= 10000
    r"|(?<![\w.])\d[\d_.]*\s*(?:<=|>=|<>|!=|[<>=])"  # 10000 <= spend_365d
    r"|\bbetween\s+[-+]?\d",  # days_since(x) between 31 and 90
    re.IGNORECASE,
)
_NEEDS_VALUES = (TagKind.ENUM, TagKind.MULTI)
_NOT_VAGUE = ("偏好", "爱好", "喜好", "嗜好", "好评", "友好")
"""Words that contain a vague word (``好``) without being vague; masked before the scan."""
_KIND_WORDS = {
    TagKind.ENUM: "an enum",
    TagKind.MULTI: "a multi",
    TagKind.SCORE: "a banded score",
    TagKind.FLAG: "a flag",
}


@dataclass(frozen=True, slots=True)
class _Context:
    tags: TagsSpec
    taxonomy: Taxonomy
    rules: NamingSettings
    code_pattern: re.Pattern[str]

    def error(self, tag: TagSpec, field: str | None, message: str, hint: str) -> SpecError:
        return SpecError(message, location=self.tags.where(tag.code, field), hint=hint)


def check_names(tags: TagsSpec, taxonomy: Taxonomy, rules: NamingSettings) -> list[TagwiseError]:
    """Every naming problem of ``tags``, in file order (an empty list when all is well)."""
    ctx = _Context(tags, taxonomy, rules, re.compile(rules.code_pattern))
    errors: list[TagwiseError] = []
    for tag in tags.tags.values():
        for check in _CHECKS:
            errors.extend(check(tag, ctx))
    errors.extend(_unique_names(ctx))
    return errors


def has_numeric_threshold(text: str) -> bool:
    """Whether an expression compares something with a number literal (``x >= 100``)."""
    return bool(_THRESHOLD.search(_STRINGS.sub("''", text)))


def _code(tag: TagSpec, ctx: _Context) -> Iterator[SpecError]:
    if ctx.code_pattern.fullmatch(tag.code):
        return
    snake = re.sub(r"[^a-z0-9_]+", "_", re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", tag.code).lower())
    snake = snake.strip("_")
    hint = (
        f"use `{snake}`"
        if ctx.code_pattern.fullmatch(snake)
        else "codes are snake_case ascii (`naming.code_pattern`)"
    )
    yield ctx.error(
        tag, "code", f"tag code `{tag.code}` does not match `{ctx.rules.code_pattern}`", hint
    )


def _category(tag: TagSpec, ctx: _Context) -> Iterator[SpecError]:
    if tag.category in ctx.taxonomy:
        return
    close = ctx.taxonomy.suggest(tag.category)
    hint = f"did you mean `{close}`?" if close else f"categories: {', '.join(ctx.taxonomy.codes)}"
    yield ctx.error(tag, "category", f"unknown category `{tag.category}`", hint)


def _prefix(tag: TagSpec, ctx: _Context) -> Iterator[SpecError]:
    category = ctx.taxonomy.get(tag.category)
    if not ctx.rules.require_prefix or category is None or not tag.name.strip():
        return
    prefix = f"{category.prefix}_"
    if tag.name.startswith(prefix):
        return
    rest = tag.name.removeprefix(category.prefix).lstrip("_ ")
    yield ctx.error(
        tag,
        "name",
        f"display name `{tag.name}` does not start with the category prefix `{prefix}`",
        f"rename it `{prefix}{rest}`",
    )


def _length(tag: TagSpec, ctx: _Context) -> Iterator[SpecError]:
    limit = ctx.rules.max_name_length
    if len(tag.name) > limit:
        yield ctx.error(
            tag,
            "name",
            f"display name `{tag.name}` has {len(tag.name)} characters, more than {limit}",
            "shorten it; the description holds the details",
        )


def _empty_name(tag: TagSpec, ctx: _Context) -> Iterator[SpecError]:
    if not tag.name.strip():
        yield ctx.error(
            tag, "name", f"tag `{tag.code}` has an empty display name", "give it a short `name:`"
        )


def _vague(tag: TagSpec, ctx: _Context) -> Iterator[SpecError]:
    if _is_concrete(tag):
        return
    text = _without_prefix(tag.name, ctx.taxonomy)
    for compound in _NOT_VAGUE:
        text = text.replace(compound, "_")
    for word in ctx.rules.vague_words:
        if word and word in text:
            yield ctx.error(
                tag,
                "name",
                f"display name uses the vague word `{word}`; "
                "add a threshold to the rule or name it concretely",
                "a rule such as `spend_365d >= 10000` makes it concrete",
            )


def _description(tag: TagSpec, ctx: _Context) -> Iterator[SpecError]:
    if ctx.rules.require_description and not tag.description.strip():
        yield ctx.error(
            tag,
            "description",
            f"tag `{tag.code}` has no description",
            "add `description:` saying what the tag means and how it is computed",
        )


def _owner(tag: TagSpec, ctx: _Context) -> Iterator[SpecError]:
    if ctx.rules.require_owner and not tag.owner.strip():
        yield ctx.error(
            tag,
            "owner",
            f"tag `{tag.code}` has no owner",
            "add `owner:` naming the team responsible for it",
        )


def _values_declared(tag: TagSpec, ctx: _Context) -> Iterator[SpecError]:
    needs = tag.kind in _NEEDS_VALUES or (tag.kind is TagKind.SCORE and bool(tag.bands))
    if not needs or tag.values:
        return
    found = list(dict.fromkeys(tag.rule_values()))
    hint = f"add `values: [{', '.join(found)}]`" if found else "add `values: [...]`"
    what = _KIND_WORDS[tag.kind]
    yield ctx.error(tag, "kind", f"{what} tag `{tag.code}` declares no `values`", hint)


def _values_unique(tag: TagSpec, ctx: _Context) -> Iterator[SpecError]:
    seen: set[str] = set()
    for k, value in enumerate(tag.values):
        if value in seen:
            yield ctx.error(
                tag, f"values.{k}", f"value `{value}` is listed twice in `values`", "remove it"
            )
        seen.add(value)


def _values_known(tag: TagSpec, ctx: _Context) -> Iterator[SpecError]:
    if not tag.values:
        return
    if isinstance(tag.rule, tuple):
        places = [
            (f"rule.{j}.{'else' if b.is_else else 'value'}", b.result)
            for j, b in enumerate(tag.rule)
        ]
    else:
        places = [(f"bands.{j}.value", b.value) for j, b in enumerate(tag.bands)]
    for field, value in places:
        if value in tag.values:
            continue
        hint = did_you_mean(value, tag.values) or "add it to `values`"
        what = "band" if field.startswith("bands") else "rule"
        yield ctx.error(tag, field, f"{what} value `{value}` is not in `values`", hint)


def _unique_names(ctx: _Context) -> Iterator[SpecError]:
    first: dict[str, TagSpec] = {}
    for tag in ctx.tags.tags.values():
        name = tag.name.strip()
        if not name:
            continue
        if name not in first:
            first[name] = tag
            continue
        other = first[name]
        where = ctx.tags.where(other.code, "name")
        at = f" at {Path(where.path).name}:{where.line}" if where else ""
        yield ctx.error(
            tag,
            "name",
            f"display name `{tag.name}` is also used by tag `{other.code}`",
            f"display names are unique; `{other.code}` uses it first{at}",
        )


def _is_concrete(tag: TagSpec) -> bool:
    """Whether a numeric threshold makes the tag's vague wording concrete."""
    if isinstance(tag.rule, str):
        texts = [tag.rule]
    elif isinstance(tag.rule, tuple):
        texts = [b.when for b in tag.rule if b.when]
    else:
        texts = [tag.sql or ""]
    if any(b.min is not None for b in tag.bands):
        return True
    return any(has_numeric_threshold(text) for text in texts)


def _without_prefix(name: str, taxonomy: Taxonomy) -> str:
    """The name without its category prefix: ``偏好_`` must not count as the word ``好``."""
    prefixes = sorted({f"{c.prefix}_" for c in taxonomy}, key=len, reverse=True)
    return next((name.removeprefix(p) for p in prefixes if name.startswith(p)), name)


_CHECKS: tuple[Callable[[TagSpec, _Context], Iterator[SpecError]], ...] = (
    _code,
    _category,
    _empty_name,
    _prefix,
    _length,
    _vague,
    _description,
    _owner,
    _values_declared,
    _values_unique,
    _values_known,
)
"""The per-tag rules, in the order their errors are reported."""
