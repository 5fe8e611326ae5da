"""``features.yaml``: per-customer aggregates over a source.

Example::

    features:
      spend_365d:      {source: orders, agg: sum, column: amount, window: 365d,
                        where: "status = 'paid'"}
      orders_90d:      {source: orders, agg: count, window: 90d}
      last_order_days: {source: orders, agg: days_since_last, column: paid_at}
      top_category:    {source: orders, agg: mode, column: category, window: 180d}
      discount_share:  {source: orders, agg: share, where: "discount > 0", window: 365d}

A window counts back from the run's as-of date over the source's time column (``time:`` on
the feature, else the source's ``time_column``); rows after the as-of date never count.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tagwise.errors import SpecError
from tagwise.spec.load import Document, load_yaml, raise_all, spec_errors

__all__ = ["Agg", "FeatureSpec", "FeaturesSpec", "load_features"]

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_WINDOW = re.compile(r"^([1-9][0-9]*)([hdw])$")


class Agg(StrEnum):
    """Aggregations a feature can use."""

    COUNT = "count"
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    COUNT_DISTINCT = "count_distinct"
    DAYS_SINCE_LAST = "days_since_last"
    DAYS_SINCE_FIRST = "days_since_first"
    MODE = "mode"
    SHARE = "share"


NEEDS_COLUMN = {Agg.SUM, Agg.AVG, Agg.MIN, Agg.MAX, Agg.COUNT_DISTINCT, Agg.MODE}
"""Aggregations that read a column (count and share count rows; days_since_* read time)."""


class FeatureSpec(BaseModel):
    """One declared feature."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    source: str
    agg: Agg
    column: str | None = None
    window: str | None = Field(default=None, description="e.g. 30d, 12h, 2w")
    where: str | None = None
    time: str | None = None
    description: str = ""

    @field_validator("window")
    @classmethod
    def _window(cls, value: str | None) -> str | None:
        if value is not None and not _WINDOW.match(value):
            msg = "window must be a whole number followed by h, d or w, such as 90d"
            raise ValueError(msg)
        return value

    @property
    def window_hours(self) -> int | None:
        """The window length in hours, or None for all history."""
        if self.window is None:
            return None
        found = _WINDOW.match(self.window)
        if found is None:  # unreachable: the validator checked the form
            msg = f"invalid window {self.window!r}"
            raise ValueError(msg)
        return int(found[1]) * {"h": 1, "d": 24, "w": 168}[found[2]]


class FeaturesSpec(BaseModel):
    """All features of a workspace."""

    model_config = ConfigDict(frozen=True)

    features: dict[str, FeatureSpec]
    file: Path | None = None

    def by_source(self) -> dict[str, list[FeatureSpec]]:
        """Features grouped by source, in declaration order."""
        groups: dict[str, list[FeatureSpec]] = {}
        for feature in self.features.values():
            groups.setdefault(feature.source, []).append(feature)
        return groups


def load_features(path: Path) -> tuple[FeaturesSpec, Document]:
    """Load ``features.yaml`` (shape only; :mod:`tagwise.compile.features` checks names).

    Raises:
        SpecError: with file, line and column of each problem (a
            :class:`~tagwise.spec.load.SpecProblems` when there are several).
    """
    doc = load_yaml(path)
    raw = doc.data or {}
    if not isinstance(raw, dict) or not isinstance(raw.get("features") or {}, dict):
        raise SpecError(
            "expected a mapping `features:` of feature names", location=doc.location(())
        )
    specs: dict[str, FeatureSpec] = {}
    problems: list[SpecError] = []
    for name, body in (raw.get("features") or {}).items():
        at = ("features", str(name))
        if not _NAME.match(str(name)):
            problems.append(
                SpecError(
                    f"feature name `{name}` must be snake_case ascii", location=doc.location(at)
                )
            )
        elif not isinstance(body, dict):
            problems.append(
                SpecError(f"feature `{name}` must be a mapping", location=doc.location(at))
            )
        else:
            try:
                specs[str(name)] = FeatureSpec.model_validate({**body, "name": str(name)})
            except ValidationError as exc:
                known = list(FeatureSpec.model_fields)
                problems.extend(spec_errors(exc, doc, prefix=at, known=known))
    raise_all(problems)  # every feature's problems, not only the first feature's
    return FeaturesSpec(features=specs, file=path), doc
