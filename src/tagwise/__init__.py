"""Tagwise: an open-source customer tag platform (客户标签管理系统).

Python API::

    import tagwise
    ws = tagwise.open("my-workspace")
    report = ws.ingest()
"""

from __future__ import annotations

__version__ = "0.1.0"

from tagwise.errors import (  # noqa: E402 (the version must exist before submodules import it)
    CatalogError,
    ConfigError,
    Conflict,
    EngineError,
    ExpressionError,
    NotFound,
    SourceError,
    SpecError,
    TagwiseError,
)
from tagwise.workspace import Workspace, init  # noqa: E402
from tagwise.workspace import open_workspace as open  # noqa: E402, A001

__all__ = [
    "CatalogError",
    "ConfigError",
    "Conflict",
    "EngineError",
    "ExpressionError",
    "NotFound",
    "SourceError",
    "SpecError",
    "TagwiseError",
    "Workspace",
    "__version__",
    "init",
    "open",
]
