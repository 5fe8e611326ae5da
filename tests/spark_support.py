"""Whether this machine can run the Spark tests (Java 17 and pyspark), for their fixtures."""

from __future__ import annotations

import os
import shutil

import pytest


def spark_problem() -> str | None:
    """What is missing to start Spark here, or None."""
    if shutil.which("java") is None:
        return "Java is not installed (apt-get install openjdk-17-jre-headless)"
    try:
        import pyspark  # noqa: F401, PLC0415
    except ImportError:
        return "pyspark is not installed (pip install 'tagwise[spark]')"
    return None


def require_spark() -> None:
    """Skip (on a laptop) or fail (under ``CI=true``) when Spark cannot start."""
    problem = spark_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
