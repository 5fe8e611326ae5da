"""``tagwise plan`` / ``apply``: compare the spec files with the catalog, record versions.

Each category, feature and tag is an *item* with a canonical JSON definition. ``plan``
lists items that are new, changed (with the fields and a line diff) or removed; ``apply``
records one new immutable version per changed item (who, when, diff). A removed tag is
not deleted: it gets a new version with status ``deprecated``, and its history stays.
A published tag's code is its identity and its ``kind`` cannot change.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tagwise.errors import Conflict, TagwiseError
from tagwise.model.versions import SpecVersion

__all__ = [
    "KINDS",
    "TAG_KINDS",
    "Change",
    "Plan",
    "digest",
    "make_plan",
    "versions_to_apply",
]

TAG_KINDS = ("category", "feature", "tag")
"""The kinds a run computes from: a run refuses files that differ from their versions."""

KINDS = (*TAG_KINDS, "segment")
"""Item kinds, in the order they are shown and applied (segments last: they read tags)."""

Items = Mapping[str, Mapping[str, Mapping[str, Any]]]
"""kind → code → canonical definition."""


def digest(definition: Mapping[str, Any]) -> str:
    """A stable fingerprint of a definition."""
    text = json.dumps(definition, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Change:
    """One item that ``apply`` would record."""

    kind: str
    code: str
    action: str
    """add, change, remove (→ deprecated) or restore (a deprecated item back in the files)."""
    version: int
    """The version ``apply`` records."""
    status: str
    fields: tuple[str, ...] = ()
    diff: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``plan --json``."""
        return {
            "kind": self.kind,
            "code": self.code,
            "action": self.action,
            "version": self.version,
            "status": self.status,
            "fields": list(self.fields),
            "diff": self.diff,
        }


@dataclass(slots=True)
class Plan:
    """The difference between the files and the catalog."""

    changes: list[Change] = field(default_factory=list)
    errors: list[TagwiseError] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        """Nothing to apply."""
        return not self.changes

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``plan --json``."""
        counts = {
            a: sum(c.action == a for c in self.changes)
            for a in ("add", "change", "remove", "restore")
        }
        return {
            "changes": [c.to_dict() for c in self.changes],
            "summary": counts,
            "errors": [e.to_dict() for e in self.errors],
        }


def make_plan(
    items: Items,
    latest: Mapping[str, Mapping[str, SpecVersion]],
    *,
    kinds: tuple[str, ...] = KINDS,
) -> Plan:
    """Compare file items with the latest catalog versions (of ``kinds`` only)."""
    plan = Plan()
    for kind in kinds:
        current = items.get(kind, {})
        known = latest.get(kind, {})
        for code in sorted(current):
            _compare(plan, kind, code, current[code], known.get(code))
        for code in sorted(set(known) - set(current)):
            old = known[code]
            if old.status != "deprecated":
                plan.changes.append(
                    Change(
                        kind,
                        code,
                        "remove",
                        old.version + 1,
                        "deprecated",
                        diff=_diff(old.definition, None),
                    )
                )
    return plan


def _compare(
    plan: Plan, kind: str, code: str, definition: Mapping[str, Any], old: SpecVersion | None
) -> None:
    status = str(definition.get("status", "published"))
    if old is None:
        plan.changes.append(Change(kind, code, "add", 1, status, diff=_diff(None, definition)))
        return
    if old.digest == digest(definition) and old.status != "deprecated":
        return
    if kind == "tag" and old.status == "published":
        _check_tag_change(plan, code, old.definition, definition)
    action = "restore" if old.status == "deprecated" else "change"
    changed = tuple(
        sorted(
            k
            for k in set(definition) | set(old.definition)
            if definition.get(k) != old.definition.get(k)
        )
    )
    plan.changes.append(
        Change(
            kind, code, action, old.version + 1, status, changed, _diff(old.definition, definition)
        )
    )


def _check_tag_change(
    plan: Plan, code: str, old: Mapping[str, Any], new: Mapping[str, Any]
) -> None:
    if old.get("kind") != new.get("kind"):
        plan.errors.append(
            Conflict(
                f"tag `{code}` is published as kind `{old.get('kind')}`; its kind cannot change "
                f"to `{new.get('kind')}`",
                hint="create a tag with a new code and deprecate this one",
            )
        )
    if new.get("status") == "draft":
        plan.errors.append(
            Conflict(
                f"tag `{code}` is published and cannot go back to draft",
                hint="set status: deprecated to retire it, or keep it published",
            )
        )


def _diff(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> str:
    def lines(d: Mapping[str, Any] | None) -> list[str]:
        if d is None:
            return []
        text = json.dumps(d, sort_keys=True, ensure_ascii=False, indent=2)
        return text.splitlines()

    return "\n".join(
        difflib.unified_diff(lines(old), lines(new), "catalog", "files", lineterm="", n=1)
    )


def versions_to_apply(
    plan: Plan, items: Items, latest: Mapping[str, Mapping[str, SpecVersion]], *, actor: str
) -> list[SpecVersion]:
    """The catalog rows that ``apply`` writes for ``plan``.

    Raises:
        Conflict: the plan has errors (nothing is written).
    """
    if plan.errors:
        first = plan.errors[0]
        more = f" (and {len(plan.errors) - 1} more)" if len(plan.errors) > 1 else ""
        raise Conflict(first.message + more, hint=first.hint)
    now = datetime.now(UTC)
    out: list[SpecVersion] = []
    for change in plan.changes:
        if change.action == "remove":
            definition = dict(latest[change.kind][change.code].definition)
            definition["status"] = "deprecated"
        else:
            definition = dict(items[change.kind][change.code])
        out.append(
            SpecVersion(
                kind=change.kind,
                code=change.code,
                version=change.version,
                status=change.status,
                definition=definition,
                digest=digest(definition),
                diff=change.diff,
                applied_at=now,
                applied_by=actor,
            )
        )
    return out
