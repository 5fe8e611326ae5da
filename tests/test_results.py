"""The result models are the JSON of every command: one name per thing, everywhere."""

from __future__ import annotations

import inspect
import typing
from datetime import date

import pydantic
import pytest

from tagwise import results
from tagwise.errors import NotFound
from tagwise.results import Problem, Result, RunResult

SYNONYMS = {
    "run": "run_id",
    "run_no": "run_id",
    "run_number": "run_id",
    "customer": "customer_id",
    "customer_key": "customer_id",
    "id": "run_id, customer_id, rid …",
    "date": "as_of",
    "asof": "as_of",
    "last_run": "last_run_id",
    "old": "old_value",
    "new": "new_value",
    "from": "old_value",
    "to": "new_value",
}
"""Field names that say what another name already says (the right name in the value)."""


def models() -> list[type[Result]]:
    return [
        m
        for _, m in inspect.getmembers(results, inspect.isclass)
        if issubclass(m, Result) and m is not Result
    ]


def test_every_exported_result_is_a_frozen_model() -> None:
    exported = {getattr(results, n) for n in results.__all__}
    assert set(models()) <= exported
    for model in models():
        assert model.model_config.get("frozen") is True, model.__name__


@pytest.mark.parametrize("model", models(), ids=lambda m: m.__name__)
def test_no_field_uses_a_synonym(model: type[Result]) -> None:
    for name in model.model_fields:
        assert name not in SYNONYMS, f"{model.__name__}.{name}: call it {SYNONYMS[name]}"


@pytest.mark.parametrize("model", models(), ids=lambda m: m.__name__)
def test_a_field_ending_in_run_or_customer_names_the_id(model: type[Result]) -> None:
    for name, info in model.model_fields.items():
        inner = typing.get_args(info.annotation) or (info.annotation,)
        if int in inner and name.endswith(("_run", "_customer")):
            pytest.fail(f"{model.__name__}.{name}: an id is called …_id")


def test_the_synonym_check_can_fail() -> None:
    class Bad(Result):
        run: int

    with pytest.raises(AssertionError):
        test_no_field_uses_a_synonym(Bad)


def test_results_are_frozen_and_refuse_unknown_fields() -> None:
    run = RunResult(run_id=3, as_of=date(2026, 11, 1), tags=["a"])
    with pytest.raises(pydantic.ValidationError):
        run.run_id = 4  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        RunResult.model_validate({"run": 3, "as_of": "2026-11-01", "tags": []})


def test_a_problem_keeps_what_the_cli_prints() -> None:
    problem = Problem.of(NotFound("customer `X` does not exist", hint="ids look like C001"))
    assert problem.code == "not-found"
    assert problem.exit_code == NotFound.exit_code
    assert (
        problem.text == "error[not-found]: customer `X` does not exist (hint: ids look like C001)"
    )
