"""Modules are written against `ModuleHost`, not the executor: a scripted host is enough to
drive one (here the provider module's governance message, P-51)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest

from chains import Unauthorized
from chains.contract import (
    BlockEnv,
    ChainError,
    Event,
    Store,
    UnsupportedMessage,
    derive_address,
)
from chains.host import ContractNotFound
from chains.modules import Bank, ModuleCall, ModuleHost, StakingModule
from chains.provider import NativeStakingAddressQuery, ProviderModule, SetNativeStaking

T = TypeVar("T")
PREFIX = "osmo"
GOV = derive_address(PREFIX, "module/gov")
NATIVE = derive_address(PREFIX, "contract/native", length=32)


@dataclass(frozen=True)
class _Record:
    address: str
    code: str


class ScriptedHost:
    """A `ModuleHost` with one known contract and a log of what the module asked for."""

    def __init__(self) -> None:
        self.store = Store()
        self.staking = StakingModule(self.store, Bank(self.store), account_prefix=PREFIX)
        self.gov_address = GOV
        self.emitted: list[tuple[str, Event]] = []

    def contract_info(self, address: str) -> _Record | None:
        return _Record(address, "native-staking") if address == NATIVE else None

    def query_contract(self, address: str, msg: Any) -> Any:
        raise AssertionError("not used by these tests")

    def sudo_contract(self, contract: str, msg: Any) -> Any:
        raise AssertionError("not used by these tests")

    def attempt(self, body: Callable[..., T], *args: Any) -> tuple[T | None, ChainError | None]:
        try:
            return body(*args), None
        except ChainError as exc:
            return None, exc

    def emit(self, source: str, event: Event) -> None:
        self.emitted.append((source, event))


def _call(sender: str) -> ModuleCall:
    return ModuleCall(block=BlockEnv(chain_id="osmo-1", height=2, time_s=10), sender=sender)


def test_the_provider_module_runs_on_any_module_host_P_51() -> None:
    host: ModuleHost = ScriptedHost()  # mypy checks the scripted host against the protocol
    module = ProviderModule(host)
    block = _call(GOV).block
    assert module.query(block, NativeStakingAddressQuery()) is None
    with pytest.raises(Unauthorized):
        module.handle(_call(NATIVE), SetNativeStaking(contract=NATIVE))
    with pytest.raises(ContractNotFound):
        module.handle(_call(GOV), SetNativeStaking(contract=GOV))
    response = module.handle(_call(GOV), SetNativeStaking(contract=NATIVE))
    assert response.events[0].get("contract") == NATIVE
    assert module.query(block, NativeStakingAddressQuery()) == NATIVE
    with pytest.raises(UnsupportedMessage):
        module.handle(_call(GOV), NativeStakingAddressQuery())
