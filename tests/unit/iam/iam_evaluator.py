"""The small part of IAM's policy logic our documents use, to evaluate them as IAM would.

Allow and Deny statements (an explicit Deny wins); Action and Resource with IAM's wildcards
(`*` and `?`, `*` matching `/` too; actions case-insensitive); the condition operators
StringEquals, StringLike, ArnEquals, ArnLike, their negations and DateLessThan, with the
`ForAllValues:` / `ForAnyValue:` set prefixes and the `IfExists` suffix. A key missing from the
request makes a positive operator false and a negated one true, as in IAM. A request with several resources
(GetClusterCredentials names a user, a database and groups) is allowed only when each resource
is allowed and none is denied. Anything else in a document is refused, not guessed at.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any

Context = Mapping[str, Any]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _date(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def _matches(operator: str, wanted: Any, given: Any) -> bool:
    """One request value against one policy value."""
    match operator:
        case "StringEquals":
            return bool(given == wanted)
        case "StringLike" | "ArnLike" | "ArnEquals":  # IAM's ArnEquals takes wildcards too
            return _glob(wanted, given)
        case "DateLessThan":
            return bool(given < _date(wanted))
    raise AssertionError(f"the evaluator does not know {operator}")


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}


def _holds_one(operator: str, key: str, wanted: Any, context: Context) -> bool:
    prefix, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    base = base.removesuffix("IfExists")
    negated = base in _NEGATED
    base = _NEGATED.get(base, base)
    values = as_list(wanted)
    if key not in context:
        if prefix == "ForAllValues":
            return True  # IAM: true for an empty (or absent) set
        return if_exists or (negated and prefix == "")
    given = as_list(context[key])
    if prefix == "":
        (single,) = given
        found = any(_matches(base, v, single) for v in values)
    elif prefix == "ForAllValues":
        found = all(any(_matches(base, v, g) for v in values) for g in given)
    elif prefix == "ForAnyValue":
        found = any(_matches(base, v, g) for v in values for g in given)
    else:
        raise AssertionError(f"the evaluator does not know {operator}")
    return not found if negated else found


def holds(condition: Mapping[str, Mapping[str, Any]], context: Context) -> bool:
    return all(
        _holds_one(operator, key, wanted, context)
        for operator, tests in condition.items()
        for key, wanted in tests.items()
    )


def _applies(statement: Mapping[str, Any], action: str, resource: str, context: Context) -> bool:
    unknown = set(statement) - {"Sid", "Effect", "Action", "Resource", "Condition"}
    assert not unknown, f"the evaluator does not know {unknown}"
    return (
        any(_glob(a, action, ignore_case=True) for a in as_list(statement["Action"]))
        and any(_glob(r, resource) for r in as_list(statement["Resource"]))
        and holds(statement.get("Condition", {}), context)
    )


def allowed(
    policy: Mapping[str, Any],
    action: str,
    resources: Sequence[str],
    context: Context | None = None,
) -> bool:
    """Would this identity policy let a principal make the call (no other policy involved)?"""
    context = context or {}

    def one(resource: str) -> bool:
        applying = [s for s in policy["Statement"] if _applies(s, action, resource, context)]
        return any(s["Effect"] == "Allow" for s in applying) and not any(
            s["Effect"] == "Deny" for s in applying
        )

    return all(one(r) for r in resources)
