"""The configuration of one chain: identity, addresses, block time, staking, genesis state."""

from __future__ import annotations

import hashlib
import hmac
import sys
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chains.contract._address import (
    convert_prefix,
    operator_prefix,
    validate_address,
)
from chains.contract._coin import Coin
from chains.contract._decimal import SdkDec
from chains.contract._errors import ChainError, InvalidValue
from chains.contract._keys import KeyPair, pair_of_known
from chains.modules._bank import check_denom
from chains.modules._params import StakingParams

__all__ = ["ChainConfig", "GenesisAccount", "GenesisValidator", "account_key", "seeded_secret"]

_DEFAULT_GENESIS_TIME = 1_700_000_000


class GenesisAccount(BaseModel):
    """An account funded at genesis."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    address: str
    coins: tuple[Coin, ...]


_ACCOUNT_FIELDS: set[str] = {"address", "coins"}


class GenesisValidator(BaseModel):
    """A validator created and bonded at genesis (C-13 e2e profile: 4 x 1_000_000).

    The operator account is the address of the key named ``name``
    (``ChainConfig.address(name)``, `account_key`) and is funded with exactly
    ``self_bond``; ``pubkey`` defaults to ``"pubkey-<name>"``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    self_bond: int = Field(gt=0)
    commission: SdkDec = SdkDec.zero()
    min_self_delegation: int = Field(default=0, ge=0)
    pubkey: str | None = None
    self_bond_shares: SdkDec | None = None
    max_rate: SdkDec | None = None
    max_change_rate: SdkDec | None = None


class ChainConfig(BaseModel):
    """Everything that makes a chain what it is; the same config gives the same chain.

    - ``chain_id``: also the name of the chain's host actor (letters, digits, ``_.:-``);
    - ``prefix``: the bech32 account prefix (``"stars"``); every address the chain accepts
      is checked against it (`InvalidAddress`);
    - ``bond_denom``: the staking denom; it overrides ``staking.bond_denom``;
    - ``block_time``: clock seconds between blocks (> 0). Block times are whole seconds and
      strictly increase, so a block time below one second makes chain time run ahead;
    - ``genesis_time``: UNIX seconds of block 0 (genesis); block 1 is one block time later;
    - ``staking``: the parameters of C-13;
    - ``accounts`` / ``validators``: genesis balances and validators (bonded at genesis);
    - ``key_seed``: secret bytes mixed into every key the chain derives from a name (its
      named accounts' keys, `account_key`, and its validators' consensus keys, which sign
      its IBC headers, ``chains.ibc.consensus_key``). Empty (the default), the keys are
      simulation keys: guessable by anyone who knows the names, fine in one process whose
      runs must repeat, never for chains that listen on sockets. A genesis of processes
      (``mesh genesis``) draws a fresh random seed. Kept out of ``repr`` and out of
      ``model_dump`` (it is a secret, not configuration to log or write next to it).

    Invalid values raise pydantic's ``ValidationError``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    chain_id: str = Field(pattern=r"^[A-Za-z0-9_.:\-]+$")
    prefix: str = Field(pattern=r"^[a-z0-9]+$")
    bond_denom: str = "stake"
    block_time: float = Field(default=5.0, gt=0)
    genesis_time: int = Field(default=_DEFAULT_GENESIS_TIME, ge=0)
    staking: StakingParams = StakingParams()
    accounts: tuple[GenesisAccount, ...] = ()
    validators: tuple[GenesisValidator, ...] = ()
    key_seed: bytes = Field(default=b"", repr=False, exclude=True)

    @field_validator("bond_denom")
    @classmethod
    def _valid_denom(cls, value: str) -> str:
        try:
            check_denom(value)
        except ChainError as exc:
            raise InvalidValue(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _check_genesis(self) -> ChainConfig:
        # Memory (issue 16): the config, kept for the chain's life, holds a genesis account
        # per user; its coins are most often the same few balances, so equal coin tuples
        # are shared (one tuple and one `Coin` each, not one per account), and every
        # account shares one fields-set (frozen models: nothing adds to or removes from
        # it). Both are equal values in place of equal values: the config, its dumps and
        # its genesis are the same.
        coins: dict[tuple[Coin, ...], tuple[Coin, ...]] = {}
        for account in self.accounts:
            try:
                validate_address(account.address, self.prefix)
            except ChainError as exc:
                raise InvalidValue(f"genesis account: {exc}") from None
            shared = coins.setdefault(account.coins, account.coins)
            if shared is not account.coins:
                object.__setattr__(account, "coins", shared)
            if account.__pydantic_fields_set__ == _ACCOUNT_FIELDS:
                object.__setattr__(account, "__pydantic_fields_set__", _ACCOUNT_FIELDS)
        names = [v.name for v in self.validators]
        if len(set(names)) != len(names):
            raise InvalidValue("genesis validator names must be unique")
        if self.staking.bond_denom != self.bond_denom:
            # one source of truth: the chain's bond denom
            object.__setattr__(
                self, "staking", self.staking.model_copy(update={"bond_denom": self.bond_denom})
            )
        return self

    def genesis_supply(self) -> dict[str, int]:
        """The supply genesis mints, per denom: the funded accounts' coins and the
        validators' self-bonds (in the bond denom). Denoms that sum to zero are left out
        only if no coin names them."""
        supply: dict[str, int] = {}
        for account in self.accounts:
            for coin in account.coins:
                supply[coin.denom] = supply.get(coin.denom, 0) + coin.amount
        bonds = sum(v.self_bond for v in self.validators)
        if bonds:
            supply[self.bond_denom] = supply.get(self.bond_denom, 0) + bonds
        return supply

    def without_accounts(self) -> ChainConfig:
        """This config without its genesis accounts (every other field the same object):
        what a chain keeps after its genesis has funded them (issue 16: a genesis account
        per user is ~260 bytes per stake kept for the chain's life, read only at genesis;
        the conservation invariant reads the genesis supply the chain keeps instead)."""
        if not self.accounts:
            return self
        return self.model_copy(update={"accounts": ()})

    def address(self, name: str) -> str:
        """The account address of the account called ``name`` on this chain: the address of
        its key pair's public key (``account_key(name, key_seed).address(prefix)``), so
        whoever holds the key (the `Chain`, the `Mesh`, a process with its key file) can
        sign as it.
        Module accounts and the governance authority are not named accounts: their
        addresses stay derived from the module's name, as on Cosmos."""
        return _key_address(name, self.prefix, self.key_seed)

    def operator(self, name: str) -> str:
        """The validator operator address behind ``address(name)``."""
        return convert_prefix(self.address(name), self.prefix, operator_prefix(self.prefix))

    @property
    def first_block_time(self) -> int:
        """The time of block 1: one (whole-second, at least 1 s) block time after genesis."""
        return self.genesis_time + max(1, int(self.block_time))


