"""Bech32 account, operator and consensus addresses (BIP-173).

A chain has one account prefix ``p`` (``"stars"``, ``"osmo"``); its validator operator
addresses use ``p + "valoper"`` and consensus addresses ``p + "valcons"``, over the same
payload bytes as in the Cosmos SDK. The checksum is the published BIP-173 polymod, so a
one-character typo in an address is always caught.

Addresses are derived deterministically from a seed (a name or a public key) with SHA-256,
which keeps simulations replayable: the same seed always gives the same address.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from chains.contract._errors import InvalidAddress, InvalidValue

__all__ = [
    "address_bytes",
    "consensus_prefix",
    "convert_prefix",
    "derive_address",
    "encode_address",
    "operator_prefix",
    "validate_address",
]

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_CHARSET_INDEX = {c: i for i, c in enumerate(_CHARSET)}
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
# BIP-173 caps the whole string at 90 characters; enough for 20- and 32-byte payloads
_MAX_LENGTH = 90
_CHECKSUM_LENGTH = 6


def _polymod(values: Iterable[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            if (top >> i) & 1:
                chk ^= _GENERATOR[i]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _checksum(hrp: str, data: Sequence[int]) -> list[int]:
    polymod = _polymod([*_hrp_expand(hrp), *data, 0, 0, 0, 0, 0, 0]) ^ 1
    return [(polymod >> 5 * (5 - i)) & 31 for i in range(_CHECKSUM_LENGTH)]


def _convert_bits(data: Iterable[int], from_bits: int, to_bits: int, pad: bool) -> list[int] | None:
    acc = 0
    bits = 0
    out: list[int] = []
    max_value = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & max_value)
    if pad:
        if bits:
            out.append((acc << (to_bits - bits)) & max_value)
    elif bits >= from_bits or ((acc << (to_bits - bits)) & max_value):
        return None
    return out


def _check_prefix(prefix: str) -> None:
    if not prefix or prefix != prefix.lower() or any(not 33 <= ord(c) <= 126 for c in prefix):
        raise InvalidValue(f"invalid bech32 prefix {prefix!r}")


def operator_prefix(prefix: str) -> str:
    """The validator operator prefix of a chain: ``prefix + "valoper"``."""
    return prefix + "valoper"


def consensus_prefix(prefix: str) -> str:
    """The consensus address prefix of a chain: ``prefix + "valcons"``."""
    return prefix + "valcons"


def encode_address(prefix: str, payload: bytes) -> str:
    """Encode payload bytes as a lowercase bech32 string with ``prefix``.

    Raises `InvalidValue` for an invalid prefix or an empty payload (programming errors).
    """
    _check_prefix(prefix)
    if not payload:
        raise InvalidValue("empty address payload")
    data = _convert_bits(payload, 8, 5, pad=True)
    assert data is not None  # padding conversion cannot fail
    return prefix + "1" + "".join(_CHARSET[d] for d in data + _checksum(prefix, data))


def derive_address(prefix: str, seed: bytes | str, *, length: int = 20) -> str:
    """Derive a deterministic address: the first ``length`` bytes of ``sha256(seed)``.

    With the default 20 bytes the result is ``prefix + "1" + 38`` bech32 characters.
    String seeds are UTF-8 encoded. Raises `InvalidValue` for an invalid prefix or a length
    outside ``1..32``.
    """
    if not 1 <= length <= 32:
        raise InvalidValue("length must be between 1 and 32 bytes")
    raw = seed.encode() if isinstance(seed, str) else bytes(seed)
    return encode_address(prefix, hashlib.sha256(raw).digest()[:length])


def address_bytes(address: str, prefix: str) -> bytes:
    """Decode a bech32 address with the expected ``prefix`` to its payload bytes.

    Raises ``InvalidAddress(address, reason)`` for anything that is not a valid, normalised
    (lowercase) bech32 string with exactly that prefix and a 1..255-byte payload.
    """
    if not isinstance(address, str):
        raise InvalidAddress(repr(address), "not a string")
    if len(address) > _MAX_LENGTH:
        raise InvalidAddress(address, "too long")
    if address != address.lower():
        # CosmWasm's addr_validate insists on the normalised (lowercase) form
        raise InvalidAddress(address, "not normalized (must be lowercase)")
    separator = address.rfind("1")
    if separator < 1:
        raise InvalidAddress(address, "missing prefix or separator")
    hrp, body = address[:separator], address[separator + 1 :]
    if hrp != prefix:
        raise InvalidAddress(address, f"wrong prefix (expected {prefix!r})")
    if len(body) <= _CHECKSUM_LENGTH:
        raise InvalidAddress(address, "too short")
    try:
        data = [_CHARSET_INDEX[c] for c in body]
    except KeyError:
        raise InvalidAddress(address, "invalid character") from None
    if _polymod([*_hrp_expand(hrp), *data]) != 1:
        raise InvalidAddress(address, "invalid checksum")
    payload = _convert_bits(data[:-_CHECKSUM_LENGTH], 5, 8, pad=False)
    if payload is None or not 1 <= len(payload) <= 255:
        raise InvalidAddress(address, "invalid payload length")
    return bytes(payload)


def validate_address(address: str, prefix: str) -> str:
    """Return ``address`` if it is a valid bech32 address with ``prefix``.

    Raises ``InvalidAddress(address, reason)`` otherwise (see ``address_bytes``).
    """
    address_bytes(address, prefix)
    return address


def convert_prefix(address: str, from_prefix: str, to_prefix: str) -> str:
    """Re-encode ``address`` (with ``from_prefix``) under ``to_prefix``, same payload.

    This is how an operator address maps to its account address and back.
    Raises ``InvalidAddress`` if ``address`` is not valid for ``from_prefix``.
    """
    return encode_address(to_prefix, address_bytes(address, from_prefix))
