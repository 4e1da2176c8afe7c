"""Reading a chain: contract and module queries (read-only, P-4, C-7), the contract
registry, and canonical state dumps."""

from __future__ import annotations

from typing import Any

from chains.contract._errors import ChainError
from chains.host._cascade import MessageCascade
from chains.host._chain_state import ContractInfo
from chains.host._errors import (
    ContractNotFound,
    ContractPanic,
    ModulePanic,
    UnknownModule,
    panic_detail,
)
from chains.host._querier import run_read_only

__all__: list[str] = []  # a part of `TxExecutor`, not offered on its own


class ChainQueries(MessageCascade):
    """The queries of a `TxExecutor` (see the module docstring). Every read runs read-only:
    a write raises `QueryWrite` after being rolled back."""

    def query_contract(self, address: str, msg: Any) -> Any:
        """A contract's ``query`` entry point on current state, read-only (P-4).

        Raises `ContractNotFound`, `QueryWrite`, `ContractPanic` or the contract's error.
        """
        core = self._core(address)
        env = self._env(address)

        def read() -> Any:
            try:
                return core.query(env, msg)
            except ChainError:
                raise
            except Exception as exc:
                raise ContractPanic(address, "query", panic_detail(exc)) from exc

        return run_read_only(self._store, address, read)

    def query(self, address: str, msg: Any) -> Any:
        """Alias of `query_contract` for embedders."""
        return self.query_contract(address, msg)

    def query_module(self, name: str, msg: Any) -> Any:
        """A plugged-in module's custom query, read-only (C-11).

        Raises `UnknownModule`, `QueryWrite`, `ModulePanic` or the module's error.
        """
        module = self._modules.get(name)
        if module is None:
            raise UnknownModule(name)
        block = self.block_env

        def read() -> Any:
            try:
                return module.query(block, msg)
            except ChainError:
                raise
            except Exception as exc:
                raise ModulePanic(name, panic_detail(exc)) from exc

        return run_read_only(self._store, f"module:{name}", read)

    def contract_info(self, address: str) -> ContractInfo | None:
        """The registry record of a contract, or ``None``."""
        return self._contracts.get(address)

    def contracts(self) -> tuple[ContractInfo, ...]:
        """Every deployed contract, by address."""
        return tuple(info for _, info in self._contracts.raw_items())

    def contract_state(self, address: str) -> dict[str, dict[Any, Any]]:
        """A contract's raw storage: container name → contents (empty containers omitted).

        Raises `ContractNotFound`.
        """
        if address not in self._contracts:
            raise ContractNotFound(address)
        self._core(address)
        storage = self._storages[address]
        return {name: data for name, data in storage.dump().items() if data}

    def dump_state(self) -> bytes:
        """A canonical dump of the whole chain state (block, every non-empty map, sorted).

        Two executors given the same config and the same inputs produce byte-identical
        dumps (the determinism the tests check). Costs O(state): for tests and debugging.
        """
        lines = [f"chain {self.chain_id} height {self._height} time {self._time}"]
        for name, data in sorted(self._store.snapshot().items()):
            if not data:
                continue
            lines.append(f"[{name}]")
            for key, value in sorted(data.items(), key=lambda item: repr(item[0])):
                lines.append(f"{key!r} = {value!r}")
        return "\n".join(lines).encode()
