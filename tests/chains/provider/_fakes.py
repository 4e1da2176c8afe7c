"""Fakes for testing one provider core at a time: a querier, environments, deps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from chains import ChainError, Coin
from chains.contract import (
    BlockEnv,
    Contract,
    ContractStorage,
    Deps,
    Env,
    MessageInfo,
    Store,
    UnsupportedMessage,
)

DENOM = "ustake"
T = TypeVar("T", bound=Contract)


@dataclass
class FakeUnbondingEntry:
    creation_height: int
    completion_time: int
    initial_balance: int


@dataclass
class FakeDelegation:
    validator: str


@dataclass
class FakeParams:
    max_entries: int = 7


@dataclass
class FakeStaking:
    """A scripted staking module view (``StakingReader``)."""

    params: FakeParams = field(default_factory=FakeParams)
    delegations: dict[tuple[str, str], int] = field(default_factory=dict)
    unbonding: dict[tuple[str, str], list[FakeUnbondingEntry]] = field(default_factory=dict)
    redelegations: dict[tuple[str, str, str], list[FakeUnbondingEntry]] = field(
        default_factory=dict
    )

    def delegation_value(self, delegator: str, validator: str) -> int:
        return self.delegations.get((delegator, validator), 0)

    def delegations_of(self, delegator: str) -> tuple[FakeDelegation, ...]:
        return tuple(
            FakeDelegation(v) for (d, v), amount in self.delegations.items() if d == delegator
        )

    def unbonding_entries(self, delegator: str, validator: str) -> tuple[FakeUnbondingEntry, ...]:
        return tuple(self.unbonding.get((delegator, validator), ()))

    def redelegations_from(
        self, delegator: str, src_validator: str
    ) -> tuple[tuple[str, tuple[FakeUnbondingEntry, ...]], ...]:
        return tuple(
            (dst, tuple(entries))
            for (d, src, dst), entries in sorted(self.redelegations.items())
            if d == delegator and src == src_validator
        )


@dataclass
class FakeQuerier:
    """Answers smart queries from a table (or from registered contract cores)."""

    answers: dict[tuple[str, str], Any] = field(default_factory=dict)
    contracts: dict[str, Contract] = field(default_factory=dict)
    balances: dict[tuple[str, str], int] = field(default_factory=dict)
    staking: FakeStaking = field(default_factory=FakeStaking)
    env: Env | None = None

    def balance(self, address: str, denom: str) -> int:
        return self.balances.get((address, denom), 0)

    def smart(self, contract_addr: str, msg: Any) -> Any:
        if contract_addr in self.contracts:
            assert self.env is not None
            return self.contracts[contract_addr].query(self.env, msg)
        answer = self.answers.get((contract_addr, msg.type_name))
        if answer is None:
            raise UnsupportedMessage("query", contract_addr)
        if isinstance(answer, ChainError):
            raise answer
        return answer

    def bonded_denom(self) -> str:
        return DENOM

    def custom(self, module: str, msg: Any) -> Any:
        raise UnsupportedMessage("custom", module)

    def module(self, name: str) -> Any:
        assert name == "staking"
        return self.staking


def env(contract: str, *, height: int = 100, time_s: int = 1_700_000_000) -> Env:
    return Env(
        block=BlockEnv(chain_id="provider", height=height, time_s=time_s),
        contract_address=contract,
    )


def info(sender: str, *coins: int | Coin) -> MessageInfo:
    funds = tuple(c if isinstance(c, Coin) else Coin(denom=DENOM, amount=c) for c in coins)
    return MessageInfo(sender=sender, funds=funds)


def coin(amount: int, denom: str = DENOM) -> Coin:
    return Coin(denom=denom, amount=amount)


def make(cls: type[T], store: Store, address: str, querier: FakeQuerier) -> T:
    return cls(Deps(ContractStorage(store, address), querier, lambda a: a, "provider"))


def rejects(store: Store, call: Any, expected: ChainError) -> None:
    """``call()`` raises exactly ``expected`` and leaves ``store`` unchanged (P-5, P-6).

    The state is compared right after the call, before anything could roll it back: a core
    that writes and then raises is caught here (the host would undo the write, but a core
    must not rely on that to keep its own answer consistent)."""
    import pytest

    before = store.snapshot()
    with pytest.raises(type(expected)) as caught:
        call()
    assert caught.value == expected
    assert store.snapshot() == before
