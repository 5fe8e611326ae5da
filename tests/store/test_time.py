"""History is true to time: any sequence of runs at any as-of dates, then "values as of D"
equals what a fresh run as of D computes, for every D (issue #12)."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tagwise
from tagwise.cli.app import run as cli_run
from tagwise.demo.timeline import DEMO_AS_OF
from tagwise.errors import Conflict

POOL = [DEMO_AS_OF + timedelta(days=d) for d in (-30, 0, 9, 45, 120)]
"""As-of dates the sequences draw from (the demo itself runs as of DEMO_AS_OF)."""


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("time") / "shop"
    assert cli_run(["demo", str(root), "--customers", "300", "--json"]) == 0
    return root


def values(ws, day: date | None = None) -> frozenset[tuple]:
    found = ws.tag_store.current() if day is None else ws.tag_store.as_of(day)
    return frozenset((v.cid, v.tag, v.value, v.score) for v in found if not v.locked)


@pytest.fixture(scope="module")
def fresh(template: Path, tmp_path_factory) -> dict[date, frozenset[tuple]]:
    """What one run as of each date computes, each in its own copy of the demo."""
    out = {}
    for day in POOL:
        root = tmp_path_factory.mktemp("fresh") / "shop"
        shutil.copytree(template, root)
        with tagwise.open(root) as ws:
            if day >= DEMO_AS_OF:
                ws.run(as_of=day)
                out[day] = values(ws)
    return out


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(POOL), min_size=1, max_size=4))
def test_values_as_of_any_date_equal_a_fresh_run_as_of_it(
    template: Path, fresh, tmp_path_factory, days: list[date]
) -> None:
    root = tmp_path_factory.mktemp("seq") / "shop"
    shutil.copytree(template, root)
    accepted = [DEMO_AS_OF]
    with tagwise.open(root) as ws:
        for day in days:
            before = (values(ws), ws.tag_store.last_seq())
            if day < max(accepted):
                with pytest.raises(Conflict, match="history only moves forward"):
                    ws.run(as_of=day)
                assert (values(ws), ws.tag_store.last_seq()) == before
            else:
                ws.run(as_of=day)
                accepted.append(day)
        intervals = ws.tag_store.history()
        assert all(i.valid_to is None or i.valid_to >= i.valid_from for i in intervals)
        for day in POOL:
            held = [d for d in accepted if d <= day]
            expected = fresh[max(held)] if held else frozenset()
            assert values(ws, day) == expected, day
            # and one day later: still the last run's values until the next run
            later = day + timedelta(days=1)
            following = [d for d in accepted if d <= later]
            assert values(ws, later) == (fresh[max(following)] if following else frozenset())
