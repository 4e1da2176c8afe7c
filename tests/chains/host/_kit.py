"""Helpers for the chain-host tests: a small chain config, an executor with test contracts."""

from __future__ import annotations

from chains import ChainConfig, Coin, GenesisAccount, GenesisValidator
from chains.host import TxExecutor, account_key
from chains.testing import (
    CascadeContract,
    CascadeInit,
    EchoContract,
    FakeIbcModule,
    RecordingModule,
)

PREFIX = "stars"
DENOM = "stake"
CHAIN_ID = "stargaze-1"
# named accounts' addresses are their keys' (issue 13), as ``ChainConfig.address`` gives them
ALICE = account_key("alice").address(PREFIX)
BOB = account_key("bob").address(PREFIX)
SINK = account_key("sink").address(PREFIX)


def make_config(**overrides: object) -> ChainConfig:
    """The test chain: alice holds 10**12 stake, two validators of 46 and 10 stake-units."""
    values: dict[str, object] = {
        "chain_id": CHAIN_ID,
        "prefix": PREFIX,
        "bond_denom": DENOM,
        "block_time": 5.0,
        "accounts": (GenesisAccount(address=ALICE, coins=(Coin(denom=DENOM, amount=10**12),)),),
        "validators": (
            GenesisValidator(name="val-a", self_bond=46_000_000),
            GenesisValidator(name="val-b", self_bond=10_000_000),
        ),
    }
    values.update(overrides)
    return ChainConfig.model_validate(values)


class HostKit:
    """An executor in block 1 with the test codes, a recorder and a fake IBC module."""

    def __init__(self, config: ChainConfig | None = None, *, contracts: int = 3) -> None:
        self.config = config or make_config()
        self.ex = TxExecutor(self.config)
        self.ex.register_code(CascadeContract)
        self.ex.register_code(EchoContract)
        self.recorder = RecordingModule(self.ex.store)
        self.ibc = FakeIbcModule(self.ex.store)
        self.ex.add_module(self.recorder)
        self.ex.add_module(self.ibc)
        self.ex.begin_block(self.config.first_block_time)
        self.contracts: list[str] = []
        for _ in range(contracts):
            self.contracts.append(self.deploy())

    def deploy(self, funds: int = 50) -> str:
        result = self.ex.instantiate(
            ALICE, "test.cascade", CascadeInit(denom=DENOM), (Coin(denom=DENOM, amount=funds),)
        )
        address: str = result.unwrap()
        return address

    def balance(self, address: str) -> int:
        return self.ex.bank.balance(address, DENOM)

    def log(self, address: str) -> tuple[tuple[object, ...], ...]:
        data = self.ex.contract_state(address).get("log", {})
        return tuple(entry for _, entry in sorted(data.items()))

    def next_block(self) -> None:
        self.ex.end_block()
        self.ex.begin_block(self.ex.time_s + 5)
