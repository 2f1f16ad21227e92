"""Reading YAML safely while remembering where every key and value came from.

Shared by access.yaml and Pulumi.<stack>.yaml. We build values from libyaml's event stream
ourselves instead of PyYAML's node tree, for four reasons:

- positions: a map from each value's path (("people", "ana@x.com", "grants", 0, "access"))
  to its line and column, so every problem points at its place;
- limits, checked while reading, before anything is built: size, nesting depth, aliases and
  the nodes aliases expand to (an alias bomb is a few lines that expand to billions of nodes;
  deep nesting overflows PyYAML's recursive composer and crashes the interpreter);
- exact scalars: YAML 1.1 reads `port: 1:30` as 90 and `yes` as true. We read plain scalars
  by the YAML 1.2 core schema plus dates, refuse merge keys (`<<`) and unknown tags, and
  report an impossible date (`2026-02-30`) at its line instead of raising;
- speed: PyYAML's Python resolver costs more than libyaml's parsing on large files.
"""

from __future__ import annotations

import re
import stat
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Any, Final

import yaml

from dbaccess.access.errors import InvalidInput, Problem, shown
from dbaccess.access.scalars import CONVERTERS, KIND_WORDS, NON_TEXT_STARTS, TAG, implicit_kind

Path = tuple[str | int, ...]

# Limits, enforced before a document is built. A real access file with 5,000 people and 20
# databases is about 5 MB, nests 7 levels and needs no alias at all.
MAX_BYTES: Final = 32 * 1024 * 1024
MAX_DEPTH: Final = 32
MAX_ALIASES: Final = 1_000
MAX_ALIAS_NODES: Final = 100_000  # nodes all aliases together may repeat

# What YAML allows in a stream (YAML 1.1 §5.1, as libyaml checks it), so the first other
# character is reported at its line instead of as libyaml's "position 12345".
_NOT_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
_SHOWN_CHARACTERS = 5


@dataclass(frozen=True)
class Position:
    line: int
    column: int


@dataclass
class SourceMap:
    """Positions (line, column) of values and of keys, by path."""

    file: str
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def value(self, path: Path) -> Position:
        """Where the value at path is, or its nearest existing ancestor."""
        for end in range(len(path), -1, -1):
            found = self.values.get(path[:end])
            if found:
                return Position(*found)
        return Position(1, 1)

    def key(self, path: Path) -> Position:
        """Where the key naming path is (falls back to the value)."""
        found = self.keys.get(path)
        return Position(*found) if found else self.value(path)

    def problem(self, path: Path, message: str, fix: str, *, at_key: bool = False) -> Problem:
        pos = self.key(path) if at_key else self.value(path)
        return Problem(self.file, pos.line, pos.column, message, fix)


class NotAFile(Exception):
    """A named pipe or a socket where a file was expected."""


def read_limited(path: FsPath, limit: int) -> bytes:
    """At most `limit` + 1 bytes of a file (more than `limit`: too large). Raises NotAFile for
    a named pipe or socket: opening one waits for a writer that may never come. OSError else."""
    mode = path.stat().st_mode
    if stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        raise NotAFile(f"{path} is a pipe or socket, not a file")
    with path.open("rb") as stream:
        return stream.read(limit + 1)


