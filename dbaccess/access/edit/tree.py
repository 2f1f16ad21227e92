"""A YAML document as a light tree whose every node knows where its text starts and ends.

The editor deletes character spans of the original text, so it needs the span of each entry
and the place of each alias, which PyYAML's composed nodes do not keep (an alias becomes the
anchored node itself, with the anchor's position). libyaml's event stream has both, and
reading it is several times faster than composing nodes (no tag resolution per scalar).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml


@dataclass(eq=False, slots=True)
class Scalar:
    value: str
    plain: bool  # written without quotes: its meaning comes from YAML's implicit tags
    tag: str | None  # an explicit tag (`!!str 2026-01-01`), else None
    start: int
    end: int
    anchor: str | None = None

    @property
    def empty(self) -> bool:
        """Nothing written (`key:` alone), so its span is not on the key's line."""
        return self.plain and self.value == "" and self.tag is None


@dataclass(eq=False, slots=True)
class Seq:
    flow: bool
    start: int
    anchor: str | None = None
    items: list[Node] = field(default_factory=list)
    end: int = 0


@dataclass(eq=False, slots=True)
class Map:
    flow: bool
    start: int
    anchor: str | None = None
    items: list[Node] = field(default_factory=list)  # key, value, key, value... while read
    keys: list[Node] = field(default_factory=list)
    values: list[Node] = field(default_factory=list)
    end: int = 0

    def get(self, key: str) -> tuple[int, Node] | None:
        """(index, value) of a plain-text key, resolving an aliased value."""
        for i, k in enumerate(self.keys):
            if isinstance(k, Scalar) and k.value == key:
                return i, deref(self.values[i])
        return None


@dataclass(eq=False, slots=True)
class Alias:
    target: Node
    start: int
    end: int
    anchor: str


Node = Scalar | Seq | Map | Alias


def deref(node: Node) -> Node:
    return node.target if isinstance(node, Alias) else node


@dataclass(frozen=True)
class Document:
    root: Node | None
    shared: tuple[Node, ...]  # anchored nodes that some alias repeats, in text order


class TreeError(ValueError):
    """The text is not one YAML document (the access file was validated before, so rare)."""


def parse(text: str) -> Document:
    """The tree of `text` (without a BOM: libyaml's positions skip one)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    anchors: dict[str, Node] = {}
    shared: dict[int, Node] = {}
    stack: list[Seq | Map] = []
    root: Node | None = None
    documents = 0
    # Event types compared by identity: this loop runs once per scalar of a 5 MB file.
    scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
    starts = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
    ends = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    try:
        while (event := loader.get_event()) is not None:
            kind = type(event)
            node: Node
            if kind is scalar_event:
                node = Scalar(
                    event.value,
                    not event.style,  # libyaml says "" for plain, PyYAML None
                    event.tag if not event.implicit[0] else None,
                    event.start_mark.index,
                    event.end_mark.index,
                    event.anchor,
                )
                if event.anchor:
                    anchors[event.anchor] = node
            elif kind is alias_event:
                target = anchors[event.anchor]
                shared[id(target)] = target
                node = Alias(target, event.start_mark.index, event.end_mark.index, event.anchor)
            elif kind in starts:
                flow = bool(event.flow_style)
                start = event.start_mark.index
                collection = (
                    Seq(flow, start, event.anchor)
                    if kind is yaml.SequenceStartEvent
                    else Map(flow, start, event.anchor)
                )
                if event.anchor:
                    anchors[event.anchor] = collection
                stack.append(collection)
                continue
            elif kind in ends:
                node = stack.pop()
                node.end = event.end_mark.index
                if isinstance(node, Map):
                    node.keys, node.values, node.items = node.items[0::2], node.items[1::2], []
            else:
                documents += kind is yaml.DocumentStartEvent
                continue
            if stack:
                stack[-1].items.append(node)
            else:
                root = node
    except (yaml.YAMLError, KeyError) as exc:
        raise TreeError(f"the file is not valid YAML: {exc}") from None
    finally:
        loader.dispose()
    if documents > 1:
        raise TreeError("the file holds more than one YAML document")
    return Document(root, tuple(sorted(shared.values(), key=lambda n: n.start)))
