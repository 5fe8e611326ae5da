"""tags/*.yaml: every tag, where each field is, and every problem located."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagwise.errors import SpecError
from tagwise.spec.tagfiles import collect_tags, load_tags, tag_files
from tagwise.spec.tags import TagKind

VALUE = """\
tags:
  - code: spend_level
    name: 价值_消费等级
    category: value
    kind: enum
    values: [高消费, 中消费, 低消费]
    rule:
      - when: spend_365d >= 100000
        value: 高消费
      - when: spend_365d >= 10000
        value: 中消费
      - else: 低消费
    owner: crm
    description: 近365天已支付订单金额分级
  - code: big_spender
    name: 价值_大额客户
    category: value
    kind: flag
    rule: spend_365d >= 50000
    owner: crm
    description: 近365天消费满5万
"""

RISK = """\
tags:
  - {code: r_score, name: 价值_近度分, category: value, kind: score, score: "0 - last_order_days",
     quantiles: 5, owner: crm, description: 最近一次购买的五分位}
"""


def workspace(tmp_path: Path, files: dict[str, str]) -> Path:
    folder = tmp_path / "tags"
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def test_loads_tags_and_their_locations(tmp_path: Path) -> None:
    folder = workspace(tmp_path, {"value.yaml": VALUE, "risk/scores.yml": RISK})
    spec = load_tags(folder)
    assert list(spec.tags) == ["r_score", "spend_level", "big_spender"]  # risk/ sorts first
    assert spec.files == (folder / "risk" / "scores.yml", folder / "value.yaml")
    tag = spec.tags["spend_level"]
    assert tag.kind is TagKind.ENUM
    assert tag.rule_values() == ["高消费", "中消费", "低消费"]
    value = folder / "value.yaml"
    assert spec.locations["spend_level"].path == value
    assert (spec.locations["spend_level"].line, spec.locations["spend_level"].col) == (2, 5)
    assert spec.where("spend_level", "rule").line == 7
    assert spec.where("spend_level", "rule.1.when").line == 10
    assert spec.where("spend_level", "rule.1.value").line == 11
    assert spec.where("spend_level", "rule.2.else").line == 12
    assert spec.where("spend_level", "values.2").col == 24  # counts characters, not bytes
    assert spec.where("big_spender", "description").line == 21
    assert spec.where("big_spender", "nothing").line == 15  # falls back to the tag
    assert spec.where("r_score", "quantiles").line == 3


def test_missing_folder_and_empty_files_mean_no_tags(tmp_path: Path) -> None:
    assert load_tags(tmp_path / "tags").tags == {}
    folder = workspace(tmp_path, {"a.yaml": "", "b.yaml": "tags:\n", "c.yaml": "# nothing\n"})
    spec, errors = collect_tags(folder)
    assert (spec.tags, errors) == ({}, [])
    assert len(spec.files) == 3


def test_files_are_sorted_recursive_and_skip_hidden_and_other_suffixes(tmp_path: Path) -> None:
    folder = workspace(
        tmp_path,
        {
            "b.yaml": "",
            "a/z.YML": "",
            "a/c.yml": "",
            ".hidden.yaml": "",
            ".git/x.yaml": "",
            "notes.md": "",
        },
    )
    assert [p.relative_to(folder).as_posix() for p in tag_files(folder)] == [
        "a/c.yml",
        "a/z.YML",
        "b.yaml",
    ]


def test_duplicate_code_names_the_first_file_and_line(tmp_path: Path) -> None:
    again = "tags:\n  - code: other\n    name: x\n    category: value\n    kind: flag\n"
    again += "    rule: a > 1\n  - {code: spend_level, name: 价值_再次, category: value, "
    again += "kind: flag, rule: b > 1}\n"
    folder = workspace(tmp_path, {"a.yaml": VALUE, "b.yaml": again})
    spec, errors = collect_tags(folder)
    assert len(errors) == 1
    err = errors[0]
    assert isinstance(err, SpecError)
    assert err.message == "duplicate tag code `spend_level`"
    assert err.location is not None
    assert (Path(err.location.path).name, err.location.line) == ("b.yaml", 7)
    assert err.hint == "`spend_level` is first defined at tags/a.yaml:2; codes are unique"
    assert spec.tags["spend_level"].name == "价值_消费等级"  # the first definition stays
    assert spec.locations["spend_level"].path == folder / "a.yaml"
    with pytest.raises(SpecError, match="duplicate tag code"):
        load_tags(folder)


@pytest.mark.parametrize(
    ("text", "line", "message", "hint"),
    [
        ("- code: a\n", 1, "expected a mapping `tags:` with a list of tags", None),
        ("tag:\n  - code: a\n", 1, "unknown top-level key `tag`", "did you mean `tags`?"),
        ("tags: {code: a}\n", 1, "`tags` must be a list of tags", None),
        ("tags:\n  - just text\n", 2, "a tag must be a mapping of fields", None),
        ("tags:\n  - {code: a, name: [x}\n", 2, "invalid YAML", None),
        (
            "tags:\n  - code: a\n    name: x\n    category: value\n    kind: enum\n"
            "    rule:\n      - when: a > 1\n        valu: x\n",
            8,
            "unknown field `a.rule.0.valu`",
            "did you mean `value`?",
        ),
        (
            "tags:\n  - code: a\n    name: x\n    category: value\n    kind: flag\n"
            "    rule: a > 1\n    refresh: dayly\n",
            7,
            "`a.refresh`: input should be 'realtime', 'hourly', 'daily', 'weekly', 'monthly' "
            "or 'manual'",
            "did you mean `daily`?",
        ),
        (
            "tags:\n  - code: a\n    category: value\n    kind: flag\n    rule: a > 1\n",
            2,
            "`a.name`: field required",
            None,
        ),
        (
            "tags:\n  - code: a\n    nme: x\n    category: value\n    kind: flag\n"
            "    rule: a > 1\n",
            3,
            "unknown field `a.nme`",
            "did you mean `name`?",
        ),
        (
            "tags:\n  - code: a\n    name: x\n    category: value\n    kind: flag\n"
            "    rule:\n      - {when: a > 1, value: x}\n",
            6,
            "tag `a`: a flag tag's `rule` is one condition (a string)",
            None,
        ),
        (
            "tags:\n  - code: a\n    name: x\n    category: value\n    kind: enum\n"
            "    rule:\n      - when: a > 1\n        value: x\n        else: y\n",
            7,
            "`a.rule.0`: an `else` branch has no `when` or `value`",
            None,
        ),
        (
            "tags:\n  - name: x\n    category: value\n    kind: flag\n    rule: a > 1\n",
            2,
            "`tags.0.code`: field required",
            None,
        ),
    ],
)
def test_one_located_error(tmp_path: Path, text: str, line: int, message: str, hint) -> None:
    folder = workspace(tmp_path, {"t.yaml": text})
    spec, errors = collect_tags(folder)
    assert spec.tags == {}
    assert len(errors) == 1, [str(e) for e in errors]
    err = errors[0]
    assert isinstance(err, SpecError)
    assert message in err.message
    assert err.location is not None
    assert err.location.path == folder / "t.yaml"
    assert err.location.line == line
    assert err.hint == hint
    with pytest.raises(SpecError) as info:
        load_tags(folder)
    assert info.value.message == err.message


def test_one_error_per_broken_field_and_other_tags_still_load(tmp_path: Path) -> None:
    text = (
        "tags:\n"
        "  - code: a\n"
        "    name: x\n"
        "    category: value\n"
        "    kind: sometimes\n"
        "    rule: a > 1\n"
        "    sensitivity: top\n"
        "    colour: red\n"
        "  - {code: b, name: 价值_好, category: value, kind: flag, rule: b > 1}\n"
    )
    folder = workspace(tmp_path, {"t.yaml": text})
    spec, errors = collect_tags(folder)
    assert list(spec.tags) == ["b"]
    assert spec.locations["b.rule"].line == 9
    assert "a" not in spec.locations
    assert sorted((e.location.line, e.message.split(":")[0]) for e in errors) == [
        (5, "`a.kind`"),
        (7, "`a.sensitivity`"),
        (8, "unknown field `a.colour`"),
    ]
