"""Spark failures become one line with the cause (no JVM needed: the texts are Py4J's)."""

from __future__ import annotations

from tagwise.engine.spark import spark_error
from tagwise.identity.backends import SparkBackend

PY4J_OOM = (
    "An error occurred while calling o277.parquet.\n"
    ": org.apache.spark.SparkException: Job aborted due to stage failure: Task 1 in stage"
    " 125.0 failed 1 times, most recent failure: Lost task 1.0 in stage 125.0 (TID 311)"
    " (192.0.2.2 executor driver): java.lang.OutOfMemoryError: Java heap space\n"
    "\tat org.apache.spark.unsafe.memory.HeapMemoryAllocator.allocate(HeapMemoryAllocator.java:72)\n"
)
PY4J_SQL = (
    "An error occurred while calling o12.sql.\n"
    ": org.apache.spark.sql.AnalysisException: [UNRESOLVED_COLUMN.WITH_SUGGESTION] A column"
    " `nme` cannot be resolved. SQLSTATE: 42703\n"
    "\tat org.apache.spark.sql.errors.QueryCompilationErrors$.unresolvedAttributeError\n"
)


def test_the_cause_of_a_py4j_error_is_the_line_after_the_call() -> None:
    error = spark_error("spark engine query failed", RuntimeError(PY4J_SQL))
    assert error.message.startswith(
        "spark engine query failed: org.apache.spark.sql.AnalysisException:"
    )
    assert "`nme` cannot be resolved" in error.message
    assert "\n" not in error.message and "o12.sql" not in error.message
    assert error.hint is None


def test_out_of_memory_says_where_to_give_spark_memory() -> None:
    error = spark_error("spark engine query failed", RuntimeError(PY4J_OOM))
    assert "Spark ran out of memory" in error.message
    assert error.hint is not None and "spark.driver.memory" in error.hint
    assert "spark.executor.memory" in error.hint


def test_a_broadcast_without_memory_gets_the_same_hint() -> None:
    text = (
        "An error occurred while calling o301.parquet.\n: org.apache.spark.SparkException: Not"
        " enough memory to build and broadcast the table to all worker nodes.\n"
    )
    error = spark_error("record matching failed on Spark", RuntimeError(text))
    assert "Not enough memory to build and broadcast" in error.message
    assert error.hint is not None and "spark.driver.memory" in error.hint


def test_splink_wrapped_spark_errors_keep_the_cause() -> None:
    wrapped = RuntimeError(f"Error executing the following sql:\nSELECT 1\nError was: {PY4J_SQL}")
    error = SparkBackend.error(None, wrapped)  # type: ignore[arg-type]
    assert error.message.startswith("record matching failed on Spark: org.apache.spark")
    assert error.hint is not None and "spark_work" in error.hint
    short = spark_error("", RuntimeError("boom"))
    assert short.message == "boom"
