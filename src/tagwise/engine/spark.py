"""The Spark engine: features and rules as Spark SQL, for data that outgrows one machine.

Each declared source is a Parquet dataset ``<spark_sources>/<source>`` (a folder of files,
partitioned or not; any Hadoop-compatible URI); rows belong to customers through the
source's ``customer_key``. Tagwise keeps its own data under ``spark_work``:

* ``customer_keys`` (customer_id → cid), the warehouse's keys, written before each run;
* ``profile_<run>`` snapshots (Parquet), the last runs' kept for explanations;
* ``values_<run>`` the long form of a run's tag values (Parquet), read by the warehouse's
  tag store without passing through the driver, then deleted.

Layers are materialized as Parquet under ``spark_work/scratch`` (cached plans would be
recomputed per branch of the long form). Nothing in a run collects customer-sized data to
the driver: only counts, and one customer's snapshot row for an explanation.

Dialect: sqlglot writes Spark SQL from the run's trees (``MIN_BY`` over a struct, ``FILTER``
with a lambda, ``EXPLODE``); :meth:`SparkEngine.rewrite` maps the logical tables and
replaces the rest (``LIKE … ESCAPE ''``, a sorted distinct list).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from sqlglot import exp

from tagwise.engine.base import Engine, Transform, logical_table, transformed
from tagwise.errors import ConfigError, EngineError
from tagwise.spec.sources import SourcesSpec
from tagwise.store.sql import ident, lit, table

if TYPE_CHECKING:
    from tagwise.settings import EngineSettings, Settings
    from tagwise.store.warehouse import Warehouse

__all__ = ["SparkEngine", "export_sources", "spark_error", "spark_session"]

_MASTER = re.compile(r"^(local(\[(\*|\d+)(,\s*\d+)?\])?|yarn|(spark|k8s|mesos)://\S+)$")
_SESSIONS: dict[str, Any] = {}
"""One Spark session per master URL and process (starting one takes seconds)."""
_SPARK_TYPES = {
    "string": "STRING",
    "phone": "STRING",
    "email": "STRING",
    "gender": "STRING",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP_NTZ",
}
"""Spark type of each declared column type (CSV sources are read with these)."""
_MEMORY_HINT = (
    'give Spark more memory: `[engine] spark_conf = {"spark.driver.memory" = "4g"}` with a '
    "local[N] master (the driver runs the tasks), spark.executor.memory on a cluster"
)


class SparkEngine(Engine):
    """Features and rules on Apache Spark (PySpark)."""

    name: ClassVar[str] = "spark"
    dialect: ClassVar[str] = "spark"
    inexact: ClassVar[Mapping[str, str]] = {
        "upper": "Java's full case mapping: upper('ß') is 'SS'",
        "lower": "Java's full case mapping",
    }

    def __init__(self, spark: Any, sources: str, work: Path, *, fmt: str = "parquet") -> None:
        self.spark = spark
        self.sources = sources.rstrip("/")
        self.work = work
        self.format = fmt
        self.spec = SourcesSpec(sources={})
        """The declared sources (set by :meth:`prepare`): customer keys and the master."""

    @classmethod
    def connect(cls, settings: EngineSettings, root: Path) -> SparkEngine:
        """A session on ``[engine] spark_master`` (shared per process).

        Raises:
            ConfigError: pyspark missing, no sources location, or the master unusable.
        """
        if not settings.spark_sources:
            raise ConfigError(
                "the spark engine needs the location of the sources",
                hint='set `[engine] spark_sources = "/data/lake/crm"` (a folder or URI '
                "holding one Parquet dataset per source)",
            )
        spark, work = spark_session(settings, root)
        return cls(spark, settings.spark_sources, work, fmt=settings.spark_format)

    # -- SQL --------------------------------------------------------------------------

    def sql(self, text: str) -> Any:
        """A DataFrame of Spark SQL; Spark's errors become :class:`EngineError`."""
        try:
            return self.spark.sql(text)
        except Exception as exc:
            raise spark_error("spark engine query failed", exc) from exc

    def rewrite(self, node: exp.Expr) -> exp.Expr:
        return node.transform(self._rewrite_node, copy=False)

    def _rewrite_node(self, node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Table) and not isinstance(node.this, exp.Subquery):
            return self._table(node)
        return transformed(node, TRANSFORMS)

    def _table(self, node: exp.Table) -> exp.Expr:
        """``src.<source>`` → the source's view with ``cid`` from the written keys."""
        return logical_table(
            node,
            source=lambda name: exp.table_(f"tw_src_{name}", quoted=True),
            keys=exp.table_("tw_customer_keys", quoted=True),
            sources=self.spec,
            text="STRING",
        )

    # -- a run ------------------------------------------------------------------------

    def prepare(self, wh: Warehouse, sources: SourcesSpec) -> None:
        """Write the customer keys; register every source dataset as a view."""
        self.spec = sources
        keys = self.work / "customer_keys"
        _remove(keys)
        keys.mkdir(parents=True, exist_ok=True)
        wh.execute(
            f"COPY (SELECT customer_id, cid, rid FROM meta.customer_keys) TO "  # noqa: S608 (names quoted by ident()/table())
            f"{lit(str(keys / 'keys.parquet'))} (FORMAT parquet)"
        )
        self._view("tw_customer_keys", str(keys))
        for name, source in sources.sources.items():
            location = f"{self.sources}/{name}"
            schema = None
            if self.format == "csv":
                schema = ", ".join(
                    f"`{c}` {_SPARK_TYPES[col.type.value]}" for c, col in source.columns.items()
                )
            try:
                self._view(f"tw_src_{name}", location, csv_schema=schema)
            except EngineError as exc:
                raise ConfigError(
                    f"source `{name}`: no {self.format} dataset at `{location}`",
                    hint=f"write one {self.format} dataset per declared source under "
                    "`[engine] spark_sources`",
                ) from exc

    def _view(self, name: str, location: str, *, csv_schema: str | None = None) -> None:
        try:
            if csv_schema is not None:
                reader = self.spark.read.schema(csv_schema).option("header", True)
                reader.csv(location).createOrReplaceTempView(name)
                return
            self.spark.read.parquet(location).createOrReplaceTempView(name)
        except Exception as exc:
            raise spark_error(f"spark engine cannot read `{location}`", exc) from exc

    def _materialize(self, name: str, query: exp.Query, folder: Path) -> exp.Table:
        _remove(folder)
        try:
            self.sql(self.render(query)).write.mode("overwrite").parquet(str(folder))
        except EngineError:
            raise
        except Exception as exc:
            raise spark_error("spark engine query failed", exc) from exc
        self._view(name, str(folder))
        return exp.table_(name)

    def write_profile(self, query: exp.Query, run_id: int) -> exp.Table:
        return self._materialize(
            f"tw_profile_{int(run_id)}", query, self.work / f"profile_{int(run_id)}"
        )

    def create_scratch(self, name: str, query: exp.Query) -> exp.Table:
        return self._materialize(name, query, self.work / "scratch" / name)

    def drop_scratch(self, names: Collection[str]) -> None:
        for name in names:
            self.spark.catalog.dropTempView(name)
            _remove(self.work / "scratch" / name)

    def count(self, relation: exp.Table) -> int:
        return int(self.sql(f"SELECT count(*) AS n FROM {self.render(relation)}").first()["n"])  # noqa: S608 (names quoted by ident()/table())

    def fetch(self, query: exp.Query) -> list[tuple[Any, ...]]:
        try:
            return [tuple(r) for r in self.sql(self.render(query)).collect()]
        except EngineError:
            raise
        except Exception as exc:
            raise spark_error("spark engine query failed", exc) from exc

    def export(self, query: exp.Query, wh: Warehouse) -> str:
        """The long form as Parquet files the warehouse reads directly."""
        del wh  # reads the files in place
        folder = self.work / "values"
        self._materialize("tw_values", query, folder)
        files = lit(str(folder / "*.parquet"))
        return f"(SELECT cid, tag_id, value, score FROM read_parquet({files}))"  # noqa: S608 (names quoted by ident()/table())

    def profile_row(self, run_id: int, cid: int) -> dict[str, Any]:
        folder = self.work / f"profile_{int(run_id)}"
        if not folder.exists():
            return {}
        # one customer's row: filtered in Spark, a single row reaches the driver
        row = self.spark.read.parquet(str(folder)).where(f"cid = {int(cid)}").first()
        return {} if row is None else row.asDict()

    def drop_snapshot(self, run_id: int) -> None:
        _remove(self.work / f"profile_{int(run_id)}")

    def keep_snapshots(self, runs: Collection[int]) -> None:
        keep = {f"profile_{int(r)}" for r in runs}
        if self.work.exists():
            for path in self.work.glob("profile_*"):
                if path.name not in keep:
                    _remove(path)
        _remove(self.work / "values")


