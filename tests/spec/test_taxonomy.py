"""taxonomy.yaml: the category tree, its default, and located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagwise.errors import SpecError
from tagwise.spec.taxonomy import DEFAULT_TAXONOMY, Category, Taxonomy, load_taxonomy


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(text, encoding="utf-8")
    return path


TREE = """\
categories:
  - code: value
    name: 价值
    description: 消费能力与贡献
  - code: risk
    name: 风险
    prefix: 风险
    children:
      - code: credit_risk
        name: 信用风险
        prefix: 风险
        children:
          - {code: overdue, name: 逾期, prefix: 风险}
      - {code: fraud, name: 欺诈, prefix: 风险}
  - {code: social, name: 社交, prefix: 社交}
"""


def test_missing_file_gives_the_default_eight_families(tmp_path: Path) -> None:
    taxonomy = load_taxonomy(tmp_path / "taxonomy.yaml")
    assert taxonomy is DEFAULT_TAXONOMY
    assert [c.code for c in taxonomy.roots] == [
        "basic",
        "behavior",
        "preference",
        "psychology",
        "value",
        "lifecycle",
        "social",
        "risk",
    ]
    assert taxonomy.codes[-1] == "credit_risk"
    assert taxonomy["basic"].name == "基础属性"
    assert taxonomy["basic"].prefix == "基础"
    assert taxonomy["lifecycle"].prefix == "生命周期"
    assert taxonomy.parent("credit_risk") == taxonomy["risk"]
    assert taxonomy.file is None


def test_tree_lookup_parent_path_and_order(tmp_path: Path) -> None:
    taxonomy = load_taxonomy(write(tmp_path, TREE))
    assert [c.code for c in taxonomy] == [
        "value",
        "risk",
        "credit_risk",
        "overdue",
        "fraud",
        "social",
    ]
    assert len(taxonomy) == 6
    assert "overdue" in taxonomy
    assert "nope" not in taxonomy
    assert taxonomy.get("nope") is None
    assert taxonomy.parent("value") is None
    assert taxonomy.parent("fraud") == taxonomy["risk"]
    assert [c.code for c in taxonomy.path("overdue")] == ["risk", "credit_risk", "overdue"]
    # prefix defaults to the name
    assert taxonomy["value"].prefix == "价值"
    assert taxonomy["value"].description == "消费能力与贡献"
    assert taxonomy.file == tmp_path / "taxonomy.yaml"
    assert taxonomy.locations["overdue"].line == 13
    assert taxonomy.locations["fraud"].line == 14
    assert taxonomy.locations["risk.prefix"].line == 7


def test_suggest_reads_codes_names_and_prefixes() -> None:
    assert DEFAULT_TAXONOMY.suggest("valeu") == "value"
    assert DEFAULT_TAXONOMY.suggest("价值") == "value"
    assert DEFAULT_TAXONOMY.suggest("基础") == "basic"
    assert DEFAULT_TAXONOMY.suggest("zzz") is None


def test_taxonomy_rejects_duplicates_in_code() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        Taxonomy([Category(code="a", name="A"), Category(code="a", name="B")])


@pytest.mark.parametrize(
    ("text", "line", "fragment", "hint"),
    [
        (
            "categories:\n  - {code: value, name: 价值}\n  - code: risk\n    name: 风险\n"
            "    children:\n      - {code: value, name: 重复}\n",
            6,
            "duplicate category code `value`",
            "first defined at taxonomy.yaml:2",
        ),
        (
            "categories:\n  - {code: Value, name: 价值}\n",
            2,
            "category code `Value` must be snake_case",
            "`name:`",
        ),
        (
            "categories:\n  - {code: value, name: 价值}\n  - code: 风险\n    name: 风险\n",
            3,
            "category code `风险` must be snake_case",
            None,
        ),
        (
            "categories:\n  - code: value\n    name: 价值\n    prefx: 价值\n",
            4,
            "unknown field `categories.0.prefx`",
            "did you mean `prefix`?",
        ),
        (
            "categories:\n  - code: value\n    prefix: 价值\n",
            2,
            "`categories.0.name`: field required",
            None,
        ),
        ("categories: []\n", 1, "expected a list `categories:`", "docs/tags.md"),
        ("categories:\n  - {code: a, name: [x}\n", 2, "invalid YAML", None),
    ],
)
def test_located_errors(tmp_path: Path, text: str, line: int, fragment: str, hint) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_taxonomy(path)
    err = info.value
    assert fragment in err.message
    assert err.location is not None
    assert err.location.path == path
    assert err.location.line == line
    if hint is None:
        assert err.hint is None or "did you mean" not in err.hint
    else:
        assert err.hint is not None
        assert hint in err.hint
