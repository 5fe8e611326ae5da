"""What a new user meets first (issue #12): runs before an ingest, impossible dates, the
`--tags` list, the demo's `--force` and "Next:" hint, and a warehouse held elsewhere."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(scope="module")
def fresh_demo(tmp_path_factory) -> Path:
    """A demo workspace with generated data, applied, and nothing ingested yet."""
    from tagwise.cli.app import run  # noqa: PLC0415

    root = tmp_path_factory.mktemp("first") / "shop"
    assert run(["init", str(root), "--demo", "--customers", "300", "--json"]) == 0
    assert run(["-w", str(root), "apply", "--json"]) == 0
    return root


def one_line(err: str) -> str:
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err.strip()


def test_run_before_any_ingest_says_to_ingest_first(cli, fresh_demo: Path) -> None:
    result = cli("-w", fresh_demo, "run")
    assert result.code == 1
    line = one_line(result.err)
    assert line.startswith("error[not-found]:")
    assert "customer master `customers` has not been ingested" in line
    assert "tagwise ingest" in line
    assert "Catalog Error" not in line


def test_run_names_the_declared_source_that_was_never_ingested(
    cli, fresh_demo: Path, tmp_path: Path
) -> None:
    import shutil  # noqa: PLC0415

    root = tmp_path / "shop"
    shutil.copytree(fresh_demo, root)
    assert cli("-w", root, "ingest", "customers", "--json").code == 0
    result = cli("-w", root, "run", "--as-of", "2026-11-01")
    assert result.code == 1
    line = one_line(result.err)
    assert "source `events` has not been ingested" in line  # the first missing one, by name
    assert "tagwise ingest events orders" in line
    assert "Catalog Error" not in line
    assert cli("-w", root, "ingest", "--json").code == 0
    assert cli("-w", root, "run", "--as-of", "2026-11-01", "--json").code == 0


@pytest.mark.postgres
def test_run_on_postgres_before_any_ingest_says_to_ingest_first(
    cli, fresh_demo: Path, tmp_path: Path, pg_url: str
) -> None:
    import shutil  # noqa: PLC0415

    root = tmp_path / "shop"
    shutil.copytree(fresh_demo, root)
    with (root / "tagwise.toml").open("a", encoding="utf-8") as fh:
        fh.write(f'\n[engine]\npostgres_url = "{pg_url}"\n')
    result = cli("-w", root, "run", "--engine", "postgres")
    assert result.code == 1
    line = one_line(result.err)
    assert "customer master `customers` has not been ingested" in line


@pytest.mark.parametrize(
    "as_of",
    ["9999-12-31", "0001-01-01", "1899-12-31", (date.today() + timedelta(days=400)).isoformat()],
)
def test_impossible_as_of_dates_are_refused_in_one_line(cli, fresh_demo: Path, as_of: str) -> None:
    result = cli("-w", fresh_demo, "run", "--as-of", as_of)
    assert result.code == 1
    line = one_line(result.err)
    assert line.startswith("error[config]:") and f"`{as_of}` is out of range" in line
    assert "1900-01-01" in line


def test_the_help_states_the_as_of_range(cli) -> None:
    result = cli("run", "--help")
    assert "1900-01-01" in " ".join(result.out.split())


@pytest.mark.slow
def test_tags_accept_commas_and_repeats(cli, tmp_path: Path) -> None:
    root = tmp_path / "shop"
    assert cli("demo", root, "--customers", "300", "--json").code == 0
    expected = {"spend_level", "rfm_segment", "churn_risk"}
    for args in (
        ["--tags", "spend_level,rfm_segment", "--tags", "churn_risk"],
        ["--tags", "spend_level, rfm_segment,churn_risk"],
        ["--tags", "spend_level", "--tags", "rfm_segment", "--tags", "churn_risk"],
    ):
        result = cli("-w", root, "run", "--as-of", "2026-11-01", *args, "--json")
        assert result.code == 0, result.err
        computed = set(result.json()["tags"])
        assert expected <= computed  # and what they read (rfm_segment reads r/f/m scores)
        assert "age_band" not in computed
    unknown = cli("-w", root, "run", "--tags", "spend_level,nope")
    assert unknown.code == 1 and "`nope`" in one_line(unknown.err)


def test_demo_force_refuses_a_workspace_that_demo_did_not_build(cli, tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    assert cli("init", mine, "--json").code == 0
    (mine / "data" / "customers.csv").write_text("precious\n", encoding="utf-8")
    result = cli("demo", mine, "--customers", "200", "--force")
    assert result.code == 1
    line = one_line(result.err)
    assert "`tagwise demo` did not build" in line and "refusing to delete it" in line
    assert (mine / "data" / "customers.csv").read_text(encoding="utf-8") == "precious\n"
    assert (mine / "tagwise.toml").exists()


@pytest.mark.slow
def test_demo_force_replaces_its_own_demo_again_and_again(cli, tmp_path: Path) -> None:
    root = tmp_path / "demo"
    for _ in range(2):
        result = cli("demo", root, "--customers", "200", "--force", "--json")
        assert result.code == 0, result.err
        assert (root / ".tagwise" / "demo").is_file()
    (root / "notes.txt").write_text("scratch", encoding="utf-8")
    assert cli("demo", root, "--customers", "200", "--force", "--json").code == 0
    assert not (root / "notes.txt").exists()  # the whole demo folder was rebuilt


@pytest.mark.slow
def test_demo_next_hint_works_as_printed_without_tagwise_on_path(tmp_path: Path) -> None:
    """As after `make demo`: the command lives in .venv/bin, which is not on PATH. Every
    command of the "Next:" line, run as printed from the same folder, succeeds."""
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "tagwise"
    script.write_text(
        f"#!{sys.executable}\nimport sys\nfrom tagwise.cli.app import main\nsys.exit(main())\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(SRC),
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
    }
    built = subprocess.run(
        [".venv/bin/tagwise", "demo", "demo", "--customers", "200"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    next_line = next(line for line in built.stdout.splitlines() if line.startswith("Next:"))
    commands = next_line.split("`")[1::2]
    assert len(commands) == 3
    assert all(c.startswith(".venv/bin/tagwise -w demo ") for c in commands), commands
    for command in commands:
        done = subprocess.run(
            shlex.split(command), cwd=tmp_path, env=env, capture_output=True, check=False
        )
        assert done.returncode == 0, (command, done.stderr)


def test_a_warehouse_held_by_another_process_names_no_missing_command(cli, tmp_path: Path) -> None:
    assert cli("init", tmp_path / "ws", "--json").code == 0
    warehouse = tmp_path / "ws" / ".tagwise" / "warehouse.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]); "
            "print('ready', flush=True); time.sleep(60)",
            str(warehouse),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        result = cli("-w", tmp_path / "ws", "ingest")
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert result.code == 1
    line = one_line(result.err)
    assert "open in another process" in line
    assert "serve" not in line and "HTTP" not in line
    time.sleep(0.1)
    duckdb.connect(str(warehouse)).close()  # released: usable again
