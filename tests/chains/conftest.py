"""Fixtures for the chain-module tests: a small chain, recording hooks, error checks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from chains import ChainError
from chains.contract import SdkDec, Store, derive_address
from chains.modules import Bank, SlashEvent, StakingHooks, StakingModule, StakingParams

PREFIX = "stars"
DENOM = "stake"
START_TIME = 1_700_000_000
BLOCK_SECONDS = 5


class RecordingHooks(StakingHooks):
    """Records every hook call as ``(name, validator)`` (slashes as ``("slashed", event)``)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def after_validator_bonded(self, validator: str) -> None:
        self.calls.append(("bonded", validator))

    def after_validator_begin_unbonding(self, validator: str) -> None:
        self.calls.append(("begin_unbonding", validator))

    def before_validator_modified(self, validator: str) -> None:
        self.calls.append(("modified", validator))

    def after_validator_slashed(self, event: SlashEvent) -> None:
        self.calls.append(("slashed", event))

    def after_validator_jailed(self, validator: str) -> None:
        self.calls.append(("jailed", validator))

    def after_validator_unjailed(self, validator: str) -> None:
        self.calls.append(("unjailed", validator))

    def after_validator_tombstoned(self, validator: str) -> None:
        self.calls.append(("tombstoned", validator))

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def clear(self) -> None:
        self.calls.clear()


class Chain:
    """A store, a bank and a staking module, plus shorthands for tests."""

    def __init__(self, params: StakingParams | None = None, bank_cls: type[Bank] = Bank) -> None:
        self.store = Store()
        self.bank = bank_cls(self.store)
        self.module = StakingModule(self.store, self.bank, params, account_prefix=PREFIX)
        self.staking = self.module.staking
        self.distribution = self.module.distribution
        self.slashing = self.module.slashing
        self.hooks = RecordingHooks()
        self.module.add_hooks(self.hooks)
        self.height = 0
        self.time_s = START_TIME
        self.minted = 0

    @property
    def params(self) -> StakingParams:
        return self.module.params

    def account(self, name: str) -> str:
        return derive_address(PREFIX, name)

    def operator(self, name: str) -> str:
        return self.staking.operator_of(self.account(name))

    def fund(self, address: str, amount: int) -> None:
        self.bank.mint(address, DENOM, amount)
        self.minted += amount

    def add_validator(
        self,
        name: str,
        tokens: int,
        *,
        commission: str = "0",
        min_self_delegation: int = 0,
        shares: SdkDec | None = None,
    ) -> str:
        operator = self.operator(name)
        self.fund(self.account(name), tokens)
        self.module.create_validator(
            operator,
            f"pubkey-{name}",
            tokens,
            SdkDec.parse(commission),
            min_self_delegation,
            self_bond_shares=shares,
        )
        return operator

    def begin(self, seconds: int = BLOCK_SECONDS) -> None:
        self.height += 1
        self.time_s += seconds
        self.module.begin_block(self.height, self.time_s)

    def end(self) -> None:
        self.module.end_block(self.height, self.time_s)

    def block(self, seconds: int = BLOCK_SECONDS) -> None:
        self.begin(seconds)
        self.end()

    def blocks(self, count: int, seconds: int = BLOCK_SECONDS) -> None:
        for _ in range(count):
            self.block(seconds)

    def balance(self, address: str) -> int:
        return self.bank.balance(address, DENOM)

    def tokens(self, operator: str) -> int:
        validator = self.staking.validator(operator)
        assert validator is not None
        return validator.tokens


@pytest.fixture(scope="session")
def make_chain() -> Callable[..., Chain]:
    """Factory: ``make_chain(params=None)`` -> a fresh ``Chain``."""
    return Chain


@pytest.fixture
def chain() -> Chain:
    """A fresh chain with default parameters."""
    return Chain()


def assert_rejected(store: Store, call: Callable[[], object], expected: ChainError) -> None:
    """``call()`` raises exactly ``expected`` and leaves every map of ``store`` unchanged."""
    before = store.snapshot()
    with pytest.raises(type(expected)) as info:
        call()
    assert info.value == expected
    assert store.snapshot() == before


@pytest.fixture(scope="session")
def rejects() -> Callable[[Store, Callable[[], object], ChainError], None]:
    """``rejects(store, call, expected_error)``: see ``assert_rejected``."""
    return assert_rejected
