"""Two chains with IBC modules driven synchronously, without an event loop.

`Side` is one chain's `TxExecutor` with an `IbcModule` and the test app registered; `Link`
is a synchronous relayer between two sides that uses the same queries and the same planner
(`plan_path`) as the relayer actor, one step at a time, so tests can stop between steps.

Sides verify nothing by default (``IbcConfig(verify_proofs=False)``): the layer tests here
hand-craft operations without proofs to reach each ICS-04 rule; the verifying light client and
the proofs have their own tests (``tests/chains/trust/test_ibc_*.py``), which pass a verifying
config.
"""

from __future__ import annotations

from typing import Any

from chains import ChainConfig, Coin, GenesisAccount, TxResult
from chains.contract import IbcOrder, derive_address
from chains.host import TxExecutor
from chains.ibc import (
    ChanOpenInit,
    ConnOpenAck,
    ConnOpenConfirm,
    ConnOpenInit,
    ConnOpenTry,
    CreateClient,
    IbcConfig,
    IbcHeader,
    IbcModule,
    MembershipProof,
    OpResult,
    PathSide,
    QueryRelayState,
    RelayPlan,
    RelayState,
    UpdateClient,
    connection_key,
    destination_keys,
    plan_path,
)
from chains.testing import IbcAppInit, IbcAppQuery, IbcAppState, IbcTestApp

BLOCK_SECONDS = 5


class Side:
    """One chain: executor in an open block, IBC module, test app code registered."""

    def __init__(self, chain_id: str, prefix: str, config: IbcConfig | None = None) -> None:
        self.admin = derive_address(prefix, "admin")
        chain_config = ChainConfig(
            chain_id=chain_id,
            prefix=prefix,
            accounts=(
                GenesisAccount(address=self.admin, coins=(Coin(denom="stake", amount=10**9),)),
            ),
        )
        self.ex = TxExecutor(chain_config)
        self.ex.register_code(IbcTestApp)
        self.ibc = IbcModule(self.ex, config or IbcConfig(verify_proofs=False))
        self.ex.add_module(self.ibc)
        self.ex.begin_block(chain_config.first_block_time)
        self.chain_id = chain_id

    def next_block(self, count: int = 1, seconds: int = BLOCK_SECONDS) -> None:
        for _ in range(count):
            self.ex.end_block()
            self.ex.begin_block(self.ex.time_s + seconds)

    def header(self) -> IbcHeader:
        header = self.ibc.committed_header()
        assert header is not None, "no committed block yet"
        return header

    def connection_proof(self, connection_id: str) -> MembershipProof | None:
        """The committed connection end's proof, when this chain proves (else None)."""
        if not self.ibc.config.verify_proofs:
            return None
        return self.ibc.provable.prove_key(connection_key(connection_id))

    def run(self, *ops: Any) -> tuple[OpResult, ...]:
        result = self.ex.run(lambda: self.ibc.run_ops(ops))
        assert result.ok, result.error
        data: tuple[OpResult, ...] = result.data
        return data

    def run_tx(self, *ops: Any) -> TxResult:
        return self.ex.run(lambda: self.ibc.run_ops(ops))

    def deploy_app(self, **init: Any) -> str:
        result = self.ex.instantiate(self.admin, IbcTestApp.code, IbcAppInit(**init))
        address: str = result.unwrap()
        return address

    def app(self, address: str) -> IbcAppState:
        state: IbcAppState = self.ex.query(address, IbcAppQuery())
        return state

    def execute(self, address: str, msg: Any) -> TxResult:
        return self.ex.execute(self.admin, address, msg)

    def relay_state(self, connection_id: str, keys: tuple[Any, ...] = ()) -> RelayState:
        return self.ibc.relay_state(QueryRelayState(connection_id=connection_id, keys=keys))


def port(address: str) -> str:
    return f"wasm.{address}"


