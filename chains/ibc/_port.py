"""Ports (ibc-go's 05-port): which application a channel end belongs to, and the calls into it.

A contract's port is ``wasm.<address>``; a module port name (``icqhost``, ``oracle``...) can
be bound to a contract (I-3). The application callbacks of the channel and packet layers
(``ibc_channel_open`` ... ``ibc_packet_timeout``) are entry points of the contract behind the
port, run through the executor's ``call_contract`` (which undoes a failing callback's
changes and raises its error).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chains.ibc._errors import IbcUnboundPort
from chains.ibc._state import IbcStore

if TYPE_CHECKING:
    from chains.contract._contract import Contract, Env
    from chains.host._executor import TxExecutor

__all__: list[str] = []

_WASM_PREFIX = "wasm."
_WASM_PREFIX_LEN = len(_WASM_PREFIX)


class Ports:
    """The port layer of one chain's IBC module: port bindings and application callbacks.

    Shares the module's `IbcStore` and executor; everything runs *in a unit* of that
    executor.
    """

    def __init__(self, executor: TxExecutor, state: IbcStore) -> None:
        self._executor = executor
        self._state = state

    def bind_port(self, port_id: str, contract: str) -> None:
        """Bind a module port name to ``contract`` (I-3); raises `IbcUnboundPort` if there is
        no such contract."""
        if self._executor.contract_info(contract) is None:
            raise IbcUnboundPort(port_id)
        self._state.ports[port_id] = contract

    def port_contract(self, port_id: str) -> str:
        """The contract behind ``port_id``; raises `IbcUnboundPort`."""
        bound = self._state.ports.get(port_id)
        if bound is not None:
            return bound
        if port_id.startswith(_WASM_PREFIX):
            address = port_id[_WASM_PREFIX_LEN:]
            if self._executor.contract_info(address) is not None:
                return address
        raise IbcUnboundPort(port_id)

    def port_owner(self, port_id: str) -> str | None:
        """The address that owns ``port_id`` by its name or binding (existing or not), or
        ``None`` for an unbound module port."""
        bound = self._state.ports.get(port_id)
        if bound is not None:
            return bound
        return port_id[_WASM_PREFIX_LEN:] if port_id.startswith(_WASM_PREFIX) else None

    def callback(
        self, port_id: str, entry_point: str, invoke: Callable[[Contract, Env], Any]
    ) -> Any:
        """Run ``invoke(core, env)`` as ``entry_point`` of the contract behind ``port_id``;
        return its response.

        Raises `IbcUnboundPort`, or what the callback (or a message it returns) raises,
        with its changes undone.
        """
        contract = self.port_contract(port_id)
        response, _ = self._executor.call_contract(contract, entry_point, invoke)
        return response
