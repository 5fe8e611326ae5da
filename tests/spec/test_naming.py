"""Naming rules (docs/tags.md): each rule alone, the settings, and a broken folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagwise.errors import ConfigError, SpecError
from tagwise.settings import NamingSettings, Settings
from tagwise.spec.naming import check_names, has_numeric_threshold
from tagwise.spec.tagfiles import collect_tags, load_tags
from tagwise.spec.tags import TagSpec, TagsSpec
from tagwise.spec.taxonomy import DEFAULT_TAXONOMY

GOOD = """\
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
"""


def tags_of(tmp_path: Path, text: str) -> TagsSpec:
    folder = tmp_path / "tags"
    folder.mkdir(exist_ok=True)
    (folder / "t.yaml").write_text(text, encoding="utf-8")
    return load_tags(folder)


def check(tmp_path: Path, text: str, **rules) -> list[SpecError]:
    errors = check_names(tags_of(tmp_path, text), DEFAULT_TAXONOMY, NamingSettings(**rules))
    assert all(isinstance(e, SpecError) for e in errors)
    return errors  # type: ignore[return-value]


def edit(old: str, new: str) -> str:
    assert old in GOOD
    return GOOD.replace(old, new)


def test_a_good_tag_has_no_problems(tmp_path: Path) -> None:
    assert check(tmp_path, GOOD) == []


@pytest.mark.parametrize(
    ("text", "line", "message", "hint"),
    [
        (
            edit("code: spend_level", "code: SpendLevel"),
            2,
            "tag code `SpendLevel` does not match `^[a-z][a-z0-9_]{1,62}$`",
            "use `spend_level`",
        ),
        (
            edit("code: spend_level", "code: 消费等级"),
            2,
            "tag code `消费等级` does not match",
            "codes are snake_case ascii (`naming.code_pattern`)",
        ),
        (
            edit("category: value", "category: valeu"),
            4,
            "unknown category `valeu`",
            "did you mean `value`?",
        ),
        (
            edit("category: value", "category: 价值"),
            4,
            "unknown category `价值`",
            "did you mean `value`?",
        ),
        (
            edit("category: value", "category: money"),
            4,
            "unknown category `money`",
            "categories: basic, behavior, preference, psychology, value, lifecycle, social, "
            "risk, credit_risk",
        ),
        (
            edit("name: 价值_消费等级", "name: 消费等级"),
            3,
            "display name `消费等级` does not start with the category prefix `价值_`",
            "rename it `价值_消费等级`",
        ),
        (
            edit("name: 价值_消费等级", "name: 价值消费等级"),
            3,
            "does not start with the category prefix `价值_`",
            "rename it `价值_消费等级`",
        ),
        (
            edit("name: 价值_消费等级", "name: 价值_近一年已支付订单金额的消费等级划分表"),
            3,
            "display name `价值_近一年已支付订单金额的消费等级划分表` has 21 characters, more than 20",
            "shorten it; the description holds the details",
        ),
        (
            edit("name: 价值_消费等级", 'name: ""'),
            3,
            "tag `spend_level` has an empty display name",
            "give it a short `name:`",
        ),
        (
            edit("    description: 近365天已支付订单金额分级\n", ""),
            2,
            "tag `spend_level` has no description",
            "add `description:` saying what the tag means and how it is computed",
        ),
        (
            edit("description: 近365天已支付订单金额分级", 'description: "  "'),
            14,
            "tag `spend_level` has no description",
            "add `description:` saying what the tag means and how it is computed",
        ),
        (
            edit("    owner: crm\n", ""),
            2,
            "tag `spend_level` has no owner",
            "add `owner:` naming the team responsible for it",
        ),
        (
            edit("    values: [高消费, 中消费, 低消费]\n", ""),
            5,
            "an enum tag `spend_level` declares no `values`",
            "add `values: [高消费, 中消费, 低消费]`",
        ),
        (
            edit("[高消费, 中消费, 低消费]", "[高消费, 中消费, 低消费, 中消费]"),
            6,
            "value `中消费` is listed twice in `values`",
            "remove it",
        ),
        (
            edit("value: 中消费", "value: 中等消费"),
            11,
            "rule value `中等消费` is not in `values`",
            "did you mean `中消费`?",
        ),
        (
            edit("else: 低消费", "else: 其他"),
            12,
            "rule value `其他` is not in `values`",
            "add it to `values`",
        ),
    ],
)
def test_each_rule_alone(tmp_path: Path, text: str, line: int, message: str, hint: str) -> None:
    errors = check(tmp_path, text)
    assert len(errors) == 1, [str(e) for e in errors]
    err = errors[0]
    assert message in err.message
    assert err.hint == hint
    assert err.location is not None
    assert Path(err.location.path).name == "t.yaml"
    assert err.location.line == line
    assert err.code == "spec"


MULTI = """\
tags:
  - code: interests
    name: 偏好_兴趣品类
    category: preference
    kind: multi
    rule:
      - {when: "has_tag(top_category, '美妆')", value: 美妆}
      - {when: "orders_90d > 3", value: 常购}
    owner: crm
    description: 兴趣品类
