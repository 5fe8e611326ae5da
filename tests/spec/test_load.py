"""YAML loading with positions: a key written twice is an error, and `lint` reports every
problem of every file (issue #12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagwise.errors import SpecError
from tagwise.spec.features import load_features
from tagwise.spec.load import SpecProblems, load_yaml
from tagwise.spec.sources import load_sources
from tagwise.spec.taxonomy import load_taxonomy

SOURCES = """\
sources:
  customers:
    role: customers
    path: customers.csv
    customer_key: customer_id
    columns:
      customer_id: {type: string, required: true}
      city: {type: string}
      city: {type: integer}
"""

FEATURES = """\
features:
  spend_365d: {source: orders, agg: sum, column: amount, window: 365d}
  orders_90d: {source: orders, agg: count, window: 90d}
  spend_365d:
    source: orders
    agg: count
"""

TAXONOMY = """\
categories:
  - code: value
    name: 价值
    prefix: 价值
    name: 价值2
"""


@pytest.mark.parametrize(
    ("text", "line", "col", "field", "first"),
    [
        (SOURCES, 9, 7, "sources.customers.columns.city", 8),
        (FEATURES, 4, 3, "features.spend_365d", 2),
        (TAXONOMY, 5, 5, "categories.0.name", 3),
        ("a: 1\nb:\n  c: 2\n  c: 3\n", 4, 3, "b.c", 3),
    ],
)
def test_a_key_written_twice_is_located_at_its_repeat(
    tmp_path: Path, text: str, line: int, col: int, field: str, first: int
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_yaml(path)
    err = info.value
    assert err.message == f"duplicate key `{field}`"
    assert err.location is not None
    assert (Path(err.location.path), err.location.line, err.location.col) == (path, line, col)
    assert f"first defined at line {first}" in (err.hint or "")


def test_every_loader_refuses_a_repeated_key(tmp_path: Path) -> None:
    for name, text, load in (
        ("sources.yaml", SOURCES, load_sources),
        ("features.yaml", FEATURES, load_features),
        ("taxonomy.yaml", TAXONOMY, load_taxonomy),
    ):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        with pytest.raises(SpecError, match="duplicate key"):
            load(path)


def test_a_file_with_several_problems_reports_each(tmp_path: Path) -> None:
    path = tmp_path / "features.yaml"
    path.write_text(
        "features:\n"
        "  a: {source: orders, agg: summ}\n"
        "  b: {source: orders, agg: count}\n"
        "  Bad-Name: {source: orders, agg: count}\n"
        "  c: {source: orders, agg: count, windw: 7d}\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecProblems) as info:
        load_features(path)
    found = [(p.location.line, p.message.split(":")[0]) for p in info.value.problems]
    assert found == [
        (2, "`features.a.agg`"),
        (4, "feature name `Bad-Name` must be snake_case ascii"),
        (5, "unknown field `features.c.windw`"),
    ]
    assert info.value.problems[2].hint == "did you mean `window`?"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def demo_specs(tmp_path: Path) -> Path:
    """A workspace with the demo's specs (sources, features, taxonomy, tags)."""
    import shutil  # noqa: PLC0415

    import tagwise  # noqa: PLC0415

    root = tmp_path / "shop"
    tagwise.init(root, demo=True).close()
    shutil.rmtree(root / "data")
    (root / "data").mkdir()
    return root


def test_lint_reports_a_duplicate_feature_and_column(cli, tmp_path: Path) -> None:
    root = demo_specs(tmp_path)
    assert cli("-w", root, "lint").code == 0
    edit(
        root / "features.yaml",
        "features:\n",
        "features:\n  orders_total: {source: orders, agg: count}\n",
    )
    edit(
        root / "sources.yaml",
        "      city: {type: string, from: 城市}\n",
        "      city: {type: string, from: 城市}\n      city: {type: integer, from: 城市}\n",
    )
    result = cli("-w", root, "lint", "--json")
    assert result.code == 1
    problems = {(Path(p["file"]).name, p["message"]) for p in result.json()["problems"]}
    assert ("features.yaml", "duplicate key `features.orders_total`") in problems
    assert ("sources.yaml", "duplicate key `sources.customers.columns.city`") in problems


def test_lint_reports_every_problem_of_every_file(cli, tmp_path: Path) -> None:
    root = demo_specs(tmp_path)
    edit(root / "sources.yaml", "gender: {type: gender,", "gender: {type: gendr,")
    edit(root / "sources.yaml", "email: {type: email,", "email: {type: emale,")
    edit(
        root / "features.yaml",
        "agg: sum, column: amount, window: 365d",
        "agg: summ, column: amount, window: 365d",
    )
    edit(
        root / "features.yaml",
        "orders_180d:        {source: orders, agg: count",
        "orders_180d:        {source: orders, agg: cnt",
    )
    edit(root / "taxonomy.yaml", "  - code: basic\n    name:", "  - code: basic\n    nme:")
    edit(root / "tags" / "basic.yaml", "kind: enum", "kind: enumm")
    edit(root / "tags" / "value.yaml", "kind: enum", "kind: enumm")
    result = cli("-w", root, "lint", "--json")
    assert result.code == 1
    problems = result.json()["problems"]
    files = [Path(p["file"]).name for p in problems]
    assert files.count("sources.yaml") == 2
    assert files.count("features.yaml") == 2
    assert files.count("taxonomy.yaml") == 1
    assert files.count("basic.yaml") == 1 and files.count("value.yaml") == 1
    text = cli("-w", root, "lint")
    assert text.err.strip().endswith(f"{len(problems)} problem(s)")
