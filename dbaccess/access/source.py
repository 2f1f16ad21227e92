"""Reading YAML while remembering where every key and value came from.

PyYAML builds plain dicts and forgets positions, and silently keeps the last of two equal
keys. We compose the node tree instead, build the values ourselves and keep a map from each
value's path (("people", "ana@x.com", "grants", 0, "access")) to its line and column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from dbaccess.access.errors import Problem

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Position:
    line: int
    column: int


@dataclass
class SourceMap:
    """Positions of values and of keys, by path."""

    file: str
    values: dict[Path, Position] = field(default_factory=dict)
    keys: dict[Path, Position] = field(default_factory=dict)

    def value(self, path: Path) -> Position:
        """Where the value at path is, or its nearest existing ancestor."""
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found:
                return found
        return Position(1, 1)

    def key(self, path: Path) -> Position:
        """Where the key naming path is (falls back to the value)."""
        return self.keys.get(path) or self.value(path)

    def problem(self, path: Path, message: str, fix: str, *, at_key: bool = False) -> Problem:
        pos = self.key(path) if at_key else self.value(path)
        return Problem(self.file, pos.line, pos.column, message, fix)


def _position(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


class _Builder:
    def __init__(self, loader: Any, source: SourceMap) -> None:
        self.loader = loader
        self.source = source
        self.problems: list[Problem] = []

    def build(self, node: yaml.Node, path: Path) -> Any:
        self.source.values[path] = _position(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_seen: dict[Any, Position] = {}
        for key_node, value_node in node.value:
            key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int):
                pos = _position(key_node)
                self.problems.append(
                    Problem(
                        self.source.file,
                        pos.line,
                        pos.column,
                        f"a key must be a plain word, got {type(key).__name__} {key!r}",
                        "write the key as text, for example `orders:`",
                    )
                )
                continue
            # Emails are case-insensitive: Ana@x.com and ana@x.com are the same person.
            identity = key.lower() if isinstance(key, str) else key
            key_pos = _position(key_node)
            if identity in first_seen:
                earlier = first_seen[identity]
                self.problems.append(
                    Problem(
                        self.source.file,
                        key_pos.line,
                        key_pos.column,
                        f"'{key}' appears twice in this mapping (first at line {earlier.line})",
                        "keep one entry and merge the two; YAML would silently drop the first",
                    )
                )
                continue
            first_seen[identity] = key_pos
            self.source.keys[(*path, key)] = key_pos
            result[key] = self.build(value_node, (*path, key))
        return result


def parse_yaml(text: str, file: str) -> tuple[Any, SourceMap, list[Problem]]:
    """Parse YAML text into plain values plus their positions; problems instead of raising."""
    source = SourceMap(file)
    # libyaml's parser when PyYAML was built with it (ten times faster on large files).
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, source, []
        builder = _Builder(loader, source)
        data = builder.build(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or exc.context or "invalid YAML"
        return (
            None,
            source,
            [
                Problem(
                    file,
                    line,
                    column,
                    f"YAML syntax error: {reason}",
                    "check indentation and quoting near this line (values with ':' or '#' "
                    "need quotes)",
                )
            ],
        )
    except yaml.YAMLError as exc:
        return None, source, [Problem(file, 1, 1, f"YAML error: {exc}", "fix the YAML syntax")]
    finally:
        loader.dispose()
    return data, source, builder.problems
