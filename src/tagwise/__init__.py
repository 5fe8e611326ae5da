"""Tagwise: an open-source customer tag platform (客户标签管理系统).

Python API::

    import tagwise
    ws = tagwise.open("my-workspace")
    report = ws.ingest()
"""

from __future__ import annotations

__version__ = "0.1.0"

from tagwise.errors import (
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
from tagwise.workspace import Workspace, init
from tagwise.workspace import open_workspace as open

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
