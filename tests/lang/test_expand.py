"""in_segment('x'): expansion of saved segments before checking (AST substitution)."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tagwise.errors import ExpressionError, ExpressionTypeError, UnknownName
from tagwise.lang import Column, Schema, Type, check, check_condition, parse, to_python
from tagwise.lang.ast import Call, Literal
from tagwise.lang.expand import expand_segments, segments_used
from tagwise.model.tag import TagKind

SCHEMA = Schema(
    [
        Column("spend", Type.NUMBER, "feature"),
        Column("city", Type.STRING, "attribute"),
        Column("gender_label", Type.STRING, "tag", TagKind.ENUM),
        Column("vip", Type.BOOLEAN, "tag", TagKind.FLAG),
    ]
)
AS_OF = date(2026, 12, 1)


def expand(text: str, definitions: dict[str, str], within: str | None = None):
    return expand_segments(parse(text), source=text, definitions=definitions, within=within)


def members(text: str, definitions: dict[str, str], rows: list[dict]) -> set[int]:
    """The rows (by index) for which the expanded expression is true (Python back-end)."""
    typed = check_condition(expand(text, definitions), SCHEMA, source=text)
    fn = to_python(typed)
    return {i for i, row in enumerate(rows) if fn(row, AS_OF) is True}


def test_a_call_becomes_the_segments_expression_as_two_valued_membership() -> None:
    got = expand("in_segment('高价值') and city = '上海'", {"高价值": "spend > 100"})
    want = parse("coalesce((spend > 100), false) and city = '上海'")
    assert got == want


def test_nested_segments_expand_all_the_way_down() -> None:
    definitions = {"a": "in_segment('b') or vip", "b": "spend > 100"}
    got = expand("in_segment('a')", definitions)
    assert got == parse("coalesce((coalesce((spend > 100), false) or vip), false)")
    assert segments_used(parse("in_segment('a') and not in_segment('b')")) == ["a", "b"]


def test_not_in_segment_includes_customers_whose_value_is_missing() -> None:
    # a customer with no spend is not a member of `big`, so `not in_segment('big')` holds
    rows = [{"spend": 500}, {"spend": 5}, {"spend": None}]
    definitions = {"big": "spend > 100"}
    assert members("in_segment('big')", definitions, rows) == {0}
    assert members("not in_segment('big')", definitions, rows) == {1, 2}
    # the plain expression would leave the customer out of both (three-valued logic)
    assert members("not (spend > 100)", definitions, rows) == {1}


def test_an_unknown_segment_says_did_you_mean_and_points_at_the_name() -> None:
    text = "city = '北京' and in_segment('高价值女姓')"
    with pytest.raises(UnknownName) as info:
        expand(text, {"高价值女性": "gender_label = '女' and spend > 1000"})
    err = info.value
    assert err.message == "unknown segment `高价值女姓`"
    assert err.hint == "did you mean `高价值女性`?"
    assert text[err.span.start : err.span.end] == "'高价值女姓'"


def test_an_unknown_segment_without_close_names_points_to_the_listing() -> None:
    with pytest.raises(UnknownName) as info:
        expand("in_segment('zzz')", {"高价值女性": "spend > 1"})
    assert "segment list" in (info.value.hint or "")


def test_a_cycle_is_one_error_naming_it() -> None:
    definitions = {"a": "in_segment('b') and spend > 1", "b": "vip or in_segment('a')"}
    text = "city = '上海' and in_segment('a')"
    with pytest.raises(ExpressionError) as info:
        expand(text, definitions)
    err = info.value
    assert err.message == "segments use each other in a cycle: a → b → a"
    assert text[err.span.start : err.span.end] == "in_segment('a')"
    assert "\n" not in str(err)


def test_a_segment_cannot_contain_itself() -> None:
    with pytest.raises(ExpressionError, match="cycle: a → a"):
        expand("spend > 1 or in_segment('a')", {"a": "spend > 1 or in_segment('a')"}, within="a")


def test_errors_inside_a_nested_segment_point_at_the_call_and_name_the_segment() -> None:
    definitions = {"a": "in_segment('nope') or vip", "b": "spend >"}
    text = "city = '上海' and in_segment('a')"
    with pytest.raises(UnknownName) as info:
        expand(text, definitions)
    assert info.value.message == "segment `a`: unknown segment `nope`"
    assert text[info.value.span.start : info.value.span.end] == "in_segment('a')"
    with pytest.raises(ExpressionError, match="segment `b` cannot be read") as parsed:
        expand("in_segment('b')", definitions)
    assert parsed.value.span.start == 0


def test_a_type_error_in_a_nested_segment_points_at_the_call() -> None:
    text = "vip and in_segment('bad')"
    tree = expand(text, {"bad": "city > 3"})
    with pytest.raises(ExpressionTypeError) as info:
        check(tree, SCHEMA, source=text)
    assert text[info.value.span.start : info.value.span.end] == "in_segment('bad')"


@pytest.mark.parametrize("text", ["in_segment(city)", "in_segment()", "in_segment('a', 'b')"])
def test_in_segment_takes_one_string_literal(text: str) -> None:
    with pytest.raises(ExpressionTypeError, match="one string literal"):
        expand(text, {"a": "vip"})


def test_a_rule_cannot_use_a_saved_segment() -> None:
    text = "in_segment('a') and spend > 1"
    with pytest.raises(ExpressionTypeError) as info:
        check(parse(text), SCHEMA, source=text)
    assert info.value.message == "`in_segment` can only be used in a segment"
    assert text[info.value.span.start : info.value.span.end] == "in_segment('a')"


def test_a_misspelled_in_segment_is_suggested() -> None:
    with pytest.raises(UnknownName) as info:
        check(parse("in_segmnt('a')"), SCHEMA)
    assert info.value.hint == "did you mean `in_segment`?"


def test_a_segment_used_twice_is_expanded_once_into_equal_trees() -> None:
    got = expand("in_segment('a') or not in_segment('a')", {"a": "vip"})
    assert isinstance(got.left, Call)
    assert got.left == got.right.operand  # type: ignore[attr-defined]
    assert got.left.args[1] == Literal(False)


# -- property: nested segments are set algebra over their members -----------------------------

LEAVES = ["spend > 100", "spend <= 20", "city = '上海'", "vip", "gender_label = '女'"]

rows_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "spend": st.one_of(st.none(), st.integers(0, 200)),
            "city": st.one_of(st.none(), st.sampled_from(["上海", "北京"])),
            "vip": st.one_of(st.none(), st.just(True)),
            "gender_label": st.one_of(st.none(), st.sampled_from(["男", "女"])),
        }
    ),
    min_size=1,
    max_size=30,
)


@st.composite
def segment_dags(draw):
    """Segments s0..sN where s_i may use leaves and segments s_j with j < i (no cycles)."""
    count = draw(st.integers(1, 5))
    definitions: dict[str, str] = {}
    for i in range(count):
        parts = [draw(st.sampled_from(LEAVES))]
        for _ in range(draw(st.integers(0, 2))):
            used = (
                f"in_segment('s{draw(st.integers(0, i - 1))}')"
                if i and draw(st.booleans())
                else draw(st.sampled_from(LEAVES))
            )
            negated = "not " if draw(st.booleans()) else ""
            parts.append(f"{draw(st.sampled_from(['and', 'or']))} {negated}{used}")
        definitions[f"s{i}"] = "(" + " ".join(parts) + ")"
    return definitions


def _set_members(name: str, definitions: dict[str, str], rows: list[dict], memo: dict) -> set:
    """Brute force: a segment's members as a set, nested segments replaced by their sets."""
    if name in memo:
        return memo[name]
    text = definitions[name]
    inner = segments_used(parse(text))
    env_rows = [
        {**row, **{f"m_{u}": i in _set_members(u, definitions, rows, memo) for u in inner}}
        for i, row in enumerate(rows)
    ]
    for used in inner:
        text = text.replace(f"in_segment('{used}')", f"m_{used}")
    schema = Schema([*SCHEMA, *(Column(f"m_{u}", Type.BOOLEAN, "attribute") for u in inner)])
    fn = to_python(check_condition(parse(text), schema, source=text))
    memo[name] = {i for i, row in enumerate(env_rows) if fn(row, AS_OF) is True}
    return memo[name]


@settings(max_examples=150, deadline=None)
@given(definitions=segment_dags(), rows=rows_strategy, negate=st.booleans())
def test_expansion_equals_set_algebra_over_members(definitions, rows, negate) -> None:
    last = f"s{len(definitions) - 1}"
    want = _set_members(last, definitions, rows, {})
    text = f"not in_segment('{last}')" if negate else f"in_segment('{last}')"
    got = members(text, definitions, rows)
    assert got == (set(range(len(rows))) - want if negate else want)