def spark_session(settings: EngineSettings, root: Path) -> tuple[Any, Path]:
    """The Spark session on ``[engine] spark_master`` (one per master and process) and the
    work folder ``[engine] spark_work`` (relative to the workspace ``root``).

    The session loads splink's jar of string-similarity functions (damerau_levenshtein,
    jaro_winkler …) when splink is installed, so that record matching can run on it.

    Raises:
        ConfigError: pyspark missing or the master unusable.
    """
    try:
        from pyspark.sql import SparkSession  # noqa: PLC0415
    except ImportError as exc:
        raise ConfigError(
            "the spark engine needs pyspark",
            hint="install the extra: pip install 'tagwise[spark]' (and Java 17)",
        ) from exc
    master = settings.spark_master
    if not _MASTER.match(master):
        raise ConfigError(
            f"`{master}` is not a Spark master URL",
            hint="set `[engine] spark_master` to local[*], local[N], spark://host:7077, "
            "yarn or k8s://https://host:port",
        )
    work = Path(settings.spark_work)
    work = work if work.is_absolute() else root / work
    if master not in _SESSIONS:
        builder = SparkSession.builder.master(master).appName("tagwise")
        conf = {
            "spark.sql.session.timeZone": "UTC",
            "spark.ui.enabled": "false",
            "spark.sql.shuffle.partitions": str(settings.spark_partitions),
            "spark.sql.ansi.enabled": "false",
            **settings.spark_conf,
        }
        jar = _similarity_jar()
        if jar is not None:
            conf["spark.jars"] = ",".join(filter(None, (conf.get("spark.jars"), jar)))
        for key, value in conf.items():
            builder = builder.config(key, value)
        try:
            # the JVM writes its log to the process's stderr: send it to a file
            with _stderr_to(work / "spark.log"):
                _SESSIONS[master] = builder.getOrCreate()
        except Exception as exc:
            raise ConfigError(
                f"cannot start Spark on `{master}`: {spark_error('', exc).message[:300]}",
                hint="check `[engine] spark_master` (local[*], spark://host:7077, yarn, "
                "k8s://…) and that Java 17 is installed",
            ) from exc
    return _SESSIONS[master], work


