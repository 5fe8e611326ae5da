"""Tag definitions (``tags/*.yaml``): the models. Loading lives in :mod:`tagwise.spec.tagfiles`.

See docs/tags.md for the YAML shape and what each kind computes.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tagwise.errors import Location
from tagwise.model.tag import TagKind

__all__ = [
    "Band",
    "Refresh",
    "Review",
    "RuleBranch",
    "Sensitivity",
    "Status",
    "TagKind",
    "TagSpec",
    "TagsSpec",
]


class Refresh(StrEnum):
    """How often a tag is recomputed (``tagwise run --due``)."""

    REALTIME = "realtime"
    HOURLY = "hourly"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    MANUAL = "manual"


class Review(StrEnum):
    """Which computed values need a person's review."""

    NONE = "none"
    SAMPLE = "sample"
    ALWAYS = "always"
    LOW_CONFIDENCE = "low_confidence"


class Sensitivity(StrEnum):
    """Who may see the tag (governance, later issues)."""

    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    SECRET = "secret"  # noqa: S105 (a sensitivity level, not a password)


class Status(StrEnum):
    """Life cycle: drafts run but are hidden from segments; deprecated tags stop running."""

    DRAFT = "draft"
    PUBLISHED = "published"
    DEPRECATED = "deprecated"


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RuleBranch(_Spec):
    """One branch of a rule: ``{when: expr, value: v}`` or the final ``{else: v}``."""

    when: str | None = None
    value: str | None = None
    else_: str | None = Field(default=None, alias="else")

    @model_validator(mode="after")
    def _shape(self) -> RuleBranch:
        if self.else_ is not None:
            if self.when is not None or self.value is not None:
                msg = "an `else` branch has no `when` or `value`"
                raise ValueError(msg)
        elif self.when is None or self.value is None:
            msg = "a branch needs `when` and `value` (or is a final `else`)"
            raise ValueError(msg)
        return self

    @property
    def is_else(self) -> bool:
        """Whether this is the final ``else`` branch."""
        return self.else_ is not None

    @property
    def result(self) -> str:
        """The value this branch assigns."""
        return self.else_ if self.else_ is not None else (self.value or "")


class Band(_Spec):
    """A score band: scores >= ``min`` (checked from the first band down) get ``value``."""

    min: float | None = None
    value: str


class TagSpec(_Spec):
    """One tag definition. Exactly one of ``rule``, ``score`` or ``sql`` computes it."""

    code: str
    name: str
    category: str
    kind: TagKind
    values: tuple[str, ...] = ()
    rule: tuple[RuleBranch, ...] | str | None = None
    score: str | None = None
    quantiles: int | None = Field(default=None, ge=2, le=100)
    descending: bool = False
    bands: tuple[Band, ...] = ()
    sql: str | None = None
    refresh: Refresh = Refresh.DAILY
    review: Review = Review.NONE
    sensitivity: Sensitivity = Sensitivity.INTERNAL
    owner: str = ""
    status: Status = Status.PUBLISHED
    description: str = ""

    @model_validator(mode="after")
    def _one_method(self) -> TagSpec:
        methods = [m for m in ("rule", "score", "sql") if getattr(self, m) is not None]
        if len(methods) != 1:
            msg = "a tag is computed by exactly one of `rule`, `score` or `sql`"
            raise ValueError(msg)
        self._check_kind(methods[0])
        return self

    def _check_kind(self, method: str) -> None:
        kind = self.kind
        problems = {
            (TagKind.FLAG, "rule"): not isinstance(self.rule, str),
            (TagKind.ENUM, "rule"): not isinstance(self.rule, tuple),
            (TagKind.MULTI, "rule"): not isinstance(self.rule, tuple)
            or any(b.is_else for b in self.rule),
            (TagKind.SCORE, "rule"): True,
            (TagKind.ENUM, "score"): True,
            (TagKind.FLAG, "score"): True,
            (TagKind.MULTI, "score"): True,
        }
        if problems.get((kind, method), False):
            msg = {
                TagKind.FLAG: "a flag tag's `rule` is one condition (a string)",
                TagKind.ENUM: "an enum tag's `rule` is a list of `when`/`value` branches",
                TagKind.MULTI: "a multi tag's `rule` is a list of `when`/`value` (no else)",
                TagKind.SCORE: "a score tag is computed by `score:` (or `sql:`)",
            }[kind]
            raise ValueError(msg)
        if (self.quantiles or self.bands or self.descending) and kind is not TagKind.SCORE:
            msg = "`quantiles`, `descending` and `bands` belong to score tags"
            raise ValueError(msg)

    def rule_values(self) -> list[str]:
        """Every value the rule or bands can assign, in order."""
        if isinstance(self.rule, tuple):
            return [b.result for b in self.rule]
        return [b.value for b in self.bands]


class TagsSpec(BaseModel):
    """All tags of a workspace, by code, with where each was defined."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    tags: dict[str, TagSpec]
    locations: dict[str, Location] = Field(default_factory=dict)
    """Where each tag (and each of its fields: key ``code.field``) is defined."""
    files: tuple[Path, ...] = ()

    def where(self, code: str, field: str | None = None) -> Location | None:
        """Location of a tag, or of one of its fields when known."""
        if field is not None and f"{code}.{field}" in self.locations:
            return self.locations[f"{code}.{field}"]
        return self.locations.get(code)
