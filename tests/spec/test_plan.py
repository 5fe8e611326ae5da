"""plan/apply: adds, changes with field lists, removals deprecate, kind is immutable."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagwise.errors import Conflict
from tagwise.spec.plan import make_plan, versions_to_apply
from tagwise.store.catalog import Catalog, resolve_url

TAG = {
    "code": "spend_level",
    "name": "价值_消费等级",
    "kind": "enum",
    "status": "published",
    "rule": [{"when": "spend_365d >= 1", "value": "高"}, {"else": "低"}],
}


@pytest.fixture(params=["sqlite", "postgres"])
def catalog(request, tmp_path: Path):
    url = (
        resolve_url("sqlite:///c.sqlite", tmp_path)
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    cat = Catalog(url)
    cat.migrate()
    yield cat
    cat.close()


def apply(catalog: Catalog, items) -> list:
    latest = {k: catalog.latest_versions(k) for k in ("category", "feature", "tag")}
    plan = make_plan(items, latest)
    versions = versions_to_apply(plan, items, latest, actor="tester")
    catalog.add_versions(versions)
    return plan.changes


def test_add_change_remove_restore(catalog: Catalog) -> None:
    changes = apply(catalog, {"tag": {"spend_level": TAG, "vip": {**TAG, "code": "vip"}}})
    assert [(c.code, c.action, c.version) for c in changes] == [
        ("spend_level", "add", 1),
        ("vip", "add", 1),
    ]
    assert apply(catalog, {"tag": {"spend_level": TAG, "vip": {**TAG, "code": "vip"}}}) == []
    renamed = {**TAG, "name": "价值_消费档次"}
    changes = apply(catalog, {"tag": {"spend_level": renamed}})
    assert [(c.code, c.action, c.version, c.fields) for c in changes] == [
        ("spend_level", "change", 2, ("name",)),
        ("vip", "remove", 2, ()),
    ]
    assert "价值_消费档次" in changes[0].diff
    latest = catalog.latest_versions("tag")
    assert latest["vip"].status == "deprecated"
    assert latest["spend_level"].definition["name"] == "价值_消费档次"
    changes = apply(catalog, {"tag": {"spend_level": renamed, "vip": {**TAG, "code": "vip"}}})
    assert [(c.code, c.action, c.version) for c in changes] == [("vip", "restore", 3)]
    assert [v.version for v in catalog.versions("tag", "vip")] == [1, 2, 3]


def test_a_published_kind_cannot_change_and_nothing_is_written(catalog: Catalog) -> None:
    apply(catalog, {"tag": {"spend_level": TAG}})
    with pytest.raises(Conflict, match="kind cannot change"):
        apply(catalog, {"tag": {"spend_level": {**TAG, "kind": "flag"}}})
    with pytest.raises(Conflict, match="cannot go back to draft"):
        apply(catalog, {"tag": {"spend_level": {**TAG, "status": "draft"}}})
    assert [v.version for v in catalog.versions("tag", "spend_level")] == [1]