def spark_error(what: str, exc: BaseException) -> EngineError:
    """One line for a Spark failure: ``what: <cause>``. A Py4J error's first line only names
    the JVM call (``An error occurred while calling o277.parquet.``), so the cause is the
    next line; a JVM out of memory gets a hint on where to give Spark more."""
    text = str(exc)
    if "Error was:" in text:  # splink's SplinkException: "… <SQL> … Error was: <cause>"
        text = text.rsplit("Error was:", 1)[1]
    lines = [line.strip().removeprefix(":").strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if len(lines) > 1 and lines[0].startswith("An error occurred while calling"):
        lines = lines[1:]
    cause = lines[0][:500] if lines else type(exc).__name__
    prefix = f"{what}: " if what else ""
    heap = "OutOfMemoryError" in text or "Java heap space" in text
    if heap:
        cause = "Spark ran out of memory (java.lang.OutOfMemoryError: Java heap space)"
    memory = heap or "Not enough memory" in text
    return EngineError(f"{prefix}{cause}", hint=_MEMORY_HINT if memory else None)


def _similarity_jar() -> str | None:
    """Splink's jar of similarity functions for this Spark version, if splink is installed."""
    try:
        from splink.backends.spark import similarity_jar_location  # noqa: PLC0415
    except ImportError:
        return None
    return str(similarity_jar_location())


def export_sources(
    wh: Warehouse,
    folder: Path,
    sources: SourcesSpec,
    *,
    partitions: int = 8,
    fmt: str = "parquet",
) -> dict[str, int]:
    """Write the warehouse's ingested sources as datasets ``folder/<source>`` with the
    declared columns (no ``cid``, no lineage): data laid out for the spark engine. Parquet
    is partitioned by a hash of the customer key (``part=0..partitions-1``); ``fmt="csv"``
    writes one CSV file with a header per source.

    Returns:
        Rows per source.
    """
    counts: dict[str, int] = {}
    for name, source in sources.sources.items():
        target = folder / name
        _remove(target)
        folder.mkdir(parents=True, exist_ok=True)
        relation = table("src", name)
        columns = [c for c, _ in wh.columns(relation) if c not in ("cid", "_file", "_line")]
        listed = ", ".join(ident(c) for c in columns)
        options = "FORMAT csv, HEADER true" if fmt == "csv" else "FORMAT parquet"
        if source.customer_key is None or fmt == "csv":
            target.mkdir(parents=True, exist_ok=True)
            wh.execute(
                f"COPY (SELECT {listed} FROM {relation}) TO "  # noqa: S608 (names quoted by ident()/table())
                f"{lit(str(target / f'part-0.{fmt}'))} ({options})"
            )
        else:
            part = f"hash({ident(source.customer_key)}) % {int(partitions)}"
            wh.execute(
                f"COPY (SELECT {listed}, {part} AS part FROM {relation}) TO "  # noqa: S608 (names quoted by ident()/table())
                f"{lit(str(target))} ({options}, PARTITION_BY (part))"
            )
        counts[name] = int(wh.scalar(f"SELECT count(*) FROM {relation}"))  # noqa: S608 (names quoted by ident()/table())
    return counts


def _is_call(node: exp.Expr, name: str) -> bool:
    return isinstance(node, exp.Anonymous) and str(node.this).lower() == name


def escape_character_for_empty_escape(node: exp.Expr) -> exp.Expr:
    """``x LIKE p ESCAPE ''`` (no escape character) → an escape character that the pattern
    does not contain, so every character of it stays literal or wildcard: Spark wants one."""
    if not (
        isinstance(node, exp.Escape)
        and isinstance(node.expression, exp.Literal)
        and node.expression.name == ""
    ):
        return node
    pattern = node.this.expression if isinstance(node.this, exp.Like) else None
    text = pattern.name if isinstance(pattern, exp.Literal) else ""
    escape = next(c for c in "\x01\x02\x03\x04\x05\x06\x07" if c not in text)
    return exp.Escape(this=node.this.copy(), expression=exp.Literal.string(escape))


def day_time_interval(node: exp.Expr) -> exp.Expr:
    """A bare ``INTERVAL`` type → ``INTERVAL DAY TO SECOND``: durations are days and hours,
    Spark's day-time interval, not the legacy type."""
    if (
        isinstance(node, exp.DataType)
        and node.this == exp.DataType.Type.INTERVAL
        and not node.expressions
        and "unit" not in node.args
    ):
        return exp.DataType.build("INTERVAL DAY TO SECOND", dialect="spark")
    return node


def unnest_without_cast(node: exp.Expr) -> exp.Expr:
    """``CAST(UNNEST(list) AS …)`` → ``UNNEST(list)``: a generator cannot be nested in an
    expression on Spark, and the list holds text already."""
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Unnest):
        return node.this
    return node


def sorted_set(node: exp.Expr) -> exp.Expr:
    """``list_sort(list_distinct(list(v)))`` → ``array_sort(collect_set(v))``."""
    if _is_call(node, "list_sort") and _is_call(node.expressions[0], "list_distinct"):
        inner = node.expressions[0].expressions[0]
        if _is_call(inner, "list"):
            return exp.func("array_sort", exp.func("collect_set", inner.expressions[0].copy()))
    return node


TRANSFORMS: tuple[Transform, ...] = (
    escape_character_for_empty_escape,
    day_time_interval,
    unnest_without_cast,
    sorted_set,
)
"""What the DuckDB-shaped trees of a run need on Spark, tried in this order."""


@contextlib.contextmanager
def _stderr_to(log: Path) -> Iterator[None]:
    """Point file descriptor 2 at ``log`` while the JVM starts (it inherits it)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with log.open("ab") as out:
        os.dup2(out.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()


def open_engine(settings: Settings, wh: Warehouse, root: Path) -> SparkEngine:
    """The engine of ``[engine] name = "spark"`` (see :meth:`SparkEngine.connect`)."""
    del wh
    return SparkEngine.connect(settings.engine, root)
