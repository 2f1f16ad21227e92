"""access.yaml: the model, loading with line numbers, naming rules and errors.

The loader (pydantic, PyYAML) is imported on first use, so the runtime services, which only
need `naming` and `plan`, do not pay for it (the issuer Lambda's cold start and layer size).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbaccess.access.errors import InvalidInput, Problem
    from dbaccess.access.loader import load_access_file, load_access_text, today_utc
    from dbaccess.access.plan import AccessPlan, DatabaseSpec, ExpiredGrant, Grant, Person

_EXPORTS = {
    "InvalidInput": "errors",
    "Problem": "errors",
    "load_access_file": "loader",
    "load_access_text": "loader",
    "today_utc": "loader",
    "AccessPlan": "plan",
    "DatabaseSpec": "plan",
    "ExpiredGrant": "plan",
    "Grant": "plan",
    "Person": "plan",
}
__all__ = [
    "AccessPlan",
    "DatabaseSpec",
    "ExpiredGrant",
    "Grant",
    "InvalidInput",
    "Person",
    "Problem",
    "load_access_file",
    "load_access_text",
    "today_utc",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