"""

BANDED = """\
tags:
  - code: credit_band
    name: 风险_信用分档
    category: credit_risk
    kind: score
    score: 100 - overdue_days
    bands:
      - {min: 80, value: 良好}
      - {min: 40, value: 中}
      - {value: 差}
    owner: risk
    description: 信用分档
"""


def test_multi_and_banded_score_tags_declare_values(tmp_path: Path) -> None:
    (err,) = check(tmp_path, MULTI)
    assert err.message == "a multi tag `interests` declares no `values`"
    assert err.hint == "add `values: [美妆, 常购]`"
    assert err.location.line == 5
    (err,) = check(tmp_path, BANDED)
    assert err.message == "a banded score tag `credit_band` declares no `values`"
    assert err.hint == "add `values: [良好, 中, 差]`"
    with_values = BANDED.replace("    bands:\n", "    values: [良好, 中等, 差]\n    bands:\n")
    (err,) = check(tmp_path, with_values)
    assert err.message == "band value `中` is not in `values`"
    assert err.location.line == 10
    assert err.hint == "did you mean `中等`?"
    plain = BANDED.split("    bands:", maxsplit=1)[0] + "    owner: risk\n    description: 原始分\n"
    assert check(tmp_path, plain) == []


def test_flag_and_score_tags_need_no_values(tmp_path: Path) -> None:
    text = (
        "tags:\n"
        "  - {code: vip, name: 价值_会员, category: value, kind: flag, rule: is_vip,"
        " owner: crm, description: 会员}\n"
        "  - {code: r_score, name: 价值_近度分, category: value, kind: score,"
        " score: 0 - last_order_days, quantiles: 5, owner: crm, description: 近度}\n"
    )
    assert check(tmp_path, text) == []


@pytest.mark.parametrize(
    ("name", "rule", "vague"),
    [
        ("价值_优质客户", "is_vip", ["优质"]),
        ("价值_优质客户", "spend_365d >= 10000", []),
        ("价值_优质客户", "10000 <= spend_365d", []),
        ("价值_重要客户", "days_since(last_order_at) between 31 and 90", []),
        ("价值_高端核心客户", "city = '上海'", ["高端", "核心"]),
        ("价值_潜力客户", "city = '100'", ["潜力"]),  # a digit in a string is no threshold
        ("价值_一般客户", "orders_90 = orders_91", ["一般"]),  # digits in names neither
        ("偏好_美妆", "top_category = '美妆'", []),  # the prefix 偏好 is not the word 好
        ("价值_好", "is_vip", ["好"]),
        ("偏好_兴趣爱好", "is_vip", []),  # 爱好 (hobby) is not the word 好
        ("行为_好评用户", "is_vip", []),
        ("行为_好评用户很好", "is_vip", ["好"]),
    ],
)
def test_vague_words_need_a_numeric_threshold(tmp_path: Path, name, rule, vague) -> None:
    category = {"偏好": "preference", "行为": "behavior", "价值": "value"}[name.split("_")[0]]
    text = (
        f"tags:\n  - code: tag\n    name: {name}\n    category: {category}\n    kind: flag\n"
        f'    rule: "{rule}"\n    owner: crm\n    description: 说明\n'
    )
    errors = check(tmp_path, text)
    assert [e.message for e in errors] == [
        f"display name uses the vague word `{word}`; "
        "add a threshold to the rule or name it concretely"
        for word in vague
    ]
    assert all(e.location.line == 3 for e in errors)


def test_vague_word_in_an_enum_rule_or_banded_score(tmp_path: Path) -> None:
    assert check(tmp_path, edit("name: 价值_消费等级", "name: 价值_优质等级")) == []
    no_numbers = edit("spend_365d >= 100000", "is_vip").replace("spend_365d >= 10000", "is_new")
    (err,) = check(tmp_path, no_numbers.replace("name: 价值_消费等级", "name: 价值_优质等级"))
    assert "`优质`" in err.message
    banded = BANDED.replace("风险_信用分档", "风险_优质信用").replace(
        "    bands:", "    values: [良好, 中, 差]\n    bands:"
    )
    assert check(tmp_path, banded) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("spend_365d >= 100000", True),
        ("spend_365d>1.5", True),
        ("x != -3", True),
        ("0 < x", True),
        ("x BETWEEN 1 AND 2", True),
        ("x = y", False),
        ("name = '>= 5'", False),
        ("`字段 >= 5` = true", False),
        ("orders_90d > orders_30d", False),
        ("x in (1, 2)", False),
    ],
)
def test_has_numeric_threshold(text: str, expected: bool) -> None:
    assert has_numeric_threshold(text) is expected


def test_display_names_are_unique(tmp_path: Path) -> None:
    text = GOOD + (
        "  - {code: spend_level_v2, name: 价值_消费等级, category: value, kind: flag,\n"
        "     rule: spend_365d > 0, owner: crm, description: 再次}\n"
    )
    (err,) = check(tmp_path, text)
    assert err.message == "display name `价值_消费等级` is also used by tag `spend_level`"
    assert err.hint == "display names are unique; `spend_level` uses it first at t.yaml:3"
    assert (err.location.line, err.location.col) == (15, 28)


def test_child_categories_use_their_own_prefix(tmp_path: Path) -> None:
    text = BANDED.replace("    bands:", "    values: [良好, 中, 差]\n    bands:")
    assert check(tmp_path, text) == []
    (err,) = check(tmp_path, text.replace("风险_信用分档", "信用_分档"))
    assert err.hint == "rename it `风险_信用_分档`"


def test_settings_switch_rules_off_and_tune_them(tmp_path: Path) -> None:
    text = edit(
        "name: 价值_消费等级", "name: 消费等级很长很长很长很长很长很长很长很长很长"
    ).replace("    owner: crm\n", "")
    text = text.replace("    description: 近365天已支付订单金额分级\n", "")
    text = text.replace("code: spend_level", "code: SPEND")
    assert len(check(tmp_path, text)) == 5
    relaxed = {
        "require_prefix": False,
        "max_name_length": 40,
        "require_owner": False,
        "require_description": False,
        "code_pattern": "^[A-Z]+$",
    }
    assert check(tmp_path, text, **relaxed) == []
    vague = (
        edit("name: 价值_消费等级", "name: 价值_顶级客户")
        .replace(">= 100000", "")
        .replace(">= 10000", "")
    )
    assert check(tmp_path, vague) == []
    (err,) = check(tmp_path, vague, vague_words=("顶级",))
    assert "`顶级`" in err.message


def test_naming_settings_come_from_tagwise_toml(tmp_path: Path) -> None:
    (tmp_path / "tagwise.toml").write_text(
        '[naming]\nmax_name_length = 12\nvague_words = ["顶级"]\nrequire_owner = false\n',
        encoding="utf-8",
    )
    naming = Settings.load(tmp_path).naming
    assert naming.max_name_length == 12
    assert naming.vague_words == ("顶级",)
    assert naming.require_owner is False
    assert naming.require_prefix is True
    assert naming.code_pattern == "^[a-z][a-z0-9_]{1,62}$"
    defaults = NamingSettings()
    assert defaults.vague_words == ("重要", "一般", "好", "优质", "高端", "核心", "潜力")
    assert (defaults.max_name_length, defaults.require_description) == (20, True)
    (tmp_path / "tagwise.toml").write_text('[naming]\ncode_pattern = "([a-z"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"naming\.code_pattern"):
        Settings.load(tmp_path)


def test_tags_built_in_code_have_no_locations() -> None:
    tag = TagSpec(code="Bad", name="x", category="value", kind="flag", rule="a > 1")
    errors = check_names(TagsSpec(tags={"Bad": tag}), DEFAULT_TAXONOMY, NamingSettings())
    assert len(errors) == 4  # code, prefix, description, owner
    assert all(e.location is None for e in errors)


# A tags folder with one of everything wrong, in two files: lint reports every problem.
RISK_FILE = """\
tags:
  - code: big_spender
    name: 风险_大额
    category: risk
    kind: flag
    rule: spend_365d >= 50000
    owner: risk
    description: 大额消费
  - code: overdue_often
    name: 风险_经常逾期并且多次催收仍未还款的客户名单
    category: credit_risk
    kind: flag
    rule: overdue_count >= 3
    owner: risk
  - code: fraud_band
    name: 风险_欺诈分档
    category: risk
    kind: score
    score: fraud_prob * 100
    values: [高, 中, 低]
    bands:
      - {min: 80, value: 高}
      - {min: 40, value: 中中}
      - {value: 低}
    owner: risk
    description: 欺诈概率分档
  - code: broken
    name: 风险_坏
    category: risk
    kind: flag
    rul: a > 1
