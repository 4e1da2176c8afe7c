"""Contract actors: the addressable endpoint of each deployed contract.

Every contract a chain deploys gets an actor, a child of the chain's host named by the
contract's address (``<system>/<chain_id>/<address>``), which users and other systems talk
to with typed messages. It does not run the contract: an `ExecuteContract` is forwarded to
the host as a transaction (the chain is serial, ARCHITECTURE rule 2) and answered with its
`TxResult`; a `QueryContract` is answered directly from the contract's committed state,
read-only (P-4). Reading from this actor's task is safe because units run synchronously in
the host's task: no other task can ever observe a unit half-done.
"""

from __future__ import annotations

from typing import Any

from chains.contract._coin import Coin
from chains.contract._errors import ChainError, Unauthorized
from chains.host._executor import TxExecutor
from chains.host._msgs import ExecuteTx, HostMsg
from chains.host._tx_result import QueryResult, RemoteTxResult, TxResult
from mesh_actors import Actor, ActorRef, Message, handler

__all__ = ["ContractActor", "ContractMsg", "ExecuteContract", "QueryContract"]


class ExecuteContract(Message):
    """Execute this contract as ``sender`` with ``msg`` and ``funds``; answered `TxResult`."""

    type_name = "chains.contract.execute"
    sender: str
    msg: Any
    funds: tuple[Coin, ...] = ()


class QueryContract(Message):
    """Query this contract; answered with a `QueryResult`."""

    type_name = "chains.contract.query"
    msg: Any


ContractMsg = ExecuteContract | QueryContract


class ContractActor(Actor[ContractMsg]):
    """The endpoint of the contract at ``address`` (see the module docstring)."""

    def __init__(self, address: str, host: ActorRef[HostMsg], executor: TxExecutor) -> None:
        self.address = address
        self._host = host
        self._executor = executor

    @handler
    async def on_execute(self, msg: ExecuteContract) -> TxResult | RemoteTxResult:
        """Forward to the host as a transaction; on cancellation the ask is abandoned (the
        transaction may still run). From another actor system it is refused with
        `Unauthorized` (unsigned; send the host a `SignedTx`)."""
        if self.ctx.remote:
            ex = self._executor
            refused = TxResult(
                False, None, Unauthorized(), (), (), ex.height, ex.time_s, ex.tx_index
            )
            return RemoteTxResult.of(refused)
        tx = ExecuteTx(sender=msg.sender, contract=self.address, msg=msg.msg, funds=msg.funds)
        return await self._host.ask(tx, expect=TxResult)

    @handler
    def on_query(self, msg: QueryContract) -> QueryResult:
        """Run the contract's query on committed state; errors come back as values."""
        try:
            value = self._executor.query_contract(self.address, msg.msg)
        except ChainError as exc:
            return QueryResult(ok=False, error=exc)
        return QueryResult(ok=True, value=value)
