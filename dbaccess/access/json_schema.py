"""access.yaml as a JSON Schema, for editors (yaml-language-server), generated from the models.

The pydantic models of schema.py give the shape (keys, types, required fields, enums, limits);
the patterns their validators check are added from the same constants. Rules across fields or
entries (rules.py) are beyond a JSON Schema: `dbaccess validate` checks them. The shipped copy
is schema/access.schema.json (scripts/gen_access_schema.py writes it; a test compares).
"""

from __future__ import annotations

import re
from typing import Any, Final

from pydantic import BaseModel

from dbaccess.access import naming, schema
from dbaccess.access.until import PLAIN_DATE

# Person keys and members are checked before lower-casing, so upper case is allowed here.
_EMAIL_ANY_CASE: Final = (
    schema.EMAIL.pattern.replace("[a-z0-9_+=,.-]", "[A-Za-z0-9_+=,.-]")
    .replace("[a-z0-9-]", "[A-Za-z0-9-]")
    .replace("[a-z]", "[A-Za-z]")
)


def _whole(pattern: str | re.Pattern[str]) -> str:
    """Python's fullmatch, as a JSON Schema pattern (which matches anywhere unless anchored)."""
    text = pattern.pattern if isinstance(pattern, re.Pattern) else pattern
    return f"^(?:{text})$"


def _string(pattern: str | re.Pattern[str], **extra: Any) -> dict[str, Any]:
    return {"type": "string", "pattern": _whole(pattern), **extra}


# Field -> what its validator checks, per model (the model's own JSON Schema has the rest).
_FIELD_PATTERNS: Final[dict[str, dict[str, dict[str, Any]]]] = {
    "Database": {
        "account": _string(schema.ACCOUNT),
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "host": _string(schema.HOSTNAME, maxLength=schema.HOSTNAME_MAX),
        "instance": _string(schema.AWS_ID),
        "cluster": _string(schema.AWS_ID),
        "database": _string(schema.SQL_NAME),
        "admin_login": _string(schema.SQL_NAME),
        "schemas": {"type": "array", "items": _string(schema.SQL_NAME)},
        "table_owners": {"type": "array", "items": _string(schema.SQL_NAME)},
        "owners": {"type": "array", "items": _string(schema.GITHUB_OWNER), "uniqueItems": True},
    },
    "RedshiftGroups": {
        "read-only": _string(schema.REDSHIFT_GROUP),
        "read-write": _string(schema.REDSHIFT_GROUP),
    },
    "Grant": {"until": _string(PLAIN_DATE, format="date")},
    "Group": {"members": {"type": "array", "items": _string(_EMAIL_ANY_CASE, maxLength=64)}},
    "Person": {
        "username": _string(naming.BASE_PATTERN),
        "github": _string(naming.GITHUB_LOGIN),
    },
}
# Lists that may be written empty (`grants:` with every line removed reads as null).
_NULL_IS_EMPTY: Final = {"Group": ("grants",), "Person": ("grants",)}


def _model(model: type[BaseModel]) -> dict[str, Any]:
    """The model's schema (its nested models under $defs), with the validators' patterns."""
    result = model.model_json_schema(ref_template="#/$defs/{model}")
    result.pop("$defs", None)
    result.pop("title", None)
    properties = result["properties"]
    for name, prop in properties.items():
        prop.pop("title", None)
        patched = _FIELD_PATTERNS.get(model.__name__, {}).get(name)
        if patched is None:
            continue
        optional = name not in result.get("required", ())
        described = {k: prop[k] for k in ("description", "default") if k in prop}
        kind = {"anyOf": [patched, {"type": "null"}]} if optional else patched
        properties[name] = {**kind, **described}
    for name in _NULL_IS_EMPTY.get(model.__name__, ()):
        prop = properties[name]
        prop["anyOf"] = [{"type": "array", "items": prop.pop("items")}, {"type": "null"}]
        prop.pop("type")
    return result


def access_json_schema() -> dict[str, Any]:
    """The whole file's JSON Schema (draft 2020-12)."""
    top = _model(schema.TopLevel)
    defs = {
        m.__name__: _model(m)
        for m in (
            schema.Settings,
            schema.Database,
            schema.RedshiftGroups,
            schema.Grant,
            schema.Group,
            schema.Person,
        )
    }
    props = top["properties"]
    props["databases"] = {
        **_described(props["databases"]),
        "type": "object",
        "propertyNames": {"pattern": _whole(schema.DATABASE_KEY)},
        "additionalProperties": {"$ref": "#/$defs/Database"},
    }
    props["groups"] = {
        **_described(props["groups"]),
        "type": "object",
        "additionalProperties": {"$ref": "#/$defs/Group"},
    }
    props["people"] = {
        **_described(props["people"]),
        "type": "object",
        "propertyNames": {"pattern": _whole(_EMAIL_ANY_CASE), "maxLength": schema.EMAIL_MAX},
        # A person written with nothing under them reads as null: no grants.
        "additionalProperties": {"anyOf": [{"$ref": "#/$defs/Person"}, {"type": "null"}]},
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "db-access access.yaml (version 1)",
        "description": "Who may connect to which database, and how. `dbaccess validate` "
        "checks the rules across fields and entries that a JSON Schema cannot express.",
        **top,
        "$defs": defs,
    }


def _described(prop: dict[str, Any]) -> dict[str, Any]:
    return {k: prop[k] for k in ("description",) if k in prop}
