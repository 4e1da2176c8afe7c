"""Where a key path sits in TOML source text: line numbers for semantic errors.

``tomllib`` reports positions only for syntax errors; once a document parses, a value no
longer knows where it came from. `TomlLocator` recovers that by reading the text once,
tracking ``[table]`` and ``[[array-of-tables]]`` headers (with the index of each array
element), ``key = value`` lines (dotted keys too), inline tables and arrays (one position
per element, multi-line arrays included), so that a validation error's location, e.g.
``("pairings", 1, "price_feed", "price")``, maps back to the line that wrote it.

It is a locator, not a parser: it assumes the text already parsed with ``tomllib`` and only
needs to be right about where things are. When a path is not written anywhere (a missing
key), the nearest written ancestor answers (the table header that should have held it).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence

# `format_key_path`, `syntax_error_line` and `TomlKeyPath` serve the config loaders only
__all__ = ["TomlLocator"]

TomlKeyPath = tuple[str | int, ...]

_BARE_KEY = re.compile(r"[A-Za-z0-9_\-]+")
_SYNTAX_LINE = re.compile(r"at line (\d+)")


def format_key_path(path: Sequence[str | int]) -> str:
    """``("pairings", 1, "discount")`` → ``"pairings[1].discount"``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


def syntax_error_line(error: tomllib.TOMLDecodeError) -> int | None:
    """The line number a ``tomllib`` syntax error names, if any."""
    match = _SYNTAX_LINE.search(str(error))
    return int(match.group(1)) if match else None


class _Scanner:
    """A cursor over the whole text that knows line numbers and skips strings/comments."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def advance(self, count: int = 1) -> None:
        for _ in range(count):
            if self.pos < len(self.text):
                if self.text[self.pos] == "\n":
                    self.line += 1
                self.pos += 1

    def skip_blank(self, newlines: bool) -> None:
        """Skip spaces (and newlines and comments when ``newlines``)."""
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch in " \t\r" or (newlines and ch == "\n"):
                self.advance()
            elif newlines and ch == "#":
                self.skip_comment()
            else:
                return

    def skip_comment(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] != "\n":
            self.pos += 1

    def skip_line(self) -> None:
        self.skip_comment()
        self.advance()

    def read_string(self) -> str:
        """Read a basic or literal string (multi-line too) starting at the cursor."""
        text = self.text
        quote = text[self.pos]
        triple = text.startswith(quote * 3, self.pos)
        delim = quote * 3 if triple else quote
        self.advance(len(delim))
        start = self.pos
        while self.pos < len(text):
            if quote == '"' and text[self.pos] == "\\":
                self.advance(2)
                continue
            if text.startswith(delim, self.pos):
                value = text[start : self.pos]
                self.advance(len(delim))
                # a multi-line string may end with up to two extra quotes
                while triple and self.peek() == quote:
                    self.advance()
                return value
            self.advance()
        return text[start:]

    def read_key(self) -> list[str]:
        """A (possibly dotted, possibly quoted) key; stops before ``=`` or ``]``."""
        parts: list[str] = []
        while True:
            self.skip_blank(newlines=False)
            ch = self.peek()
            if ch in "\"'":
                parts.append(self.read_string())
            else:
                match = _BARE_KEY.match(self.text, self.pos)
                if match is None:
                    return parts
                parts.append(match.group(0))
                self.advance(match.end() - match.start())
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return parts
            self.advance()


class TomlLocator:
    """The line of every key path written in a TOML text (see the module docstring)."""

    def __init__(self, text: str) -> None:
        self._lines: dict[TomlKeyPath, int] = {}
        self._arrays: dict[TomlKeyPath, int] = {}
        self._scan(text)

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line where ``path`` (or its nearest written ancestor) is written.

        Elements of ``path`` that name nothing in the text (e.g. the tag pydantic inserts
        for a member of a discriminated union) are skipped. ``None`` if nothing matched.
        """
        lines = self._lines
        known: TomlKeyPath = ()
        best: int | None = lines.get(())
        for part in path:
            candidate = (*known, part)
            if candidate in lines:
                known = candidate
                best = lines[candidate]
        return best

    def resolve(self, path: Sequence[str | int]) -> TomlKeyPath:
        """``path`` as written: elements that name nothing in the text are dropped when a
        later element continues the written path (a union tag pydantic inserts), kept when
        they only extend it (a key that is missing from the text)."""
        lines = self._lines
        known: TomlKeyPath = ()
        out: list[str | int] = []
        parts = list(path)
        for i, part in enumerate(parts):
            candidate = (*known, part)
            if candidate in lines:
                known = candidate
                out.append(part)
            elif not any((*known, later) in lines for later in parts[i + 1 :]):
                out.append(part)
        return tuple(out)

    # -- scanning ---------------------------------------------------------------------------

    def _note(self, path: TomlKeyPath, line: int) -> None:
        self._lines.setdefault(path, line)

    def _resolve_table(self, parts: list[str]) -> TomlKeyPath:
        # intermediate segments that are arrays of tables refer to their latest element
        path: TomlKeyPath = ()
        for part in parts:
            path = (*path, part)
            if path in self._arrays:
                path = (*path, self._arrays[path])
        return path

    def _scan(self, text: str) -> None:
        s = _Scanner(text)
        table: TomlKeyPath = ()
        while True:
            s.skip_blank(newlines=True)
            ch = s.peek()
            if not ch:
                return
            line = s.line
            if ch == "[":
                array = text.startswith("[[", s.pos)
                s.advance(2 if array else 1)
                parts = s.read_key()
                s.skip_line()
                if array:
                    parent = self._resolve_table(parts[:-1])
                    key = (*parent, parts[-1])
                    index = self._arrays.get(key, -1) + 1
                    self._arrays[key] = index
                    self._note(key, line)
                    table = (*key, index)
                else:
                    table = self._resolve_table(parts)
                self._note(table, line)
                continue
            parts = s.read_key()
            s.skip_blank(newlines=False)
            if not parts or s.peek() != "=":
                s.skip_line()
                continue
            s.advance()
            path = (*table, *parts)
            for depth in range(1, len(parts)):
                self._note((*table, *parts[:depth]), line)
            self._note(path, line)
            self._value(s, path)
            s.skip_line()

    def _value(self, s: _Scanner, path: TomlKeyPath) -> None:
        s.skip_blank(newlines=False)
        ch = s.peek()
        if ch in "\"'":
            s.read_string()
        elif ch == "{":
            s.advance()
            while True:
                s.skip_blank(newlines=False)
                if s.peek() in ("}", ""):
                    s.advance()
                    return
                line = s.line
                parts = s.read_key()
                s.skip_blank(newlines=False)
                if not parts or s.peek() != "=":
                    return
                s.advance()
                sub = (*path, *parts)
                self._note(sub, line)
                self._value(s, sub)
                s.skip_blank(newlines=False)
                if s.peek() == ",":
                    s.advance()
        elif ch == "[":
            s.advance()
            index = 0
            while True:
                s.skip_blank(newlines=True)
                if s.peek() in ("]", ""):
                    s.advance()
                    return
                self._note((*path, index), s.line)
                self._value(s, (*path, index))
                s.skip_blank(newlines=True)
                if s.peek() == ",":
                    s.advance()
                index += 1
        else:
            # a bare scalar: number, boolean, date; ends at a delimiter
            while s.peek() and s.peek() not in ",]}\n#":
                s.advance()
