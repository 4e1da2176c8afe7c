"""Account keys: ed25519 key pairs, public keys as values, addresses and key files.

What this protects against (issue 13): a host that trusts whatever ``sender`` it is handed.
Once every account has a key pair and its address *is* a function of its public key
(``sha256(public_key)[:20]`` in bech32, the same payload rule as `derive_address`), a
transaction can only be made in an account's name by whoever holds its private key; a
transaction signed with another key names another address and is refused (`Unauthorized`,
checked in `verify_tx`). Signing and verification use the ``cryptography`` package (OpenSSL's
ed25519); nothing here implements a primitive.

Wiring (for the lead): `Mesh` and `Chain` create one `KeyPair` per account they make, with
``KeyPair.from_seed(f"{chain_id}/{name}")`` in simulations so virtual-time runs stay
repeatable (and ``KeyPair.generate()`` for real deployments), and sign for the embedder
(`chains.contract.sign_tx`). A chain process keeps each account's key in a key file
(`KeyPair.save` / `KeyPair.load`, mode 0600): a file readable by others, corrupt, of another
kind or for another account is refused with `KeyFileError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from functools import lru_cache
from pathlib import Path
from typing import Any, Self

from cryptography.exceptions import InvalidSignature as _OpenSslInvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, model_serializer, model_validator

from chains.contract._address import derive_address
from chains.contract._errors import ChainError
from mesh_actors import construct_trusted

__all__ = [
    "InvalidPublicKey",
    "InvalidSignature",
    "KeyFileError",
    "KeyNotPicklable",
    "KeyPair",
    "PUBLIC_KEY_SIZE",
    "PublicKey",
    "SIGNATURE_SIZE",
]

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
_SEED_DOMAIN = b"mesh-actors/ed25519-seed/v1\x00"
_KEY_FILE_KIND = "mesh-actors/ed25519-key"
_KEY_FILE_VERSION = 1
# A key file is a few hundred bytes; refuse to parse anything far larger.
_KEY_FILE_MAX = 4096


class InvalidSignature(ChainError):
    """A signature does not verify under the key it claims (a forged or tampered
    transaction, header commit or key). ``reason`` says which signature."""

    fields = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class InvalidPublicKey(ChainError):
    """Bytes or text that are not an ed25519 public key (wrong length, not hex)."""

    fields = ("reason",)
    reason: str

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class KeyNotPicklable(ChainError, TypeError):
    """A `KeyPair` was pickled (or deep-copied through pickling's protocol).

    A key pair's secret stays in the process that holds it: pickling would put it in
    whatever the bytes reach (a durable store's rows, a worker process's pipe). Save it
    to a key file with `KeyPair.save` instead. Still the ``TypeError`` pickle raises for
    an object it cannot reduce. ``public_key`` names the pair (hex).
    """

    fields = ("public_key",)
    public_key: str

    def __init__(self, public_key: str) -> None:
        super().__init__(public_key)


class KeyFileError(ChainError):
    """A key file that cannot be used: missing, readable by group or others, corrupt, of
    another kind or version, inconsistent (its public key is not its private key's), or the
    key of another account than the one expected."""

    fields = ("path", "reason")
    path: str
    reason: str

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)


# Memory (issue 16): an OpenSSL key object is some 400-500 bytes outside the Python heap,
# and a simulation holds a key pair per user. The objects are built on use and memoised
# for the keys in use (validators sign and are verified every block; a user signs a burst
# of transactions): the memo is bounded, the keys themselves are 32 bytes each.


_RAW_FIELDS: set[str] = {"raw"}


@lru_cache(maxsize=1024)
def _parsed_public(raw: bytes) -> Ed25519PublicKey:
    # a public key parsed for verification (``raw`` is 32 bytes: `PublicKey` checked it)
    return Ed25519PublicKey.from_public_bytes(raw)


@lru_cache(maxsize=1024)
def _signer(secret: bytes) -> Ed25519PrivateKey:
    # a private key built for signing (``secret`` is 32 bytes: `KeyPair` checked it)
    return Ed25519PrivateKey.from_private_bytes(secret)


class PublicKey(BaseModel):
    """An ed25519 public key as an immutable value (32 bytes), compared and hashed by bytes.

    Make one with ``PublicKey.of(raw)`` or `from_hex`. In pydantic models it validates from
    a `PublicKey`, 32 raw bytes or 64 hex characters and is written as its hex string (in
    JSON and in ``model_dump``), so signed transactions and headers cross transports.
    Anything else raises `InvalidPublicKey` (``of``, ``from_hex``) or pydantic's
    ``ValidationError`` (a field).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)
    raw: bytes

    @model_validator(mode="before")
    @classmethod
    def _coerce(cls, value: Any) -> Any:
        if isinstance(value, bytes):
            return {"raw": value}
        if isinstance(value, str):
            try:
                return {"raw": bytes.fromhex(value)}
            except ValueError:
                raise ValueError("a public key is 64 hex characters") from None
        return value

    @model_validator(mode="after")
    def _parse(self) -> Self:
        if len(self.raw) != PUBLIC_KEY_SIZE:
            raise ValueError(f"an ed25519 public key is {PUBLIC_KEY_SIZE} bytes")
        return self

    @model_serializer
    def _serialize(self) -> str:
        return self.raw.hex()

    @classmethod
    def of(cls, raw: bytes) -> PublicKey:
        """The key of 32 raw bytes; raises `InvalidPublicKey` otherwise."""
        if type(raw) is not bytes or len(raw) != PUBLIC_KEY_SIZE:
            raise InvalidPublicKey(f"an ed25519 public key is {PUBLIC_KEY_SIZE} bytes")
        # built unvalidated (its one field is checked above), and every key shares one
        # fields-set: the model is frozen, so nothing adds to or removes from it, and a
        # simulation holds a key per user (issue 16: 216 bytes each otherwise)
        return construct_trusted(cls, {"raw": raw}, _RAW_FIELDS)

    @classmethod
    def from_hex(cls, text: str) -> PublicKey:
        """Parse 64 hex characters; raises `InvalidPublicKey` otherwise."""
        try:
            raw = bytes.fromhex(text)
        except (TypeError, ValueError):
            raise InvalidPublicKey("not hex") from None
        return cls.of(raw)

    def hex(self) -> str:
        """The key as 64 lowercase hex characters."""
        return self.raw.hex()

    def address(self, prefix: str) -> str:
        """The account address of this key: bech32 of ``sha256(key)[:20]`` under ``prefix``.

        Raises ``ValueError`` for an invalid prefix (a programming error).
        """
        return derive_address(prefix, self.raw)

    def verify(self, signature: bytes, data: bytes, *, what: str = "signature") -> None:
        """Check that ``signature`` is this key's ed25519 signature of ``data``.

        Raises `InvalidSignature` (naming ``what``) if it is not, or is not 64 bytes.
        """
        if type(signature) is not bytes or len(signature) != SIGNATURE_SIZE:
            raise InvalidSignature(f"{what}: not a {SIGNATURE_SIZE}-byte signature")
        try:
            _parsed_public(self.raw).verify(signature, data)
        except _OpenSslInvalidSignature:
            raise InvalidSignature(f"{what}: does not verify under {self.hex()}") from None

    def __lt__(self, other: PublicKey) -> bool:
        return self.raw < other.raw

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PublicKey):
            return NotImplemented
        return self.raw == other.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        # the parsed OpenSSL key does not pickle; the bytes are the whole value
        return (PublicKey.of, (self.raw,))

    def __repr__(self) -> str:
        return f"PublicKey({self.hex()})"