def account_key(name: str, seed: bytes = b"") -> KeyPair:
    """The key pair of the signing account called ``name``, the same on every chain (as one
    mnemonic across Cosmos chains); its address on a chain is
    ``account_key(name, seed).address(prefix)``.

    With the empty ``seed`` it is ``KeyPair.from_seed(name)``: a simulation key, guessable
    by anyone who knows the name, so virtual-time runs repeat; fine for in-process
    simulations, never for chains reachable over a network. With a secret ``seed`` (a
    genesis of processes draws 32 random bytes) the 32-byte ed25519 secret is
    ``HMAC-SHA256(seed, "mesh-account/" || name)``: unguessable without the seed, and
    still the same for the same seed and name (every process of one genesis agrees).
    """
    packed = _account_secret(name, seed)
    return pair_of_known(packed[:32], packed[32:])


# Memos of derived keys and addresses (deriving costs a SHA-256 and a scalar multiplication,
# tens of microseconds, and names repeat across a run), as one plain dict per prefix and
# seed keyed by the name: an ``lru_cache`` entry was some 180 bytes per user and memo
# (issue 16), a dict slot is a fifth of that. A memo that reaches `_MEMO_SIZE` names starts
# afresh; the memos of at most `_MEMO_SETS` prefixes and seeds are kept.
_MEMO_SIZE: Final = 65536
_MEMO_SETS: Final = 64
_ADDRESSES: dict[tuple[str, bytes], dict[str, str]] = {}
_SECRETS: dict[bytes, dict[str, bytes]] = {}


def _memo_of(memos: dict[Any, dict[str, Any]], which: Any) -> dict[str, Any]:
    memo = memos.get(which)
    if memo is None:
        if len(memos) >= _MEMO_SETS:
            memos.clear()
        memo = memos[which] = {}
    elif len(memo) >= _MEMO_SIZE:
        memo.clear()
    return memo


def _key_address(name: str, prefix: str, seed: bytes = b"") -> str:
    # Interned, as the genesis's are (`chains.mesh`'s chain_config): the state a user's
    # genesis funds and transactions write is then keyed by one string (issue 16)
    memo = _memo_of(_ADDRESSES, (prefix, seed))
    address = memo.get(name)
    if address is None:
        address = memo[name] = sys.intern(account_key(name, seed).address(prefix))
    return address


def _account_secret(name: str, seed: bytes = b"") -> bytes:
    # the 32-byte secret and 32-byte public key of the account's key pair, not the
    # `KeyPair` (issue 16: a simulation holds one per user; 64 bytes are a quarter of a
    # `KeyPair` with its `PublicKey`, which is rebuilt per call in a few microseconds)
    memo = _memo_of(_SECRETS, seed)
    packed = memo.get(name)
    if packed is None:
        if not seed:
            pair = KeyPair.from_seed(name)
        else:
            pair = KeyPair.from_private_bytes(seeded_secret(seed, "mesh-account/" + name))
        packed = memo[name] = pair.private_bytes() + pair.public_key.raw
    return packed


def seeded_secret(seed: bytes, label: str) -> bytes:
    """The 32-byte secret ``HMAC-SHA256(seed, label)`` (UTF-8 label): the derivation of
    every seeded key, accounts' and consensus keys' (distinct label prefixes keep them
    apart)."""
    return hmac.new(seed, label.encode(), hashlib.sha256).digest()
