"""Tagwise: an open-source customer tag platform (客户标签管理系统).

Python API::

    import tagwise
    ws = tagwise.open("my-workspace")
    report = ws.ingest()
"""

from __future__ import annotations

import gc as _gc

from tagwise._version import __version__

# Importing the workspace loads ~600 modules (DuckDB, SQLAlchemy, sqlglot, pydantic) whose
# objects all live until the process ends; the collector would traverse them again at each
# of the collections the allocations trigger (0.1 s of every command), so it waits.
_collecting = _gc.isenabled()
_gc.disable()
try:
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
    from tagwise.model.actor import Actor
    from tagwise.workspace import Workspace, init
    from tagwise.workspace import open_workspace as open
finally:
    if _collecting:
        _gc.enable()

__all__ = [
    "Actor",
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