class Link:
    """A synchronous relayer between ``a`` and ``b`` (clients and connection made at once)."""

    def __init__(self, a: Side, b: Side) -> None:
        self.a, self.b = a, b
        a.next_block()
        b.next_block()
        (ra,) = a.run(CreateClient(header=b.header()))
        (rb,) = b.run(CreateClient(header=a.header()))
        a_client, b_client = ra.value, rb.value
        (init,) = a.run(ConnOpenInit(client_id=a_client, counterparty_client_id=b_client))
        a_conn = init.value
        a.next_block()
        view = a.ibc.state.connections[a_conn].view_at(a.header().height)
        assert view is not None
        b.run(UpdateClient(client_id=b_client, header=a.header()))
        (tried,) = b.run(
            ConnOpenTry(
                client_id=b_client,
                proof_height=a.header().height,
                counterparty=view,
                proof=a.connection_proof(a_conn),
            )
        )
        b_conn = tried.value
        b.next_block()
        b_view = b.ibc.state.connections[b_conn].view_at(b.header().height)
        assert b_view is not None
        a.run(UpdateClient(client_id=a_client, header=b.header()))
        (acked,) = a.run(
            ConnOpenAck(
                connection_id=a_conn,
                proof_height=b.header().height,
                counterparty=b_view,
                proof=b.connection_proof(b_conn),
            )
        )
        assert acked.status == "ok", acked
        a.next_block()
        a_view = a.ibc.state.connections[a_conn].view_at(a.header().height)
        assert a_view is not None
        b.run(UpdateClient(client_id=b_client, header=a.header()))
        (confirmed,) = b.run(
            ConnOpenConfirm(
                connection_id=b_conn,
                proof_height=a.header().height,
                counterparty=a_view,
                proof=a.connection_proof(a_conn),
            )
        )
        assert confirmed.status == "ok", confirmed
        self.a_side = PathSide(a.chain_id, a_client, a_conn)
        self.b_side = PathSide(b.chain_id, b_client, b_conn)
        self.sides = {a.chain_id: a, b.chain_id: b}
        self.path_sides = {a.chain_id: self.a_side, b.chain_id: self.b_side}
        self.history: list[tuple[str, str, tuple[OpResult, ...]]] = []

    def plan(self, **kwargs: Any) -> RelayPlan:
        a, b = self.a, self.b
        a_pending = a.relay_state(self.a_side.connection_id)
        b_pending = b.relay_state(self.b_side.connection_id)
        a_status = a.relay_state(self.a_side.connection_id, destination_keys(b_pending))
        b_status = b.relay_state(self.b_side.connection_id, destination_keys(a_pending))
        return plan_path(
            self.a_side, a_pending, a_status, self.b_side, b_pending, b_status, **kwargs
        )

    def execute(
        self, plan: RelayPlan, max_ops: int = 1000
    ) -> list[tuple[str, str, tuple[OpResult, ...]]]:
        done = []
        for chain_id, actor, ops in plan.batches(self.path_sides, max_ops):
            results = self.sides[chain_id].run(*ops)
            done.append((chain_id, actor, results))
        self.history.extend(done)
        return done

    def step(self, **kwargs: Any) -> list[tuple[str, str, tuple[OpResult, ...]]]:
        """One relay round, then a block on both chains (so its effects become provable)."""
        done = self.execute(self.plan(**kwargs))
        self.a.next_block()
        self.b.next_block()
        return done

    def settle(self, rounds: int = 10, **kwargs: Any) -> None:
        """Relay until nothing is left to do (or ``rounds`` run out)."""
        for _ in range(rounds):
            plan = self.plan(**kwargs)
            if not plan:
                return
            self.execute(plan)
            self.a.next_block()
            self.b.next_block()

    def open_channel(
        self,
        a_app: str,
        b_app: str,
        ordering: IbcOrder = IbcOrder.UNORDERED,
        version: str = "",
    ) -> tuple[str, str]:
        (init,) = self.a.run(
            ChanOpenInit(
                port_id=port(a_app),
                connection_id=self.a_side.connection_id,
                counterparty_port_id=port(b_app),
                ordering=ordering,
                version=version,
            )
        )
        assert init.status == "ok", init
        self.a.next_block()
        self.settle()
        a_channel = init.value
        end = self.a.ibc.channel_end(a_channel)
        assert end is not None
        return a_channel, end.counterparty_channel_id
