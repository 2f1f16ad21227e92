"""Deleting entries from YAML text by their spans, leaving every other byte where it was.

Block entries go as whole lines, with the comment lines right above them (at the same
indent: a person writes a comment for the entry below it) and their own end-of-line comment.
Flow entries go with the comma that separates them from a neighbour. Line endings (CRLF or
LF) are never rewritten because nothing outside a removed span is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dbaccess.access.edit.tree import Alias, Map, Node, Scalar, Seq


class EditError(ValueError):
    """The file cannot be edited without changing more than the removed entries."""


def last_end(node: Node, key: Node | None = None) -> int:
    """Where the text of `node` (the value of `key`, if it is one) really ends.

    A block collection's own end mark sits at the next token, possibly lines further down
    past comments that belong to what follows; its last leaf's end is exact.
    """
    if isinstance(node, Scalar) and node.empty:
        return key.end if key is not None else node.start
    if isinstance(node, Seq) and not node.flow and node.items:
        return last_end(node.items[-1])
    if isinstance(node, Map) and not node.flow and node.keys:
        return last_end(node.values[-1], node.keys[-1])
    return node.end


@dataclass
class TextEdit:
    """Spans to delete (and small insertions), applied in one pass by `result`."""

    text: str
    _spans: list[tuple[int, int, str]] = field(default_factory=list)
    _line_spans: list[tuple[int, int]] = field(default_factory=list)

    def remove(self, parent: Seq | Map, indices: list[int]) -> None:
        """Remove items (of a sequence) or pairs (of a mapping) at `indices`."""
        if not indices:
            return
        if parent.flow:
            self._remove_flow(parent, sorted(indices))
        else:
            for i in indices:
                self._line_spans.append(self._block_span(parent, i))

    def insert(self, at: int, text: str) -> None:
        self._spans.append((at, at, text))

    def replace(self, start: int, end: int, text: str) -> None:
        self._spans.append((start, end, text))

    @property
    def newline(self) -> str:
        """The file's own line end, for lines written into it."""
        return "\r\n" if "\r\n" in self.text else "\n"

    def overlaps(self, node: Node, start: int, end: int) -> bool:
        return node.start < end and start < last_end(node)

    def span(self, parent: Seq | Map, index: int) -> tuple[int, int]:
        """The text an item or pair occupies, from its first character to its last."""
        first = parent.items[index] if isinstance(parent, Seq) else parent.keys[index]
        if isinstance(parent, Seq):
            return first.start, last_end(first)
        return first.start, last_end(parent.values[index], first)

    # --- lines -----------------------------------------------------------------------------

    def line_start(self, at: int) -> int:
        return self.text.rfind("\n", 0, at) + 1

    def line_end(self, at: int) -> int:
        """The index after the newline of the line holding `at` (or the text's end)."""
        newline = self.text.find("\n", at)
        return len(self.text) if newline < 0 else newline + 1

    def column(self, at: int) -> int:
        return at - self.line_start(at)

    # --- block ---------------------------------------------------------------------------

    def _block_span(self, parent: Seq | Map, index: int) -> tuple[int, int]:
        start, end = self.span(parent, index)
        line = self.line_start(start)
        prefix = self.text[line:start]
        if prefix.strip(" -") if isinstance(parent, Seq) else prefix.strip(" "):
            raise EditError(
                f"the entry at line {self.text.count(chr(10), 0, start) + 1} shares its line "
                "with other YAML; remove it by hand"
            )
        indent = len(prefix) - len(prefix.lstrip(" "))
        # The comment lines right above, written at the entry's own indent.
        while line > 0:
            above = self.line_start(line - 1)
            content = self.text[above : line - 1].rstrip("\r")
            stripped = content.lstrip(" ")
            if not stripped.startswith("#") or len(content) - len(stripped) != indent:
                break
            line = above
        return line, self.line_end(max(end - 1, start))

    # --- flow ----------------------------------------------------------------------------

    def _remove_flow(self, parent: Seq | Map, indices: list[int]) -> None:
        count = len(parent.items) if isinstance(parent, Seq) else len(parent.keys)
        runs: list[list[int]] = []
        for i in indices:
            if runs and runs[-1][-1] == i - 1:
                runs[-1].append(i)
            else:
                runs.append([i])
        for run in runs:
            first, last = run[0], run[-1]
            start, end = self.span(parent, first)[0], self.span(parent, last)[1]
            if last + 1 < count:
                # Up to the next entry: the comma and the space or line break after it.
                following = self.span(parent, last + 1)[0]
                line, rest = self.line_start(start), self.text[end : self.line_end(end)].strip()
                after_comma = rest[1:].strip()
                alone = rest.startswith(",") and (not after_comma or after_comma[0] == "#")
                if alone and not self.text[line:start].strip():
                    # Alone on its lines: those lines go, comment lines above the next stay.
                    start, end = line, self.line_end(end)
                else:
                    end = following
            elif first > 0:
                # The last entries: from the comma after the entry before them.
                comma = len(self.text[:start].rstrip())
                if self.text[comma - 1 : comma] == ",":
                    start = comma - 1
            self._spans.append((start, end, ""))

    # --- applying ------------------------------------------------------------------------

    def _blank(self, start: int, end: int) -> bool:
        return not self.text[start:end].strip()

    def _tidy(self, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """Merge touching line spans; where a removed block was set off by blank lines on
        both sides, one set of them goes too, so two entries stay one blank line apart."""
        merged: list[tuple[int, int]] = []
        for start, end in sorted(spans):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
            else:
                merged.append((start, end))
        tidied = []
        for start, end in merged:
            blank_before = start > 0 and self._blank(self.line_start(start - 1), start)
            if blank_before or start == 0:
                after = end
                while after < len(self.text) and self._blank(after, self.line_end(after)):
                    after = self.line_end(after)
                if after < len(self.text):
                    end = after
                elif blank_before:  # the file's last entry: drop the blank lines before it
                    while start > 0 and self._blank(self.line_start(start - 1), start):
                        start = self.line_start(start - 1)
            tidied.append((start, end))
        return tidied

    def result(self) -> str:
        edits = [(s, e, "") for s, e in self._tidy(self._line_spans)] + self._spans
        edits.sort(key=lambda x: (x[0], -x[1]))
        out: list[str] = []
        at = 0
        for start, end, insert in edits:
            if end <= at and start < at:
                continue  # inside a span already removed (an entry of a removed owner)
            start = max(start, at)
            out += [self.text[at:start], insert]
            at = max(at, end)
        out.append(self.text[at:])
        return "".join(out)


__all__ = ["Alias", "EditError", "TextEdit", "last_end"]