def read_text(path: FsPath, fix: str) -> str:
    """A file's text, or InvalidInput saying where it is not readable UTF-8 within limits."""
    file = str(path)
    try:
        data = read_limited(path, MAX_BYTES)
    except NotAFile as exc:
        raise InvalidInput([Problem(file, 1, 1, str(exc), "check the path")]) from None
    except FileNotFoundError:
        raise InvalidInput([Problem(file, 1, 1, f"{file} does not exist", fix)]) from None
    except OSError as exc:
        raise InvalidInput(
            [Problem(file, 1, 1, f"cannot read {file}: {exc.strerror}", "check the path")]
        ) from None
    if len(data) > MAX_BYTES:
        raise InvalidInput(
            [
                Problem(
                    file,
                    1,
                    1,
                    f"{file} is larger than {MAX_BYTES // 2**20} MB",
                    "pass the right file; an access file for thousands of people is a few MB",
                )
            ]
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InvalidInput(
            [
                Problem(
                    file,
                    line,
                    column,
                    f"byte 0x{data[exc.start]:02x} is not UTF-8 text",
                    "save the file as UTF-8",
                )
            ]
        ) from None


class _Stop(Exception):
    """A problem after which reading further is pointless or unsafe."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem


@dataclass(slots=True)
class _Frame:
    """A mapping or sequence being built."""

    value: dict[Any, Any] | list[Any]
    path: Path | None  # None: inside a key that is refused anyway, so nothing is recorded
    anchor: str | None
    mark: Any  # where it starts
    size: int = 1
    key: Any = None  # mappings: the key read, waiting for its value
    key_ok: bool = False
    key_mark: Any = None
    seen: dict[Any, int] = field(default_factory=dict)  # key identity -> line (duplicates)


_SCALAR = yaml.ScalarEvent
_ALIAS = yaml.AliasEvent
_MAPPING_START = yaml.MappingStartEvent
_SEQUENCE_START = yaml.SequenceStartEvent
_COLLECTION_END = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


class _Reader:
    def __init__(self, parser: Any, source: SourceMap) -> None:
        self.parser = parser
        self.source = source
        self.problems: list[Problem] = []
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.aliases = 0
        self.alias_nodes = 0

    def at(self, mark: Any, message: str, fix: str) -> Problem:
        return Problem(self.source.file, mark.line + 1, mark.column + 1, message, fix)

    def document(self) -> Any:
        """The single document of the stream, or None when there is none."""
        parser = self.parser
        parser.get_event()  # StreamStart
        if isinstance(parser.peek_event(), yaml.StreamEndEvent):
            return None
        parser.get_event()  # DocumentStart
        value = self._node()
        parser.get_event()  # DocumentEnd
        extra = parser.get_event()
        if not isinstance(extra, yaml.StreamEndEvent):
            raise _Stop(
                self.at(
                    extra.start_mark,
                    "a second YAML document starts here ('---')",
                    "keep one document per file: remove the '---' line and what follows, "
                    "or merge the two",
                )
            )
        return value

    def _node(self) -> Any:
        """Read one node, iteratively: nesting never touches Python's stack.

        This loop runs once per event (about 700,000 for 5,000 people), hence the local
        names, `is` tests and the inlined common cases; the rare ones are methods.
        """
        get_event = self.parser.get_event
        values, keys = self.source.values, self.source.keys
        stack: list[_Frame] = []
        path: Path | None = ()
        while True:
            event = get_event()
            kind = event.__class__
            mark = event.start_mark
            if kind is _SCALAR:
                value = event.value
                if event.tag is not None or event.style or not value or value[0] in NON_TEXT_STARTS:
                    value = self._scalar(event)
                size, anchor = 1, event.anchor
                if path is not None:
                    values[path] = (mark.line + 1, mark.column + 1)
            elif kind is _MAPPING_START or kind is _SEQUENCE_START:
                self._open(event, len(stack))
                if path is not None:
                    values[path] = (mark.line + 1, mark.column + 1)
                is_list = kind is _SEQUENCE_START
                stack.append(_Frame([] if is_list else {}, path, event.anchor, mark))
                path = (*path, 0) if is_list and path is not None else None
                continue
            elif kind in _COLLECTION_END:
                frame = stack.pop()
                value, size, anchor, mark = frame.value, frame.size, frame.anchor, frame.mark
            else:
                value, size = self._alias(event)
                anchor = None
                if path is not None:
                    values[path] = (mark.line + 1, mark.column + 1)
            if anchor is not None:
                self.anchors[anchor] = (value, size)
            if not stack:
                return value
            parent = stack[-1]
            parent.size += size
            container = parent.value
            if container.__class__ is list:
                container.append(value)
                path = None if parent.path is None else (*parent.path, len(container))
            elif parent.key_mark is None:
                parent.key, parent.key_mark = value, mark
                plain_merge = value == "<<" and not event.style  # '<<' quoted is text
                if kind is _SCALAR and value.__class__ in (str, int) and not plain_merge:
                    # Emails are case-insensitive: Ana@x.com and ana@x.com are one person.
                    identity = value.lower() if value.__class__ is str else value
                    first = parent.seen.get(identity)
                    parent.key_ok = first is None
                    if first is None:
                        parent.seen[identity] = mark.line + 1
                    else:
                        self._duplicate(value, mark, first)
                else:
                    parent.key_ok = False
                    self._odd_key(value, mark, event)
                if parent.key_ok and parent.path is not None:
                    path = (*parent.path, value)
                    keys[path] = (mark.line + 1, mark.column + 1)
                else:
                    path = None
            else:
                if parent.key_ok:
                    container[parent.key] = value
                parent.key_mark = None
                path = None

    def _open(self, event: Any, depth: int) -> None:
        if depth >= MAX_DEPTH:
            raise _Stop(
                self.at(
                    event.start_mark,
                    f"the YAML nests deeper than {MAX_DEPTH} levels",
                    "an access file nests at most 7 levels; check the indentation",
                )
            )
        kind = "map" if isinstance(event, _MAPPING_START) else "seq"
        if event.tag not in (None, "!", TAG + kind):
            self.problems.append(self._unsupported_tag(event))

    def _duplicate(self, key: Any, mark: Any, first: int) -> None:
        self.problems.append(
            self.at(
                mark,
                f"'{shown(key)}' appears twice in this mapping (first at line {first})",
                "keep one entry and merge the two; YAML would silently drop the first",
            )
        )

    def _odd_key(self, key: Any, mark: Any, event: Any) -> None:
        if isinstance(event, _SCALAR) and key == "<<":
            self.problems.append(
                self.at(
                    mark,
                    "merge keys ('<<') are not supported",
                    "write the keys out in full here; each entry is reviewed on its own",
                )
            )
            return
        self.problems.append(
            self.at(
                mark,
                f"a key must be a plain word, got {_kind(key)}",
                "write the key as text, for example `orders:`",
            )
        )

    def _alias(self, event: Any) -> tuple[Any, int]:
        found = self.anchors.get(event.anchor)
        if found is None:
            # Anchors are registered when their node ends, so this is also a recursive alias.
            raise _Stop(
                self.at(
                    event.start_mark,
                    f"alias *{shown(event.anchor)} refers to no anchor defined before it "
                    "(or to the node that contains it)",
                    "define `&name` before using `*name`, outside the node that uses it",
                )
            )
        value, size = found
        self.aliases += 1
        self.alias_nodes += size
        if self.aliases > MAX_ALIASES or self.alias_nodes > MAX_ALIAS_NODES:
            raise _Stop(
                self.at(
                    event.start_mark,
                    f"aliases repeat more than {MAX_ALIAS_NODES:,} nodes or are used more than "
                    f"{MAX_ALIASES:,} times",
                    "write the entries out instead of repeating them through aliases",
                )
            )
        return value, size

    def _unsupported_tag(self, event: Any) -> Problem:
        tag = event.tag.replace(TAG, "!!")
        return self.at(
            event.start_mark,
            f"the YAML tag {shown(tag)} is not supported",
            "remove the tag and write the value plainly (quote it to make it text)",
        )

    def _scalar(self, event: Any) -> Any:
        value: str = event.value
        tag = event.tag
        if tag is None and not event.style:  # plain (libyaml says "", PyYAML None)
            kind = implicit_kind(value)
        elif tag is None or tag == "!":
            # Quoted or block text. Escapes ("\x00") can write what the file may not hold.
            if event.style == '"' and (bad := _NOT_PRINTABLE.search(value)):
                self.problems.append(
                    self.at(
                        event.start_mark,
                        f"the text writes character U+{ord(bad.group()):04X} (a control "
                        "character) through an escape",
                        "remove the escape; control characters are not allowed in values",
                    )
                )
            return value
        elif tag.startswith(TAG) and tag[len(TAG) :] in CONVERTERS:
            kind = tag[len(TAG) :]
        else:
            self.problems.append(self._unsupported_tag(event))
            return value
        try:
            return CONVERTERS[kind](value)
        except ValueError as exc:
            self.problems.append(
                self.at(
                    event.start_mark,
                    f"'{shown(value)}' is not a valid {KIND_WORDS[kind]}: {exc}",
                    "write a real date as YYYY-MM-DD"
                    if kind == "timestamp"
                    else f"write a {KIND_WORDS[kind]}, or quote the value to make it text",
                )
            )
            return value


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {shown(value)}"


def _character_problems(text: str, file: str) -> list[Problem]:
    found = []
    for match in _NOT_PRINTABLE.finditer(text):
        start = match.start()
        line = text.count("\n", 0, start) + 1
        column = start - (text.rfind("\n", 0, start) + 1) + 1
        found.append(
            Problem(
                file,
                line,
                column,
                f"character U+{ord(match.group()):04X} (a control character) is not allowed "
                "in YAML",
                "delete it; if the file is binary or in another encoding, pass the right file",
            )
        )
        if len(found) == _SHOWN_CHARACTERS:
            break
    return found


def parse_yaml(text: str, file: str) -> tuple[Any, SourceMap, list[Problem]]:
    """Parse YAML text into plain values plus their positions; problems instead of raising."""
    source = SourceMap(file)
    if len(text) > MAX_BYTES:
        message = f"the text is larger than {MAX_BYTES // 2**20} MB"
        return None, source, [Problem(file, 1, 1, message, "pass the right file")]
    problems = _character_problems(text, file)
    if problems:
        return None, source, problems
    # libyaml's parser when PyYAML was built with it (ten times faster on large files).
    parser = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    reader = _Reader(parser, source)
    try:
        data = reader.document()
    except _Stop as stop:
        return None, source, [*reader.problems, stop.problem]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or exc.context or "invalid YAML"
        problem = Problem(
            file,
            line,
            column,
            f"YAML syntax error: {reason}",
            "check indentation and quoting near this line (values with ':' or '#' need quotes)",
        )
        return None, source, [*reader.problems, problem]
    except yaml.YAMLError:
        return None, source, [Problem(file, 1, 1, "the YAML cannot be read", "fix the YAML syntax")]
    finally:
        parser.dispose()
    return data, source, reader.problems
