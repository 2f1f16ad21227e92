"""access.yaml: the model, loading with line numbers, naming rules and errors."""

from dbaccess.access.errors import InvalidInput, Problem
from dbaccess.access.loader import load_access_file, load_access_text, today_utc
from dbaccess.access.plan import AccessPlan, DatabaseSpec, ExpiredGrant, Grant, Person

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
