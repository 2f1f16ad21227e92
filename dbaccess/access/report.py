"""Collecting problems at their place, and pydantic's errors turned into our messages.

Shared by access.yaml (rules.py) and the stack settings (dbaccess/stack/settings.py): both read
YAML through source.py, validate with pydantic models and report every problem in one run.
"""

from __future__ import annotations

import types
import typing
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from dbaccess.access.errors import MAX_PROBLEMS, Problem, did_you_mean, shown
from dbaccess.access.source import Path, SourceMap

M = TypeVar("M", bound=BaseModel)

_TYPE_WORDS = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping (key: value lines)",
    "model_type": "a mapping (key: value lines)",
    "model_attributes_type": "a mapping (key: value lines)",
    "tuple_type": "a list",
    "list_type": "a list",
    "date_type": "a date",
}


class Reporter:
    """Collects problems instead of stopping at the first (up to one more than InvalidInput
    lists, so it can say there were more)."""

    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.problems: list[Problem] = []

    @property
    def full(self) -> bool:
        return len(self.problems) > MAX_PROBLEMS

    def report(self, path: Path, message: str, fix: str, *, at_key: bool = False) -> None:
        if not self.full:
            self.problems.append(self.source.problem(path, message, fix, at_key=at_key))

    def model(self, cls: type[M], raw: Any, path: Path) -> M | None:
        """raw validated into cls, or None with every error reported under path."""
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                if self.full:
                    break
                self.translate(cls, path, error)
            return None

    def translate(self, cls: type[BaseModel], prefix: Path, error: Any) -> None:
        loc: Path = tuple(error["loc"])
        kind, value = error["type"], error.get("input")
        if loc and loc[-1] == "[key]":  # a mapping key of the wrong type
            loc, kind = loc[:-1], "key_type"
        path = (*prefix, *loc)
        name = shown(str(loc[-1]) if loc else (str(prefix[-1]) if prefix else "file"))
        info = _field_at(cls, loc)
        hint = info.description if info and info.description else ""
        if kind == "dbaccess":
            self.report(path, error["ctx"]["message"], error["ctx"]["fix"])
        elif kind == "key_type":
            self.report(
                path,
                f"key {_describe(value)} must be text",
                "write the key as text (quote it if it looks like a number)",
                at_key=True,
            )
        elif kind == "extra_forbidden":
            allowed = _allowed_keys(cls, loc[:-1])
            self.report(
                path,
                f"unknown key '{name}'{did_you_mean(name, allowed)}",
                f"remove it or use one of: {', '.join(allowed)}",
                at_key=True,
            )
        elif kind == "missing":
            if loc == ("version",):
                self.report(
                    path, "missing required field 'version'", "add `version: 1` as the first line"
                )
            else:
                parent = path[:-1]
                if not parent:
                    owner = "the file"
                elif isinstance(parent[-1], int):
                    owner = f"entry {parent[-1] + 1} of '{shown(parent[-2])}'"
                else:
                    owner = f"'{shown(parent[-1])}'"
                self.report(
                    parent,
                    f"{owner} is missing required field '{name}'",
                    f"add `{name}:` — {hint}",
                    at_key=True,
                )
        elif kind == "literal_error":
            choices = _choices(info.annotation) if info else []
            if loc == ("version",):
                self.report(
                    path, f"unsupported version {shown(value)}", "this db-access reads `version: 1`"
                )
            else:
                self.report(
                    path,
                    f"{name} '{shown(value)}' is not one of {', '.join(choices)}"
                    f"{did_you_mean(str(value), choices)}",
                    f"use one of: {', '.join(choices)}",
                )
        elif kind in _TYPE_WORDS:
            # Never echo the whole document: a file that is not an access file at all
            # (say /etc/passwd) is one long text.
            got = _describe(value) if path else _describe(value, reveal=False)
            self.report(
                path,
                f"'{name}' must be {_TYPE_WORDS[kind]}, got {got}",
                f"{name}: {hint}" if hint else f"write {_TYPE_WORDS[kind]}",
            )
        else:
            self.report(
                path, f"'{name}': {error['msg']} (got {_describe(value)})", hint or "fix the value"
            )


def _describe(value: Any, *, reveal: bool = True) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    kind = {bool: "true/false", int: "number", float: "number", str: "text"}.get(
        type(value), type(value).__name__
    )
    if not reveal:
        return kind
    return f"{kind} {shown(value)!r}" if isinstance(value, str) else f"{kind} {shown(value)}"


def _inner_model(annotation: Any) -> tuple[type[BaseModel] | None, int]:
    """The model inside an annotation and how many containers (list, dict) wrap it."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            model, depth = _inner_model(arg)
            if model is not None:
                return model, depth
        return None, 0
    if origin in (tuple, list, dict):
        model, depth = _inner_model(typing.get_args(annotation)[-1])
        return model, depth + 1
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, 0
    return None, 0


def _walk(cls: type[BaseModel], loc: Path) -> tuple[type[BaseModel] | None, FieldInfo | None]:
    current: type[BaseModel] | None = cls
    info: FieldInfo | None = None
    skip = 0
    for part in loc:
        if skip:
            skip -= 1
            continue
        if current is None:
            return None, None
        info = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
        if info is None:
            return None, None
        current, skip = _inner_model(info.annotation)
    return current, info


def _field_at(cls: type[BaseModel], loc: Path) -> FieldInfo | None:
    return _walk(cls, loc)[1]


def _allowed_keys(cls: type[BaseModel], loc: Path) -> list[str]:
    model = _walk(cls, loc)[0] if loc else cls
    return [f.alias or n for n, f in model.model_fields.items()] if model else []


def _choices(annotation: Any) -> list[str]:
    """The values of a Literal field, also when it is optional (`Literal[...] | None`)."""
    if typing.get_origin(annotation) is typing.Literal:
        return [str(c) for c in typing.get_args(annotation)]
    return [
        c for arg in typing.get_args(annotation) if arg is not type(None) for c in _choices(arg)
    ]