class KeyPair:
    """An ed25519 key pair: an account's signing key and its `PublicKey`.

    Make one with `generate` (from the OS's randomness), `from_seed` (deterministic, for
    tests and simulations) or `load` (a key file). The private key never appears in ``repr``.
    """

    # the 32-byte secret, not OpenSSL's key object: it is built on use (`_signer`)
    __slots__ = ("_public", "_secret")

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._secret = private_key.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._public = PublicKey.of(raw)

    @classmethod
    def generate(cls) -> KeyPair:
        """A fresh random key pair (for real deployments)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes | str) -> KeyPair:
        """The key pair derived from ``seed`` (UTF-8 if a string): always the same pair.

        The 32-byte ed25519 secret is ``sha256(domain || seed)``. For tests and simulations
        only: a guessable seed gives a guessable key.
        """
        raw = seed.encode() if isinstance(seed, str) else bytes(seed)
        return cls.from_private_bytes(hashlib.sha256(_SEED_DOMAIN + raw).digest())

    @classmethod
    def from_private_bytes(cls, secret: bytes) -> KeyPair:
        """The key pair of a 32-byte ed25519 secret; raises `InvalidPublicKey` otherwise."""
        if len(secret) != 32:
            raise InvalidPublicKey("an ed25519 secret is 32 bytes")
        secret = bytes(secret)
        pair = cls.__new__(cls)
        pair._secret = secret
        # the key object is memoised: the pair's first signature (soon, mostly) reuses it
        raw = (
            _signer(secret)
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        pair._public = PublicKey.of(raw)
        return pair

    @property
    def public_key(self) -> PublicKey:
        """The public half."""
        return self._public

    def address(self, prefix: str) -> str:
        """The account address of this key pair under ``prefix`` (see `PublicKey.address`)."""
        return self._public.address(prefix)

    def sign(self, data: bytes) -> bytes:
        """The 64-byte ed25519 signature of ``data``."""
        return _signer(self._secret).sign(data)

    def private_bytes(self) -> bytes:
        """The 32-byte secret (what a key file stores). Handle with care."""
        return self._secret

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KeyPair):
            return NotImplemented
        return self._public == other._public

    def __hash__(self) -> int:
        return hash(self._public)

    def __repr__(self) -> str:
        return f"KeyPair(public_key={self._public.hex()})"

    # an immutable value: a copy is the pair itself, and the secret is never pickled
    def __copy__(self) -> KeyPair:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> KeyPair:
        return self

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise KeyNotPicklable(self._public.hex())

    # -- key files -------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        """Write this key pair to ``path`` as a key file readable by its owner only (0600).

        The file is written beside its target and renamed into place, so a crash never
        leaves half a key. Raises `KeyFileError` if ``path`` exists and ``overwrite`` is
        false, or if the file cannot be written.
        """
        target = Path(path)
        if target.exists() and not overwrite:
            raise KeyFileError(str(target), "exists (pass overwrite=True to replace it)")
        body = json.dumps(
            {
                "kind": _KEY_FILE_KIND,
                "version": _KEY_FILE_VERSION,
                "public_key": self._public.hex(),
                "private_key": self.private_bytes().hex(),
            },
            sort_keys=True,
        ).encode()
        temporary = target.with_name(f".{target.name}.tmp")
        try:
            # O_EXCL with mode 0600: the secret is never, even briefly, in a wider file.
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, body)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(temporary, target)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise KeyFileError(str(target), f"cannot write: {exc.strerror}") from None

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, expected: PublicKey | None = None) -> KeyPair:
        """Read the key file at ``path``; with ``expected``, insist it holds that key.

        Raises `KeyFileError` if the file is missing or unreadable, readable or writable by
        group or others, not a key file of this kind and version, corrupt, inconsistent (the
        stored public key is not the private key's), or holds another key than ``expected``.
        """
        where = str(path)
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as exc:
            raise KeyFileError(where, f"cannot open: {exc.strerror}") from None
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):
                raise KeyFileError(where, "not a regular file")
            if mode & 0o077:
                raise KeyFileError(where, f"mode {mode & 0o777:04o} is too open (need 0600)")
            body = os.read(fd, _KEY_FILE_MAX + 1)
        finally:
            os.close(fd)
        if len(body) > _KEY_FILE_MAX:
            raise KeyFileError(where, "too large for a key file")
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            raise KeyFileError(where, "corrupt (not JSON)") from None
        if not isinstance(data, dict) or data.get("kind") != _KEY_FILE_KIND:
            raise KeyFileError(where, "not a mesh-actors ed25519 key file")
        if data.get("version") != _KEY_FILE_VERSION:
            raise KeyFileError(where, f"unsupported version {data.get('version')!r}")
        secret_hex, public_hex = data.get("private_key"), data.get("public_key")
        if not isinstance(secret_hex, str) or not isinstance(public_hex, str):
            raise KeyFileError(where, "corrupt (missing keys)")
        try:
            pair = cls.from_private_bytes(bytes.fromhex(secret_hex))
            stored = PublicKey.from_hex(public_hex)
        except (ValueError, InvalidPublicKey):
            raise KeyFileError(where, "corrupt (bad key bytes)") from None
        if stored != pair.public_key:
            raise KeyFileError(where, "public key does not match the private key")
        if expected is not None and pair.public_key != expected:
            raise KeyFileError(where, f"holds key {stored.hex()}, expected {expected.hex()}")
        return pair


def pair_of_known(secret: bytes, public: bytes) -> KeyPair:
    """The key pair of a 32-byte ``secret`` whose public key is known to be ``public`` (32
    bytes, derived from it before: nothing checks that here). For a cache of derived keys
    that keeps bytes rather than key pairs (issue 16); anything else uses
    `KeyPair.from_private_bytes`."""
    pair = KeyPair.__new__(KeyPair)
    pair._secret = secret
    pair._public = PublicKey.of(public)
    return pair
