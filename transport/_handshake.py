"""The connection handshake: versions, names, incarnations, and mutual authentication.

Sans-IO: `ClientHandshake` (the dialer) and `ServerHandshake` (the listener) turn the
payloads of handshake frames into the next payload to send, or raise `HandshakeRefused`. The
exchange, three frames and an answer::

    dialer   -> HELLO      {"magic", "version", "codec", "system", "target", "incarnation",
                            "listen", "nonce"}                        (JSON)
    listener -> CHALLENGE  proof_L (32 bytes) + {"magic", "version", "codec", "system",
                            "incarnation", "nonce"}                   (JSON)
    dialer   -> AUTH       proof_D (32 bytes)
    listener -> ACCEPT     initial credit (4 bytes)   or REFUSE with a reason, then close

Both proofs are HMAC-SHA256 under the shared secret over the HELLO payload and the
CHALLENGE's JSON, with a different label for each role, so:

- the secret never crosses the wire, and each side proves it knows it;
- both sides' fresh 32-byte nonces are covered, so a recorded proof is worthless on any
  other connection (the listener's nonce differs), and a recorded HELLO is refused at once
  because the listener remembers recent dialer nonces (`ReplayGuard`);
- the role labels stop a proof from being reflected back to the side that made it;
- the names, incarnations, versions and codec are covered too, so none can be altered
  in transit without the proofs failing.

The incarnation is a random id each attached system draws when it starts: a peer that comes
back with a different one has restarted, and whatever was in flight to its old incarnation is
lost. Checks happen in an order that gives the most useful refusal: magic, then version (so
a future version with other fields is told "version"), then fields, codec, names, replay.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Final

from mesh_actors import Address, InvalidName

from ._tcp_errors import HandshakeRefused

__all__ = [
    "MAX_HANDSHAKE_PAYLOAD",
    "PROTOCOL_VERSION",
    "ClientHandshake",
    "PeerInfo",
    "ReplayGuard",
    "ServerHandshake",
    "new_incarnation",
]

PROTOCOL_VERSION: Final = 1
MAGIC: Final = "mesh-tcp"
NONCE_SIZE: Final = 32
PROOF_SIZE: Final = 32
MAX_HANDSHAKE_PAYLOAD: Final = 4096
"""The largest payload of any handshake frame (the decoder refuses longer ones unread)."""

_HELLO_KEYS: Final = frozenset(
    ("magic", "version", "codec", "system", "target", "incarnation", "listen", "nonce")
)
_CHALLENGE_KEYS: Final = frozenset(("magic", "version", "codec", "system", "incarnation", "nonce"))
_SERVER_LABEL: Final = b"mesh-tcp/1 listener proof\x00"
_CLIENT_LABEL: Final = b"mesh-tcp/1 dialer proof\x00"


def new_incarnation() -> str:
    """A fresh random incarnation id (16 hex digits)."""
    return secrets.token_hex(8)


@dataclass(frozen=True, slots=True)
class PeerInfo:
    """Who is on the other end of an authenticated connection.

    ``listen`` is the address the dialer says it accepts connections on (``None`` if it does
    not listen); it is only trusted because the proof covers it.
    """

    system: str
    incarnation: str
    listen: tuple[str, int] | None = None


class ReplayGuard:
    """Remembers the last ``capacity`` dialer nonces a listener has seen.

    Bounded whatever peers send; a nonce older than that is no use to an attacker anyway,
    since the listener's own fresh nonce makes an old proof fail.
    """

    __slots__ = ("_capacity", "_seen")

    def __init__(self, capacity: int = 65536) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be positive, got {capacity}")
        self._capacity = capacity
        self._seen: OrderedDict[bytes, None] = OrderedDict()

    def first_time(self, nonce: bytes) -> bool:
        """Whether ``nonce`` is new (and remember it)."""
        if nonce in self._seen:
            return False
        self._seen[nonce] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._seen)


def _proof(secret: bytes, label: bytes, hello: bytes, challenge: bytes) -> bytes:
    mac = hmac.new(secret, label, hashlib.sha256)
    # Length-prefixed so that no shift of bytes between the two parts gives the same input.
    mac.update(len(hello).to_bytes(4, "big"))
    mac.update(hello)
    mac.update(challenge)
    return mac.digest()


def _dump(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode()


def _load(payload: bytes, what: str) -> dict[str, Any]:
    if len(payload) > MAX_HANDSHAKE_PAYLOAD:
        raise HandshakeRefused("malformed", f"{what} of {len(payload)} bytes is too long")
    try:
        document = json.loads(payload)
    except (ValueError, RecursionError):
        raise HandshakeRefused("malformed", f"{what} is not JSON") from None
    if not isinstance(document, dict):
        raise HandshakeRefused("malformed", f"{what} is not a JSON object")
    if document.get("magic") != MAGIC:
        raise HandshakeRefused("malformed", f"{what} is not a mesh-tcp handshake")
    version = document.get("version")
    if type(version) is not int or version != PROTOCOL_VERSION:
        raise HandshakeRefused(
            "version",
            f"peer speaks protocol version {_shown(version)}, this side {PROTOCOL_VERSION}",
        )
    return document


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _keys(document: dict[str, Any], expected: frozenset[str], what: str) -> None:
    if document.keys() != expected:
        raise HandshakeRefused("malformed", f"{what} has the wrong fields")


def _system(value: object, what: str) -> str:
    if not isinstance(value, str) or len(value) > 200:
        raise HandshakeRefused("malformed", f"{what} is not a system name")
    try:
        Address.parse(f"{value}/$")
    except InvalidName:
        raise HandshakeRefused(
            "malformed", f"{what} {_shown(value)} is not a system name"
        ) from None
    return value


def _hex(value: object, size: int, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 2 * size:
        raise HandshakeRefused("malformed", f"{what} must be {2 * size} hex digits")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise HandshakeRefused("malformed", f"{what} must be {2 * size} hex digits") from None


def _listen(value: object) -> tuple[str, int] | None:
    if value is None:
        return None
    if (
        isinstance(value, list)
        and len(value) == 2
        and isinstance(value[0], str)
        and 0 < len(value[0]) <= 255
        and type(value[1]) is int
        and 0 < value[1] < 65536
    ):
        return value[0], value[1]
    raise HandshakeRefused("malformed", "listen must be null or [host, port]")


def _codec(value: object, expected: str) -> None:
    if value != expected:
        raise HandshakeRefused("codec", f"peer encodes with {_shown(value)}, this side {expected}")


class ClientHandshake:
    """The dialer's side: `hello`, then `answer` the listener's CHALLENGE.

    ``secret`` is the shared secret; ``system`` and ``incarnation`` say who dials, ``target``
    which system it means to reach, ``codec`` names the codec, ``listen`` is where the dialer
    accepts connections (or ``None``). ``nonce`` is for tests only (default: fresh random).
    """

    __slots__ = (
        "_codec",
        "_hello",
        "_incarnation",
        "_listen",
        "_nonce",
        "_secret",
        "_system",
        "_target",
    )

    def __init__(
        self,
        *,
        secret: bytes,
        system: str,
        incarnation: str,
        target: str,
        codec: str,
        listen: tuple[str, int] | None = None,
        nonce: bytes | None = None,
    ) -> None:
        self._secret = secret
        self._system = system
        self._incarnation = incarnation
        self._target = target
        self._codec = codec
        self._listen = listen
        self._nonce = secrets.token_bytes(NONCE_SIZE) if nonce is None else nonce
        self._hello: bytes | None = None

    def hello(self) -> bytes:
        """The HELLO payload (the same bytes if called again)."""
        if self._hello is None:
            self._hello = _dump(
                {
                    "magic": MAGIC,
                    "version": PROTOCOL_VERSION,
                    "codec": self._codec,
                    "system": self._system,
                    "target": self._target,
                    "incarnation": self._incarnation,
                    "listen": None if self._listen is None else list(self._listen),
                    "nonce": self._nonce.hex(),
                }
            )
        return self._hello

    def answer(self, challenge: bytes) -> tuple[bytes, PeerInfo]:
        """Check the listener's CHALLENGE; return the AUTH payload and who the listener is.

        Raises `HandshakeRefused`: ``"authentication"`` if the listener's proof is wrong (it
        does not know the secret, or the exchange was tampered with or replayed), and
        ``"malformed"``, ``"version"``, ``"codec"`` or ``"system"`` as the fields say.
        """
        hello = self.hello()
        if len(challenge) < PROOF_SIZE:
            raise HandshakeRefused("malformed", "challenge too short")
        proof, body = challenge[:PROOF_SIZE], challenge[PROOF_SIZE:]
        document = _load(body, "challenge")
        _keys(document, _CHALLENGE_KEYS, "challenge")
        _codec(document["codec"], self._codec)
        system = _system(document["system"], "listener system")
        incarnation = _hex(document["incarnation"], 8, "incarnation").hex()
        nonce = _hex(document["nonce"], NONCE_SIZE, "nonce")
        if not hmac.compare_digest(proof, _proof(self._secret, _SERVER_LABEL, hello, body)):
            raise HandshakeRefused("authentication", "the listener's proof is wrong")
        if nonce == self._nonce:
            raise HandshakeRefused("replay", "the listener echoed the dialer's nonce")
        if system != self._target:
            raise HandshakeRefused(
                "system", f"dialed {self._target!r} but reached {_shown(system)}"
            )
        auth = _proof(self._secret, _CLIENT_LABEL, hello, body)
        return auth, PeerInfo(system, incarnation)


class ServerHandshake:
    """The listener's side: `challenge` a HELLO, then `verify` the dialer's AUTH.

    ``replay_guard`` is shared by every connection of one listener. ``nonce`` is for tests
    only (default: fresh random).
    """

    __slots__ = (
        "_body",
        "_codec",
        "_guard",
        "_hello",
        "_incarnation",
        "_nonce",
        "_peer",
        "_secret",
        "_system",
    )

    def __init__(
        self,
        *,
        secret: bytes,
        system: str,
        incarnation: str,
        codec: str,
        replay_guard: ReplayGuard,
        nonce: bytes | None = None,
    ) -> None:
        self._secret = secret
        self._system = system
        self._incarnation = incarnation
        self._codec = codec
        self._guard = replay_guard
        self._nonce = secrets.token_bytes(NONCE_SIZE) if nonce is None else nonce
        self._hello: bytes | None = None
        self._body: bytes | None = None
        self._peer: PeerInfo | None = None

    def challenge(self, hello: bytes) -> bytes:
        """Check a HELLO; return the CHALLENGE payload.

        Raises `HandshakeRefused`: ``"malformed"``, ``"version"``, ``"codec"``, ``"system"``
        (the dialer wants another system) or ``"replay"`` (this dialer nonce was seen).
        """
        if self._hello is not None:
            raise HandshakeRefused("malformed", "a second HELLO on one connection")
        document = _load(hello, "hello")
        _keys(document, _HELLO_KEYS, "hello")
        _codec(document["codec"], self._codec)
        system = _system(document["system"], "dialer system")
        target = _system(document["target"], "target system")
        incarnation = _hex(document["incarnation"], 8, "incarnation").hex()
        listen = _listen(document["listen"])
        nonce = _hex(document["nonce"], NONCE_SIZE, "nonce")
        if target != self._system:
            raise HandshakeRefused("system", f"dialer wants {target!r}, this is {self._system!r}")
        if nonce == self._nonce or not self._guard.first_time(nonce):
            raise HandshakeRefused("replay", "this HELLO was seen before")
        body = _dump(
            {
                "magic": MAGIC,
                "version": PROTOCOL_VERSION,
                "codec": self._codec,
                "system": self._system,
                "incarnation": self._incarnation,
                "nonce": self._nonce.hex(),
            }
        )
        self._hello = hello
        self._body = body
        self._peer = PeerInfo(system, incarnation, listen)
        return _proof(self._secret, _SERVER_LABEL, hello, body) + body

    def verify(self, auth: bytes) -> PeerInfo:
        """Check the dialer's AUTH; return who the dialer is.

        Raises `HandshakeRefused` (``"authentication"``) if the proof is wrong, and
        (``"malformed"``) if no HELLO was challenged first.
        """
        if self._hello is None or self._body is None or self._peer is None:
            raise HandshakeRefused("malformed", "AUTH before HELLO")
        expected = _proof(self._secret, _CLIENT_LABEL, self._hello, self._body)
        if not hmac.compare_digest(auth, expected):
            raise HandshakeRefused("authentication", "the dialer's proof is wrong")
        return self._peer
