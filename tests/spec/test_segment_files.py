"""segments/*.yaml: loading with positions, checks in lint, plan/apply versions, saving."""

from __future__ import annotations

from pathlib import Path

import pytest

import tagwise
from tagwise.engine.pipeline import _applied_versions
from tagwise.errors import Conflict
from tagwise.spec.segments import SegmentSpec, collect_segments, save_segment


def write(root: Path, name: str, text: str) -> Path:
    path = root / "segments" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def ws(tmp_path: Path):
    workspace = tagwise.init(tmp_path / "shop", demo=True)
    yield workspace
    workspace.close()


def test_segments_load_with_positions(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "marketing.yaml",
        "segments:\n"
        "  - name: 高价值女性\n"
        "    expr: gender_label = '女' and spend_level = '高消费'\n"
        "    owner: crm\n"
        "  - name: 一线城市\n"
        "    expr: city_tier = '一线'\n",
    )
    spec, errors = collect_segments(tmp_path / "segments")
    assert errors == []
    assert list(spec.segments) == ["高价值女性", "一线城市"]
    assert spec.segments["高价值女性"].owner == "crm"
    assert spec.where("一线城市", "expr").line == 6  # type: ignore[union-attr]
    assert spec.files["一线城市"] == path


def test_every_problem_of_every_file_is_reported(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        "segments:\n  - name: x\n    expr: vip\n  - name: x\n    expr: vip\n"
        "  - name: y\n    expr: vip\n    ownr: crm\n",
    )
    write(tmp_path, "b.yaml", "segmnets: []\n")
    write(tmp_path, "c.yaml", "segments:\n  - name: 'a/b'\n    expr: vip\n  - expr: ''\n")
    _, errors = collect_segments(tmp_path / "segments")
    messages = [(Path(str(e.location.path)).name, e.location.line, e.message) for e in errors]
    assert ("a.yaml", 8, "unknown field `segments.2.ownr`") in messages
    assert ("a.yaml", 4, "duplicate segment name `x`") in messages
    assert any(m[0] == "b.yaml" and "unknown top-level key `segmnets`" in m[2] for m in messages)
    assert any(m[0] == "c.yaml" and m[1] == 2 and "segments.0.name" in m[2] for m in messages)
    assert any(m[0] == "c.yaml" and "segments.1.name" in m[2] for m in messages)
    typo = next(e for e in errors if "ownr" in e.message)
    assert typo.hint == "did you mean `owner`?"


def test_lint_checks_expressions_unknown_names_cycles_and_drafts(ws) -> None:
    write(
        ws.root,
        "s.yaml",
        "segments:\n"
        "  - name: 好\n    expr: gender_label = '女' and spend_levle = '高消费'\n"
        "  - name: a\n    expr: in_segment('b') and city_tier = '一线'\n"
        "  - name: b\n    expr: in_segment('a')\n"
        "  - name: c\n    expr: in_segment('高价值')\n",
    )
    problems = {p.message: p for p in ws.lint().problems}
    unknown = next(p for m, p in problems.items() if "spend_levle" in m)
    assert unknown.hint == "did you mean `spend_level`?"
    assert unknown.line == 3
    cycles = [m for m in problems if "cycle" in m]
    assert len(cycles) == 2
    assert any("a → b → a" in m for m in cycles)
    assert any("unknown segment `高价值`" in m for m in problems)


@pytest.mark.parametrize("status", ["draft", "deprecated"])
def test_lint_names_a_draft_or_deprecated_tag_as_such(ws, status: str) -> None:
    """Not "unknown name": the tag exists, its status keeps it out of segments."""
    path = ws.root / "tags" / "risk.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("  - code: churn_risk\n", f"  - code: churn_risk\n    status: {status}\n"),
        encoding="utf-8",
    )
    write(ws.root, "s.yaml", "segments:\n  - name: 流失\n    expr: churn_risk = '高'\n")
    messages = [p.message for p in ws.lint().problems if "segment `流失`" in p.message]
    state = "a draft" if status == "draft" else "deprecated"
    assert len(messages) == 1
    assert f"tag `churn_risk` is {state}; segments use published tags only" in messages[0]


def test_plan_shows_segments_and_apply_records_their_versions(ws) -> None:
    ws.apply()  # the starter taxonomy, features and tags
    write(ws.root, "s.yaml", "segments:\n  - name: 一线\n    expr: city_tier = '一线'\n")
    plan = ws.plan()
    assert [(c.kind, c.code, c.action, c.version) for c in plan.changes] == [
        ("segment", "一线", "add", 1)
    ]
    ws.apply()
    write(ws.root, "s.yaml", "segments:\n  - name: 一线\n    expr: city_tier in ('一线')\n")
    changed = ws.apply()
    assert [(c.code, c.action, c.version, c.fields) for c in changed.changes] == [
        ("一线", "change", 2, ["expr"])
    ]
    (ws.root / "segments" / "s.yaml").unlink()
    removed = ws.plan()
    assert [(c.code, c.action, c.status) for c in removed.changes] == [
        ("一线", "remove", "deprecated")
    ]


def test_an_unapplied_segment_does_not_stop_a_run_check(ws) -> None:
    ws.apply()
    write(ws.root, "s.yaml", "segments:\n  - name: 一线\n    expr: city_tier = '一线'\n")
    _applied_versions(ws.catalog, ws.specs())  # raises Conflict if segments counted


def test_save_writes_its_own_file_and_refuses_shared_files(tmp_path: Path) -> None:
    folder = tmp_path / "segments"
    spec, _ = collect_segments(folder)
    path = save_segment(folder, SegmentSpec(name="高价值女性", expr="vip"), spec)
    assert path == folder / "高价值女性.yaml"
    again, errors = collect_segments(folder)
    assert errors == [] and again.segments["高价值女性"].expr == "vip"
    write(
        tmp_path,
        "shared.yaml",
        "segments:\n  - name: a\n    expr: vip\n  - name: b\n    expr: vip\n",
    )
    shared, _ = collect_segments(folder)
    with pytest.raises(Conflict, match=r"defined in `shared\.yaml` with other segments"):
        save_segment(folder, SegmentSpec(name="a", expr="not vip"), shared)
    assert sorted(p.name for p in folder.iterdir()) == ["shared.yaml", "高价值女性.yaml"]
