"""The JSON codec: envelopes as one JSON object per frame, messages by registered type name.

Wire form (version 1), one UTF-8 JSON object, keys in this order::

    {"version": 1, "kind": "ask", "recipient": "osmosis/vault", "sender": "juno/$ask",
     "correlation_id": 7, "type": "bank.deposit", "body": {"account": "a", "amount": 5}}

``kind`` is ``"tell"``, ``"ask"``, ``"reply"`` or ``"failure"``; ``sender`` may be ``null``
(not for an ask, whose reply must be routed somewhere). An ask may also have a ``"budget"``
key after ``correlation_id``: the seconds its asker still waited when it was sent (a finite
number, at least 0; see `mesh_actors.Envelope`), which the receiving system re-anchors on
its own clock; frames without it are asks without a deadline, as older peers send them.
Field values in ``body`` use pydantic's JSON form of the message (by alias, round-trip
mode), so decoding rebuilds an equal message.

A reply may also carry a plain JSON value instead of a message, since a handler's return
value is the reply to an ask and ``return self.balance`` is the natural way to answer one:
``type`` is then ``null`` and ``body`` the value (``None``, ``bool``, ``int``, finite
``float``, ``str``, and lists and string-keyed dicts of these, nested at most
`MAX_PLAIN_DEPTH` deep). Only exact types cross (no tuples, sets, or subclasses such as
``IntEnum``), so the value a peer decodes equals the one the handler returned.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from pydantic_core import from_json, to_json

from mesh_actors import (
    Address,
    Envelope,
    EnvelopeKind,
    Failure,
    InvalidName,
    Message,
    MessageRegistry,
    Terminated,
    Unwatch,
    Watch,
)

from ._errors import (
    FrameTooLarge,
    MalformedFrame,
    UnencodableMessage,
    UnknownMessageType,
)

__all__ = ["JsonCodec"]

VERSION: Final = 1
MiB: Final = 1024 * 1024
# How deep lists and dicts may nest in a plain reply value: deep enough for any honest
# answer, shallow enough that checking it can never exhaust the stack (or loop on a cycle).
MAX_PLAIN_DEPTH: Final = 32
_SCALARS: Final = frozenset((bool, int, str))

_KIND_NAMES: Final[Mapping[EnvelopeKind, str]] = MappingProxyType(
    {kind: kind.name.lower() for kind in EnvelopeKind}
)
_KINDS: Final[Mapping[str, EnvelopeKind]] = MappingProxyType(
    {name: kind for kind, name in _KIND_NAMES.items()}
)
_KEYS: Final = frozenset(
    ("version", "kind", "recipient", "sender", "correlation_id", "type", "body")
)
_KEYS_WITH_BUDGET: Final = _KEYS | {"budget"}
# Correlation ids are counters; anything beyond a signed 64-bit integer is not one of ours.
_MAX_CORRELATION_ID: Final = 2**63 - 1
_ADDRESS_CACHE_SIZE: Final = 4096

# The runtime's own messages cross the wire for every user (failures of remote asks, remote
# death watch), so a codec must always know them, whatever registry the embedder built.
_RUNTIME_MESSAGES: Final[Mapping[str, type[Message]]] = MappingProxyType(
    {cls.type_name: cls for cls in (Failure, Watch, Unwatch, Terminated)}
)


class JsonCodec:
    """Encodes envelopes as JSON frames; decodes and fully validates frames from peers.

    ``registry`` names the message classes that may cross the wire (the runtime's own
    `mesh_actors.Failure`, `Watch`, `Unwatch` and `Terminated` are always accepted).
    ``max_frame_size`` (bytes, default 1 MiB) bounds frames in both directions.
    ``wire_name`` (default ``"JsonCodec"``) is what the TCP handshake compares with the
    peer's: an application whose messages change between its versions names its message
    schema in it (``"JsonCodec+myapp-3"``), so processes of two versions refuse each other at
    connect (`HandshakeRefused`, reason ``"codec"``) instead of refusing some frames mid-run.

    `encode` raises `UnknownMessageType` for a message class that is not registered (under
    its ``type_name``), `UnencodableMessage` for anything that is not a message (a reply may
    carry a plain JSON value instead, see the module docstring) or that its serializer
    rejects, and `FrameTooLarge`.
    `decode` raises `FrameTooLarge` (checked before parsing), `UnknownMessageType`, and
    `MalformedFrame` for everything else; it raises nothing but these, whatever the input.
    Both are synchronous and thread-safe as long as the registry is not being changed.
    """

    __slots__ = ("_addresses", "_max_frame_size", "_registry", "_wire_name")

    def __init__(
        self, registry: MessageRegistry, *, max_frame_size: int = MiB, wire_name: str = "JsonCodec"
    ) -> None:
        if max_frame_size < 1:
            raise ValueError(f"max_frame_size must be positive, got {max_frame_size}")
        if not wire_name or not wire_name.isascii() or not wire_name.isprintable():
            raise ValueError(f"wire_name must be printable ASCII, got {wire_name!r}")
        self._registry = registry
        self._wire_name = wire_name
        self._max_frame_size = max_frame_size
        # Parsed addresses by their text: a peer talks to a handful of actors, and parsing
        # (a regular expression per path segment) is the largest cost of a small frame.
        self._addresses: dict[str, Address] = {}

    @property
    def registry(self) -> MessageRegistry:
        """The registry messages are looked up in (by type name)."""
        return self._registry

    @property
    def wire_name(self) -> str:
        """The codec's name in the TCP handshake (both sides must give the same)."""
        return self._wire_name

    @property
    def max_frame_size(self) -> int:
        """The largest frame, in bytes, that `encode` produces and `decode` accepts."""
        return self._max_frame_size

    def _class_for(self, type_name: str) -> type[Message] | None:
        cls = self._registry.get(type_name)
        if cls is None:
            cls = _RUNTIME_MESSAGES.get(type_name)
        return cls

    # -- encoding --------------------------------------------------------------------------

    def encode(self, envelope: Envelope) -> bytes:
        """The frame carrying ``envelope`` (see the class docstring for what it raises)."""
        message = envelope.message
        kind = envelope.kind
        type_name: str | None
        if isinstance(message, Message):
            type_name = message.type_name
            if self._class_for(type_name) is not type(message):
                raise UnknownMessageType(type_name)
        elif kind is not EnvelopeKind.REPLY:
            raise UnencodableMessage(
                f"a {kind.name} envelope must carry a mesh_actors.Message, not"
                f" {type(message).__module__}.{type(message).__qualname__}"
            )
        else:
            problem = _plain_problem(message)
            if problem is not None:
                raise UnencodableMessage(
                    f"a reply carries a mesh_actors.Message or a plain JSON value: {problem}"
                )
            type_name = None
        if envelope.deadline is not None:
            raise UnencodableMessage(
                "an absolute deadline means nothing on another clock: send"
                " envelope.in_transit(now), which carries the remaining budget"
            )
        sender = envelope.sender
        frame: dict[str, Any] = {
            "version": VERSION,
            "kind": _KIND_NAMES[kind],
            "recipient": str(envelope.recipient),
            "sender": None if sender is None else str(sender),
            "correlation_id": envelope.correlation_id,
        }
        budget = envelope.budget
        if budget is not None:
            if kind is not EnvelopeKind.ASK:
                raise UnencodableMessage(f"only an ask carries a budget, not a {kind.name}")
            if type(budget) is not float or not 0.0 <= budget < math.inf:
                raise UnencodableMessage(f"a budget is a finite float >= 0, not {budget!r}")
            frame["budget"] = budget
        frame["type"] = type_name
        frame["body"] = message
        try:
            # round_trip leaves out computed fields (the model would refuse them as extra).
            # Each field goes through its declared type's serializer, so custom types (a
            # decimal with a JSON string form) keep that form; pydantic's serialize_as_any
            # would infer a type from the runtime value instead and write a dataclass-backed
            # decimal as its fields, which the peer cannot validate back. A field that must
            # carry subclasses of its declared model says so with pydantic's SerializeAsAny.
            data = to_json(frame, by_alias=True, round_trip=True)
        except Exception as exc:  # pydantic's serializer, or a user's field serializer
            raise UnencodableMessage(
                f"cannot serialize {type_name}: {type(exc).__name__}: {exc}"
            ) from exc
        if len(data) > self._max_frame_size:
            raise FrameTooLarge(len(data), self._max_frame_size)
        return data

    # -- decoding --------------------------------------------------------------------------

    def decode(self, frame: bytes | bytearray | memoryview) -> Envelope:
        """The envelope carried by ``frame`` (see the class docstring for what it raises)."""
        if not isinstance(frame, bytes | bytearray | memoryview):
            raise MalformedFrame(f"a frame is bytes, not {type(frame).__name__}")
        size = frame.nbytes if isinstance(frame, memoryview) else len(frame)
        if size > self._max_frame_size:
            # Before parsing: a peer must not make us parse (or allocate for) a huge frame.
            raise FrameTooLarge(size, self._max_frame_size)
        if isinstance(frame, memoryview):
            frame = frame.tobytes()
        try:
            data = from_json(frame)
        except ValueError as exc:
            raise MalformedFrame(f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise MalformedFrame(f"a frame is a JSON object, not {type(data).__name__}")
        keys = data.keys()
        if keys != _KEYS and keys != _KEYS_WITH_BUDGET:
            missing = sorted(_KEYS - keys)
            extra = sorted(str(key) for key in keys - _KEYS_WITH_BUDGET)
            raise MalformedFrame(f"wrong keys (missing {missing}, unexpected {extra})")
        version = data["version"]
        if version != VERSION or type(version) is not int:
            raise MalformedFrame(f"unsupported frame version {version!r}")
        kind = _KINDS.get(data["kind"]) if isinstance(data["kind"], str) else None
        if kind is None:
            raise MalformedFrame(f"unknown envelope kind {data['kind']!r}")
        recipient = self._address(data["recipient"], "recipient")
        sender = None if data["sender"] is None else self._address(data["sender"], "sender")
        if sender is None and kind is EnvelopeKind.ASK:
            raise MalformedFrame("an ask must have a sender to reply to")
        correlation_id = data["correlation_id"]
        if type(correlation_id) is not int or not 0 <= correlation_id <= _MAX_CORRELATION_ID:
            raise MalformedFrame(f"bad correlation id {correlation_id!r}")
        budget: float | None = None
        if "budget" in data:
            if kind is not EnvelopeKind.ASK:
                raise MalformedFrame("only an ask may carry a budget")
            raw = data["budget"]
            if type(raw) not in (int, float) or not 0 <= raw < math.inf:
                raise MalformedFrame(f"bad budget {raw!r}")
            budget = float(raw)
        message = self._message(data["type"], data["body"], kind)
        return Envelope(recipient, message, sender, correlation_id, kind, budget=budget)

    def _address(self, value: Any, what: str) -> Address:
        if not isinstance(value, str):
            raise MalformedFrame(f"{what} must be a string 'system/path'")
        address = self._addresses.get(value)
        if address is None:
            try:
                address = Address.parse(value)
            except InvalidName as exc:
                raise MalformedFrame(f"bad {what}: {exc}") from None
            if len(self._addresses) >= _ADDRESS_CACHE_SIZE:
                self._addresses.clear()  # crude, but bounded whatever peers send
            self._addresses[value] = address
        return address

    def _message(self, type_name: object, body: object, kind: EnvelopeKind) -> object:
        if type_name is None:
            if kind is not EnvelopeKind.REPLY:
                raise MalformedFrame("only a reply may carry a plain value (no message type)")
            problem = _plain_problem(body)
            if problem is not None:
                raise MalformedFrame(f"bad plain reply value: {problem}")
            return body
        if not isinstance(type_name, str):
            raise MalformedFrame(f"message type must be a string, not {type(type_name).__name__}")
        cls = self._class_for(type_name)
        if cls is None:
            raise UnknownMessageType(type_name)
        if not isinstance(body, dict):
            raise MalformedFrame(f"body of {type_name} must be a JSON object")
        try:
            return cls.model_validate(body)
        except Exception as exc:  # ValidationError, or whatever a user's validator raised
            raise MalformedFrame(f"invalid {type_name}: {_summary(exc)}") from None


def _plain_problem(value: object) -> str | None:
    """Why ``value`` is not a plain JSON value that round-trips exactly, or ``None`` if it is.

    Iterative and bounded by `MAX_PLAIN_DEPTH`, so neither a deep nor a cyclic value can
    exhaust the stack or loop.
    """
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if item is None or kind in _SCALARS:
            continue
        if isinstance(item, float) and kind is float:
            if not math.isfinite(item):
                return f"{item!r} has no JSON form"
            continue
        children: list[object]
        if isinstance(item, dict) and kind is dict:
            bad_keys = [key for key in item if type(key) is not str]
            if bad_keys:
                return f"dict key {bad_keys[0]!r} is not a str"
            children = list(item.values())
        elif isinstance(item, list) and kind is list:
            children = item
        else:
            return f"{kind.__module__}.{kind.__qualname__} is neither"
        if depth >= MAX_PLAIN_DEPTH:
            return f"nested more than {MAX_PLAIN_DEPTH} deep"
        stack.extend((child, depth + 1) for child in children)
    return None


def _summary(exc: Exception) -> str:
    """A one-line description of a validation failure, bounded in length.

    The full pydantic report echoes the input, which came from a peer and may be huge.
    """
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            details = errors(include_url=False, include_input=False)
        except Exception:  # not pydantic's ValidationError after all
            details = None
        if isinstance(details, list) and details:
            parts = [
                f"{'.'.join(str(p) for p in err.get('loc', ())) or '<body>'}: {err.get('msg')}"
                for err in details[:3]
            ]
            more = f" (+{len(details) - 3} more)" if len(details) > 3 else ""
            return "; ".join(parts) + more
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 200 else text[:197] + "..."