"""

VALUE_FILE = """\
tags:
  - code: spend_level
    name: 价值_消费等级
    category: value
    kind: enum
    values: [高消费, 中消费, 低消费, 中消费]
    rule:
      - when: spend_365d >= 100000
        value: 高消费
      - when: spend_365d >= 10000
        value: 超高消费
      - else: 低消费
    owner: crm
    description: 近365天已支付订单金额分级
  - code: SpendTier
    name: 消费档位
    category: valeu
    kind: multi
    rule:
      - when: orders_90d > 3
        value: 常客
    owner: crm
    description: 购买档位
  - code: vip
    name: 价值_优质客户
    category: value
    kind: flag
    rule: is_vip
    description: 会员
  - code: big_spender
    name: 价值_大额客户
    category: value
    kind: flag
    rule: spend_365d >= 100000
    owner: crm
    description: 大额
  - code: loyal
    name: 风险_欺诈分档
    category: risk
    kind: flag
    rule: orders_90d >= 5
    refresh: dayly
    owner: crm
    description: 忠诚
  - code: churn_risk
    name: 风险_欺诈分档
    category: risk
    kind: flag
    rule: last_order_days >= 180
    owner: crm
    description: 流失风险
"""


def test_a_broken_folder_reports_every_problem(tmp_path: Path) -> None:
    folder = tmp_path / "tags"
    folder.mkdir()
    (folder / "risk.yaml").write_text(RISK_FILE, encoding="utf-8")
    (folder / "value.yaml").write_text(VALUE_FILE, encoding="utf-8")
    spec, errors = collect_tags(folder)
    errors += check_names(spec, DEFAULT_TAXONOMY, NamingSettings())
    expected = {
        ("risk.yaml", 10, "has 22 characters, more than 20"),
        ("risk.yaml", 9, "tag `overdue_often` has no description"),
        ("risk.yaml", 23, "band value `中中` is not in `values`"),
        ("risk.yaml", 31, "unknown field `broken.rul`"),
        ("value.yaml", 6, "value `中消费` is listed twice in `values`"),
        ("value.yaml", 11, "rule value `超高消费` is not in `values`"),
        ("value.yaml", 15, "tag code `SpendTier` does not match"),
        ("value.yaml", 17, "unknown category `valeu`"),
        ("value.yaml", 18, "a multi tag `SpendTier` declares no `values`"),
        ("value.yaml", 25, "vague word `优质`"),
        ("value.yaml", 24, "tag `vip` has no owner"),
        ("value.yaml", 30, "duplicate tag code `big_spender`"),
        ("value.yaml", 42, "`loyal.refresh`: input should be"),
        ("value.yaml", 46, "display name `风险_欺诈分档` is also used by tag `fraud_band`"),
    }
    found = {
        (Path(e.location.path).name, e.location.line, e.message)
        for e in errors
        if isinstance(e, SpecError) and e.location is not None
    }
    assert len(found) == len(errors)
    unmatched = {
        (name, line, message)
        for name, line, message in found
        if not any((n, ln) == (name, line) and f in message for n, ln, f in expected)
    }
    missing = {
        (n, ln, f)
        for n, ln, f in expected
        if not any((n, ln) == (name, line) and f in message for name, line, message in found)
    }
    assert (unmatched, missing) == (set(), set())
    assert len(errors) == len(expected)
    dup = next(e for e in errors if "duplicate tag code" in e.message)
    assert dup.hint == "`big_spender` is first defined at tags/risk.yaml:2; codes are unique"
    assert list(spec.tags) == [
        "big_spender",
        "overdue_often",
        "fraud_band",
        "spend_level",
        "SpendTier",
        "vip",
        "churn_risk",
    ]
