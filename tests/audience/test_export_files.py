"""Member lists written whole or not at all: CSV (UTF-8, optional BOM) and Parquet."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tagwise.audience import export as export_module
from tagwise.audience.export import MemberList, control_path, file_format, write_lists
from tagwise.errors import ConfigError, EngineError

TABLE = pa.table(
    {
        "customer_id": ["C001", "C002", "C003"],
        "name": ["张三", "李四", None],
        "interests": pa.array([["运动", "美妆"], None, ["数码"]], type=pa.list_(pa.string())),
    }
)


def test_csv_with_bom_opens_in_excel_and_keeps_chinese(tmp_path: Path) -> None:
    out = tmp_path / "高价值.csv"
    write_lists([MemberList(out, TABLE)], bom=True)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(out, encoding="utf-8-sig")
    assert list(frame.columns) == ["customer_id", "name", "interests"]
    assert frame["name"].tolist()[:2] == ["张三", "李四"]
    assert frame["interests"].tolist()[0] == "运动|美妆"


def test_csv_without_bom_starts_with_the_header(tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    write_lists([MemberList(out, TABLE)])
    assert out.read_bytes().startswith(b'"customer_id"')


def test_an_export_gets_the_mode_of_any_new_file(tmp_path: Path) -> None:
    """Not mkstemp's private 0600: the user's umask decides, as for `> file`."""
    previous = os.umask(0o027)
    try:
        out = tmp_path / "a.csv"
        write_lists([MemberList(out, TABLE)])
    finally:
        os.umask(previous)
    assert out.stat().st_mode & 0o777 == 0o640


def test_parquet_round_trips_lists(tmp_path: Path) -> None:
    out = tmp_path / "a.parquet"
    write_lists([MemberList(out, TABLE)], bom=True)  # a BOM means nothing to Parquet
    assert pq.read_table(out).equals(TABLE)


def test_a_failed_export_leaves_every_file_as_it_was(tmp_path: Path) -> None:
    target, control = tmp_path / "t.csv", tmp_path / "t.control.csv"
    target.write_text("old target\n", encoding="utf-8")
    unwritable = pa.table({"x": pa.array([{"a": 1}])})  # CSV cannot hold a struct
    with pytest.raises(EngineError):
        write_lists([MemberList(target, TABLE), MemberList(control, unwritable)])
    assert target.read_text(encoding="utf-8") == "old target\n"
    assert not control.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]


def test_an_interrupted_export_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(export_module.pq, "write_table", interrupted)
    out = tmp_path / "t.parquet"
    with pytest.raises(KeyboardInterrupt):
        write_lists([MemberList(out, TABLE)])
    assert list(tmp_path.iterdir()) == []


def test_destinations_are_checked_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        write_lists(
            [MemberList(tmp_path / "t.csv", TABLE), MemberList(tmp_path / "x/c.csv", TABLE)]
        )
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ConfigError, match=r"unknown file type `\.xlsx`") as info:
        file_format(tmp_path / "t.xlsx")
    assert info.value.hint == "name the file FILE.csv or FILE.parquet"


def test_the_control_list_goes_beside_the_target() -> None:
    assert control_path(Path("out/双11.csv")) == Path("out/双11.control.csv")
    assert control_path(Path("a.parquet")) == Path("a.control.parquet")


def test_the_log_is_written_before_the_renames_and_a_failing_log_changes_nothing(
    tmp_path: Path,
) -> None:
    out = tmp_path / "t.csv"
    out.write_text("old\n", encoding="utf-8")
    seen: list[list[str]] = []

    def log() -> None:
        seen.append(sorted(p.name for p in tmp_path.iterdir()))
        raise ConfigError("the catalog is down")

    with pytest.raises(ConfigError, match="catalog is down"):
        write_lists([MemberList(out, TABLE)], before_rename=log)
    assert len(seen[0]) == 2  # the whole temporary file existed when the log was asked
    assert out.read_text(encoding="utf-8") == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv"]
