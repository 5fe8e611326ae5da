"""The starter taxonomy shipped with the demo: features.yaml, taxonomy.yaml and tags/*.yaml.

Its own guard until the real loaders and lint cover it: every definition validates against
the spec models, follows the naming rules of docs/tags.md, and every expression type-checks
against the profile (customer attributes + features + tags) or, for a feature's ``where``,
against its source's columns.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from tagwise.lang import Column, Schema, Type, check, check_condition, parse
from tagwise.lang.ast import Call, Expr, Literal, Name
from tagwise.lang.types import TAG_TYPES
from tagwise.spec.features import NEEDS_COLUMN, Agg, FeatureSpec
from tagwise.spec.tags import TagKind, TagSpec

TEMPLATES = Path(__file__).parents[2] / "src" / "tagwise" / "demo" / "templates"
FAMILIES = (
    "basic",
    "behavior",
    "preference",
    "psychology",
    "value",
    "lifecycle",
    "social",
    "risk",
)
CODE = re.compile(r"^[a-z][a-z0-9_]{1,62}$")
FEATURE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
VAGUE_WORDS = ("重要", "一般", "好", "优质", "高端", "核心", "潜力")
NOT_VAGUE = ("偏好", "爱好", "喜好", "嗜好", "好评", "友好")
"""Words holding a vague word (好) without being vague, as in the naming lint."""
MAX_NAME_LENGTH = 20
NUMERIC_THRESHOLD = re.compile(
    r"(<=|>=|<>|!=|[<>=])\s*-?\d|\d\s*(<=|>=|<>|!=|[<>=])|between\s+-?\d"
)
COLUMN_TYPES = {
    "string": Type.STRING,
    "phone": Type.STRING,
    "email": Type.STRING,
    "gender": Type.STRING,
    "integer": Type.NUMBER,
    "number": Type.NUMBER,
    "boolean": Type.BOOLEAN,
    "date": Type.DATE,
    "timestamp": Type.TIMESTAMP,
}
NUMBER_AGGS = {
    Agg.COUNT,
    Agg.SUM,
    Agg.AVG,
    Agg.COUNT_DISTINCT,
    Agg.SHARE,
    Agg.DAYS_SINCE_LAST,
    Agg.DAYS_SINCE_FIRST,
}


# -- loading -----------------------------------------------------------------------------


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def sources() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = _yaml(TEMPLATES / "sources.yaml")["sources"]
    return found


@cache
def features() -> dict[str, FeatureSpec]:
    raw = _yaml(TEMPLATES / "features.yaml")["features"]
    return {name: FeatureSpec.model_validate({**body, "name": name}) for name, body in raw.items()}


@cache
def categories() -> dict[str, tuple[dict[str, Any], str]]:
    """Every category by code, with the code of its top-level family."""
    found: dict[str, tuple[dict[str, Any], str]] = {}

    def walk(node: dict[str, Any], family: str) -> None:
        assert node["code"] not in found, f"duplicate category code {node['code']}"
        found[node["code"]] = (node, family)
        for child in node.get("children", []):
            walk(child, family)

    for root in _yaml(TEMPLATES / "taxonomy.yaml")["categories"]:
        walk(root, root["code"])
    return found


@cache
def raw_tags() -> list[tuple[str, dict[str, Any]]]:
    """(family of the file, raw tag mapping) for every tag of every tags file, in order."""
    return [
        (path.stem, body)
        for path in sorted((TEMPLATES / "tags").glob("*.yaml"))
        for body in _yaml(path)["tags"]
    ]


@cache
def tags() -> dict[str, TagSpec]:
    specs: dict[str, TagSpec] = {}
    for _, body in raw_tags():
        spec = TagSpec.model_validate(body)
        assert spec.code not in specs, f"tag code `{spec.code}` is defined twice"
        specs[spec.code] = spec
    return specs


def customer_columns() -> dict[str, Type]:
    (master,) = [s for s in sources().values() if s.get("role") == "customers"]
    return {name: COLUMN_TYPES[c.get("type", "string")] for name, c in master["columns"].items()}


def source_columns(source: str) -> dict[str, Type]:
    columns = sources()[source]["columns"]
    return {name: COLUMN_TYPES[c.get("type", "string")] for name, c in columns.items()}


def feature_type(spec: FeatureSpec) -> Type:
    if spec.agg in NUMBER_AGGS:
        return Type.NUMBER
    assert spec.column is not None
    return source_columns(spec.source)[spec.column]


@cache
def profile_schema() -> Schema:
    """What tag expressions see: attributes, features, and tags (typed by kind)."""
    columns = [Column(name, t, "attribute") for name, t in customer_columns().items()]
    columns += [Column(name, feature_type(f), "feature") for name, f in features().items()]
    columns += [
        Column(code, TAG_TYPES[spec.kind.value], "tag", spec.kind.value)
        for code, spec in tags().items()
    ]
    return Schema(columns)


def expressions(spec: TagSpec) -> Iterator[tuple[str, str, bool]]:
    """(where, text, is_condition) of every expression of a tag."""
    if isinstance(spec.rule, str):
        yield "rule", spec.rule, True
    elif spec.rule is not None:
        for i, branch in enumerate(spec.rule):
            if branch.when is not None:
                yield f"rule[{i}].when", branch.when, True
    if spec.score is not None:
        yield "score", spec.score, False


def names_in(expr: Expr) -> Iterator[str]:
    """Every column name an expression reads, including tags named by has_tag."""
    if isinstance(expr, Name):
        yield expr.name
    if isinstance(expr, Call) and expr.name == "has_tag" and isinstance(expr.args[0], Literal):
        yield str(expr.args[0].value)
    for field in dataclasses.fields(expr):
        value = getattr(expr, field.name)
        for child in value if isinstance(value, tuple) else (value,):
            if isinstance(child, Expr):
                yield from names_in(child)


TAG_IDS = [str(body.get("code")) for _, body in raw_tags()]
FEATURE_IDS = list(_yaml(TEMPLATES / "features.yaml")["features"])


# -- taxonomy ----------------------------------------------------------------------------


def test_taxonomy_has_the_eight_families_with_prefixes() -> None:
    roots = _yaml(TEMPLATES / "taxonomy.yaml")["categories"]
    assert [r["code"] for r in roots] == list(FAMILIES)
    for code, (node, family) in categories().items():
        assert CODE.match(code), code
        assert node["name"] and node["prefix"], code
        assert node["prefix"] == categories()[family][0]["prefix"], (
            f"subcategory `{code}` must share its family's prefix (display names carry it)"
        )


def test_one_tags_file_per_family() -> None:
    files = sorted(p.stem for p in (TEMPLATES / "tags").glob("*.yaml"))
    assert files == sorted(FAMILIES)


# -- features ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", FEATURE_IDS)
def test_feature_is_valid(name: str) -> None:
    spec = features()[name]
    assert FEATURE_NAME.match(name)
    assert name not in customer_columns(), "a feature may not reuse an attribute's name"
    assert spec.source in sources(), f"unknown source `{spec.source}`"
    source = sources()[spec.source]
    assert source.get("customer_key"), "a feature's source needs a customer_key"
    columns = source_columns(spec.source)
    if spec.agg in NEEDS_COLUMN:
        assert spec.column in columns, f"`{spec.agg}` needs a column of `{spec.source}`"
    if spec.agg in (Agg.SUM, Agg.AVG):
        assert columns[spec.column] is Type.NUMBER  # type: ignore[index]
    if spec.agg in (Agg.MIN, Agg.MAX):
        assert columns[spec.column] is not Type.BOOLEAN, "min/max need an ordered column"  # type: ignore[index]
    if spec.agg is Agg.SHARE:
        assert spec.where, "share needs where"
    temporal = [c for c, t in columns.items() if t in (Type.DATE, Type.TIMESTAMP)]
    time = spec.time or source.get("time_column") or (temporal[0] if temporal else None)
    if spec.window or spec.agg in (Agg.DAYS_SINCE_LAST, Agg.DAYS_SINCE_FIRST):
        assert time in temporal, f"`{spec.source}` has no time column for windows"
    if spec.where:
        schema = Schema(Column(c, t, "attribute") for c, t in columns.items())
        check_condition(parse(spec.where), schema, source=spec.where)
    assert spec.description


def test_every_feature_is_read_by_a_tag() -> None:
    read = {n for spec in tags().values() for _, text, _ in expressions(spec)
            for n in names_in(parse(text))}  # fmt: skip
    assert sorted(set(features()) - read) == []


# -- tags --------------------------------------------------------------------------------


def test_codes_and_display_names_are_unique() -> None:
    codes = [str(body["code"]) for _, body in raw_tags()]
    names = [str(body["name"]) for _, body in raw_tags()]
    assert len(codes) == len(set(codes)), "duplicate tag codes"
    assert len(names) == len(set(names)), "duplicate display names"
    assert not set(codes) & (set(features()) | set(customer_columns())), (
        "tag codes share the profile's namespace with attributes and features"
    )


@pytest.mark.parametrize("code", TAG_IDS)
def test_tag_follows_the_naming_and_governance_rules(code: str) -> None:
    family = next(f for f, body in raw_tags() if body.get("code") == code)
    spec = tags()[code]
    assert CODE.match(spec.code)
    assert spec.category in categories(), f"unknown category `{spec.category}`"
    category, category_family = categories()[spec.category]
    assert category_family == family, f"`{code}` sits in tags/{family}.yaml"
    assert spec.name.startswith(f"{category['prefix']}_")
    assert len(spec.name) <= MAX_NAME_LENGTH
    wording = spec.name.removeprefix(f"{category['prefix']}_")
    for compound in NOT_VAGUE:
        wording = wording.replace(compound, "_")
    if any(word in wording for word in VAGUE_WORDS):
        texts = [text for _, text, _ in expressions(spec)]
        assert any(NUMERIC_THRESHOLD.search(t) for t in texts), "vague name needs a threshold"
    assert spec.description.strip()
    assert spec.owner.strip()
    assert spec.rule is not None or spec.score is not None or spec.sql is not None
    if family == "risk":
        assert spec.sensitivity.value in ("confidential", "secret")


@pytest.mark.parametrize("code", TAG_IDS)
def test_tag_values_are_declared(code: str) -> None:
    spec = tags()[code]
    if spec.kind in (TagKind.ENUM, TagKind.MULTI) or spec.bands:
        assert spec.values, "enum, multi and banded score tags list their values"
    assert len(spec.values) == len(set(spec.values))
    assigned = spec.rule_values()
    assert set(assigned) <= set(spec.values), set(assigned) - set(spec.values)
    if spec.kind in (TagKind.ENUM, TagKind.MULTI) and spec.sql is None:
        assert set(assigned) == set(spec.values), "every declared value can be assigned"
    if spec.sql is not None:
        quoted = set(re.findall(r"'([^']*)' AS value", spec.sql))
        assert quoted == set(spec.values), "the SQL assigns exactly the declared values"


@pytest.mark.parametrize("code", TAG_IDS)
def test_tag_expressions_type_check(code: str) -> None:
    spec = tags()[code]
    schema = profile_schema()
    found = list(expressions(spec))
    assert found or spec.sql is not None  # SQL tags are checked by lint (compile/sqltags.py)
    for _, text, is_condition in found:
        if is_condition:
            check_condition(parse(text), schema, source=text)
        else:
            assert check(parse(text), schema, source=text).type in (Type.NUMBER, Type.NULL)


def test_tag_dependencies_have_no_cycle() -> None:
    specs = tags()
    deps = {
        code: {n for _, text, _ in expressions(spec) for n in names_in(parse(text))} & set(specs)
        for code, spec in specs.items()
    }
    done: set[str] = set()

    def visit(code: str, path: tuple[str, ...]) -> None:
        assert code not in path, " → ".join((*path, code))
        if code in done:
            return
        for dep in deps[code]:
            visit(dep, (*path, code))
        done.add(code)

    for code in specs:
        visit(code, ())
