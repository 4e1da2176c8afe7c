"""Loading a TOML configuration file into a frozen pydantic model, with locate_issues errors.

Shared by topologies and scenarios: parse with ``tomllib`` (a syntax error keeps the line
``tomllib`` names), validate with the model (pydantic's errors and the model's own semantic
`MeshConfigError`), then put a line number on every issue with `TomlLocator`, so that a
user sees ``seed.toml:41: pairings[0].consumer: unknown chain 'junoo'`` rather than a
traceback.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from chains.contract._errors import ChainError
from chains.mesh._toml_locate import TomlLocator, syntax_error_line
from chains.mesh._topology_errors import ConfigIssue, MeshConfigError

# helpers of the topology and scenario loaders, not part of the package namespace
__all__: list[str] = []

M = TypeVar("M", bound=BaseModel)

# the chains' amounts are Uint128 (C-1): a larger one in a file is refused with its line, not
# by the bank when the chain starts
MAX_AMOUNT = 2**128 - 1

_POSITION = re.compile(r"\s*\(at (line \d+, column \d+|end of document)\)")


# what a decimal's parse error means, said about the text the user wrote
_DECIMAL_ERRORS = {
    "NegativeDecimal": "must not be negative",
    "InvalidDecimal": "is not a decimal number",
    "DecimalTooPrecise": "has more than 18 decimal places",
}


def _chain_error_message(error: Any) -> str | None:
    # a validator that raised a ChainError (a decimal's parse, say): pydantic's text would be
    # the error's repr, NegativeDecimal(text='-1'); say it about what the file wrote instead
    cause = getattr(error.get("ctx", {}).get("error"), "__cause__", None)
    if not isinstance(cause, ChainError):
        return None
    value = error.get("input")
    written = f'"{value}"' if isinstance(value, str) else repr(value)
    meaning = _DECIMAL_ERRORS.get(cause.name)
    if meaning is not None:
        return f"{written} {meaning}"
    return f"{written} is refused ({cause.name})"


def _message(error: Any) -> str:
    kind = error["type"]
    loc = error["loc"]
    if kind == "extra_forbidden":
        return f"unknown key {loc[-1]!r}" if loc else "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind == "finite_number":
        return f"must be a finite number, got {error.get('input')}"
    if kind == "less_than_equal" and error.get("ctx", {}).get("le") == MAX_AMOUNT:
        return (
            f"must be below 2**128 (amounts are the chains' 128-bit unsigned integers),"
            f" got {error.get('input')}"
        )
    if kind == "value_error":
        chain_message = _chain_error_message(error)
        if chain_message is not None:
            return chain_message
    message: str = error["msg"]
    # pydantic prefixes the text of a ValueError raised by a validator
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    value = error.get("input")
    if kind in ("int_type", "int_parsing", "int_from_float") and isinstance(value, float):
        message += " (amounts are whole numbers of base units)"
    if message.startswith("expected a decimal string") and isinstance(value, int | float):
        message += f' (write decimals as strings: "{value}")'
    return message


def _written_path(loc: tuple[Any, ...], data: Any, missing: bool) -> tuple[Any, ...]:
    # pydantic inserts the tag of a discriminated union's member into the location
    # (("steps", 0, "bond", "amount")): keep only the elements the document has, plus the
    # key a "missing" error names
    out: list[Any] = []
    node = data
    for i, part in enumerate(loc):
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
        elif missing and i == len(loc) - 1:
            pass
        else:
            continue
        out.append(part)
    return tuple(out)


def pydantic_issues(error: ValidationError, data: Any = None) -> list[ConfigIssue]:
    """One issue per pydantic error (no lines yet); with the validated ``data``, locations
    lose the union tags pydantic inserts."""
    out = []
    for e in error.errors(include_url=False, include_context=True):
        loc = tuple(e["loc"])
        if data is not None:
            loc = _written_path(loc, data, e["type"] == "missing")
        out.append(ConfigIssue(loc, _message(e)))
    return out


def locate_issues(issues: Iterable[ConfigIssue], locator: TomlLocator) -> tuple[ConfigIssue, ...]:
    """``issues`` with lines from ``locator`` and paths as written, sorted by line."""
    out = [ConfigIssue(locator.resolve(i.path), i.message, locator.line_of(i.path)) for i in issues]
    # stable: issues of one line keep the validator's order
    return tuple(sorted(out, key=lambda i: i.line if i.line is not None else 0))


def load_toml_model(
    model: type[M],
    text: str,
    source: str,
    error: type[MeshConfigError],
    check: Callable[[M], list[ConfigIssue]] | None = None,
) -> M:
    """Parse ``text`` as TOML and validate it as ``model``; run ``check`` on the result.

    Raises ``error`` (a `MeshConfigError` subclass) carrying every issue, locate_issues in
    ``text`` and attributed to ``source``.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = _POSITION.sub("", str(exc))
        raise error(
            source, (ConfigIssue((), f"not valid TOML: {message}", syntax_error_line(exc)),)
        ) from None
    locator = TomlLocator(text)
    try:
        value = model.model_validate(data)
    except ValidationError as exc:
        raise error(source, locate_issues(pydantic_issues(exc, data), locator)) from None
    except MeshConfigError as exc:
        raise error(source, locate_issues(exc.issues, locator)) from None
    if check is not None:
        issues = check(value)
        if issues:
            raise error(source, locate_issues(issues, locator))
    return value
