"""What a YAML scalar means: the YAML 1.2 core schema plus dates, checked, for source.py.

PyYAML resolves by YAML 1.1, where `port: 1:30` is 90 and `yes` is true. Here plain text
is a null, a boolean, a decimal number or a date only when written exactly so; anything else is
text. Converters raise ValueError for a value their tag cannot hold (`!!int abc`,
`2026-02-30`), which the reader reports at its line.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any, Final

import yaml

TAG = "tag:yaml.org,2002:"
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+")
_FLOAT = re.compile(
    r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN)"
)
# YAML's timestamp (date, or date and time), as PyYAML's resolver defines it.
_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?"
    r"(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?"
)
# A plain scalar starting with none of these is text (the fast path for most values).
NON_TEXT_STARTS = frozenset("0123456789+-.~nNtTfF")


def implicit_kind(value: str) -> str:
    """The kind of an untagged plain scalar: a key of CONVERTERS."""
    if value in _NULLS:
        return "null"
    if value in _BOOLS:
        return "bool"
    if _INT.fullmatch(value):
        return "int"
    if _FLOAT.fullmatch(value):
        return "float"
    if _TIMESTAMP.fullmatch(value):
        return "timestamp"
    return "str"


def _null(value: str) -> None:
    if value not in _NULLS:
        raise ValueError("only ~, null or nothing is null")


def _bool(value: str) -> bool:
    if value not in _BOOLS:
        raise ValueError("only true or false")
    return _BOOLS[value]


# No setting or field needs more; and Python refuses to convert over 4,300 digits.
_INT_DIGITS_MAX = 30


def _int(value: str) -> int:
    if not _INT.fullmatch(value):
        raise ValueError("only digits, optionally signed")
    if len(value.lstrip("+-")) > _INT_DIGITS_MAX:
        raise ValueError(f"more than {_INT_DIGITS_MAX} digits")
    return int(value)


def _float(value: str) -> float:
    if not (_FLOAT.fullmatch(value) or _INT.fullmatch(value)):
        raise ValueError("only digits with an optional point and exponent")
    # YAML writes infinity and not-a-number .inf and .nan; Python reads inf and nan.
    return float(value.lower().replace(".inf", "inf").replace(".nan", "nan"))


def _timestamp(value: str) -> dt.date | dt.datetime:
    if not _TIMESTAMP.fullmatch(value):
        raise ValueError("it is not written YYYY-MM-DD (or YYYY-MM-DD HH:MM:SS)")
    node = yaml.ScalarNode(TAG + "timestamp", value)
    result: dt.date | dt.datetime = _CONSTRUCTOR.construct_yaml_timestamp(node)
    return result


# PyYAML's own timestamp constructor (time zones, fractions), fed only what _TIMESTAMP accepts.
_CONSTRUCTOR = yaml.SafeLoader("")
CONVERTERS: Final[dict[str, Callable[[str], Any]]] = {
    "null": _null,
    "bool": _bool,
    "int": _int,
    "float": _float,
    "timestamp": _timestamp,
    "str": str,
}
KIND_WORDS: Final = {
    "null": "null",
    "bool": "true/false",
    "int": "whole number",
    "float": "number",
    "timestamp": "date",
    "str": "text",
}
