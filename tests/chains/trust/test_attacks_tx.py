"""Issue 13's transaction attacks, each from another actor system over the in-memory network
with the JSON codec forced (ARCHITECTURE rule 3: nothing that crosses a transport is trusted).

The chain runs in system ``node``; mallory's system ``mallory`` reaches its host only by
address, through the codec. Every attack is refused with a named error and leaves the
chain's state as it was (``dump_state`` before and after). provider.md P-5 (only the
authorised caller), consumer.md C-8 (a failed transaction commits nothing).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chains import Chain, ChainConfig, Coin, GenesisAccount, GenesisValidator
from chains.contract import BankSend, CustomMsg, KeyPair, SignedTx
from chains.host import (
    ExecuteTx,
    GovSudoTx,
    ProduceBlocks,
    RemoteTxResult,
    RunUnit,
    SubmitTx,
    TxExecutor,
    signed_host_tx,
)
from chains.modules import Mint
from mesh_actors import ActorRef, ActorSystem, MessageRegistry, VirtualClock
from transport import (
    InMemoryNetwork,
    JsonCodec,
    MalformedFrame,
    UnencodableMessage,
    UnknownMessageType,
)

pytestmark = pytest.mark.anyio

PREFIX = "stars"
DENOM = "stake"
CHAIN_ID = "stargaze-1"
ALICE_FUNDS = 10**12
MALLORY_FUNDS = 1_000


def _config() -> ChainConfig:
    alice = Chain.signer_address_of("alice", PREFIX)
    mallory = Chain.signer_address_of("mallory", PREFIX)
    return ChainConfig(
        chain_id=CHAIN_ID,
        prefix=PREFIX,
        bond_denom=DENOM,
        block_time=5.0,
        accounts=(
            GenesisAccount(address=alice, coins=(Coin(denom=DENOM, amount=ALICE_FUNDS),)),
            GenesisAccount(address=mallory, coins=(Coin(denom=DENOM, amount=MALLORY_FUNDS),)),
        ),
        validators=(GenesisValidator(name="val-a", self_bond=46_000_000),),
    )


@dataclass
class World:
    chain: Chain
    mallory: ActorSystem
    clock: VirtualClock

    @property
    def host(self) -> ActorRef[Any]:
        """The chain's host as mallory sees it: an address in another system."""
        return self.mallory.ref(f"node/{CHAIN_ID}")

    @property
    def alice(self) -> str:
        return self.chain.signer_address("alice")

    @property
    def mallory_address(self) -> str:
        return self.chain.signer_address("mallory")

    async def attack(self, msg: Any) -> RemoteTxResult:
        """Send ``msg`` from mallory's system and return the host's answer."""
        answer = await self.host.ask(msg, timeout=30)
        assert isinstance(answer, RemoteTxResult)
        return answer

    def signed(self, signer: str, tx: Any, *, sequence: int | None = None) -> SignedTx:
        """``tx`` signed by ``signer``'s key outside the chain handle (mallory's tooling)."""
        key = self.chain.key(signer)
        address = key.address(PREFIX)
        seq = self.chain.sequence(address) if sequence is None else sequence
        return signed_for(key, tx, sequence=seq)

    def send(self, to: str, amount: int) -> BankSend:
        return BankSend(to_address=to, amount=(Coin(denom=DENOM, amount=amount),))


def signed_for(key: KeyPair, tx: Any, *, sequence: int, chain_id: str = CHAIN_ID) -> SignedTx:
    return signed_host_tx(key, prefix=PREFIX, chain_id=chain_id, sequence=sequence, tx=tx)


@asynccontextmanager
async def world() -> AsyncIterator[World]:
    clock = VirtualClock()
    # the codec every frame goes through: the registry of every message class defined
    net = InMemoryNetwork(force_codec=True)
    async with (
        clock.autojump(),
        net,
        ActorSystem("node", clock=clock, transport=net) as node,
        ActorSystem("mallory", clock=clock, transport=net) as mallory,
        Chain(_config(), node) as chain,
    ):
        yield World(chain, mallory, clock)


async def _refused(w: World, msg: Any, error: str) -> RemoteTxResult:
    before = await w.chain.dump_state()
    answer = await w.attack(msg)
    assert not answer.ok and answer.error == error, answer
    assert await w.chain.dump_state() == before
    return answer


async def test_unsigned_transfer_in_alices_name_is_refused() -> None:
    async with world() as w:
        attack = SubmitTx(sender=w.alice, msg=w.send(w.mallory_address, ALICE_FUNDS))
        await _refused(w, attack, "Unauthorized")
        assert await w.chain.balance(w.alice, DENOM) == ALICE_FUNDS


async def test_transfer_in_alices_name_signed_by_mallory_is_refused() -> None:
    async with world() as w:
        steal = SubmitTx(sender=w.alice, msg=w.send(w.mallory_address, ALICE_FUNDS))
        await _refused(w, w.signed("mallory", steal), "Unauthorized")
        # mallory's key with alice's sender on the envelope: the key is not alice's
        forged = w.signed("mallory", w.send(w.mallory_address, 1)).model_copy(
            update={"sender": w.alice}
        )
        await _refused(w, forged, "Unauthorized")
        assert await w.chain.balance(w.alice, DENOM) == ALICE_FUNDS


async def test_signed_transfer_runs_once_and_its_replay_is_refused() -> None:
    async with world() as w:
        tx = w.signed("alice", w.send(w.mallory_address, 10))
        assert (await w.attack(tx)).ok
        assert await w.chain.balance(w.mallory_address, DENOM) == MALLORY_FUNDS + 10
        answer = await _refused(w, tx, "SequenceMismatch")
        assert "1" in answer.detail
        assert await w.chain.balance(w.mallory_address, DENOM) == MALLORY_FUNDS + 10


async def test_transaction_signed_for_another_chain_is_refused() -> None:
    async with world() as w:
        key = w.chain.key("alice")
        tx = signed_for(key, w.send(w.mallory_address, 10), sequence=0, chain_id="osmosis-1")
        await _refused(w, tx, "WrongChain")


async def test_failed_signed_transaction_still_uses_its_sequence() -> None:
    # authentication runs outside the unit's savepoint: a failing body cannot be replayed
    async with world() as w:
        too_much = w.signed("mallory", w.send(w.alice, MALLORY_FUNDS + 1))
        answer = await w.attack(too_much)
        assert not answer.ok and answer.error == "InsufficientFunds", answer
        assert w.chain.sequence(w.mallory_address) == 1
        await _refused(w, too_much, "SequenceMismatch")


async def test_governance_messages_from_a_user_are_refused() -> None:
    async with world() as w:
        gov = w.chain.gov_address
        cap = CustomMsg(module="mesh", msg={"set_max_cap": {"cap": 10**15}})
        # unsigned in the gov account's name
        await _refused(w, SubmitTx(sender=gov, msg=cap), "Unauthorized")
        # a user's signature on a governance sudo
        sudo = GovSudoTx(authority=gov, contract=w.alice, msg={"max_cap": 1})
        await _refused(w, w.signed("mallory", sudo), "Unauthorized")


async def test_mint_by_a_user_is_refused() -> None:
    async with world() as w:
        mint = Mint(to_address=w.mallory_address, amount=(Coin(denom=DENOM, amount=10**15),))
        supply = await w.chain.supply(DENOM)
        answer = await w.attack(w.signed("mallory", mint))
        assert not answer.ok and answer.error == "Unauthorized"
        assert await w.chain.supply(DENOM) == supply
        # and locally too: the check is the chain's, not the transport's
        local = await w.chain.submit(w.mallory_address, mint)
        assert not local.ok and type(local.error).__name__ == "Unauthorized"
        assert await w.chain.supply(DENOM) == supply


async def test_contract_execution_in_the_deployers_name_is_refused() -> None:
    # issue 13: ExecuteTx(sender=<deployer>, CloseControlChannel()) closed the channel
    async with world() as w:
        deployer = w.chain.signer_address("deployer")
        execute = ExecuteTx(sender=deployer, contract=w.alice, msg=CustomMsg(module="x", msg=1))
        await _refused(w, execute, "Unauthorized")
        await _refused(w, w.signed("mallory", execute), "Unauthorized")


async def test_remote_block_production_does_nothing() -> None:
    async with world() as w:
        height = await w.chain.height()
        # the answer is the height, a plain value that crosses the wire: unchanged
        assert await w.host.ask(ProduceBlocks(count=1000), timeout=30) == height
        assert await w.chain.height() == height


async def test_run_unit_cannot_cross_the_wire() -> None:
    def mint_for_mallory(ex: TxExecutor) -> None:  # pragma: no cover - never runs
        ex.bank.mint(ex.gov_address, DENOM, 10**12)

    async with world() as w:
        before = await w.chain.dump_state()
        with pytest.raises(UnencodableMessage):
            # refused by the sending side's codec: a callable has no JSON form
            await w.host.ask(RunUnit(body=mint_for_mallory), timeout=30)
        assert await w.chain.dump_state() == before


async def test_crafted_run_unit_frame_is_refused_by_the_codec() -> None:
    codec = JsonCodec(_registry())
    frame = (
        b'{"version":1,"kind":"tell","recipient":"node/stargaze-1","sender":null,'
        b'"correlation_id":0,"type":"chains.host.run_unit","body":{"body":"os.system"}}'
    )
    with pytest.raises((MalformedFrame, UnknownMessageType)):
        codec.decode(frame)


def _registry() -> MessageRegistry:
    return MessageRegistry.from_subclasses()


@st.composite
def _tamperings(draw: st.DrawFn) -> tuple[str, Any]:
    field = draw(st.sampled_from(["sender", "chain_id", "sequence", "msg", "sig", "type"]))
    return field, draw(st.integers(min_value=0, max_value=10**6))


def _tamper(tx: SignedTx, field: str, n: int, other: str) -> SignedTx:
    if field == "sig":
        raw = bytearray(tx.signature)
        raw[n % len(raw)] ^= 1 << (n % 8)
        return tx.model_copy(update={"signature": bytes(raw)})
    if field == "sender":
        return tx.model_copy(update={"sender": other})
    if field == "chain_id":
        return tx.model_copy(update={"chain_id": f"{CHAIN_ID}{n}"})
    if field == "sequence":
        return tx.model_copy(update={"sequence": tx.sequence + 1 + n})
    if field == "type":
        return tx.model_copy(update={"msg_type": "chains.host.execute"})
    body = dict(tx.msg)
    inner = dict(body["msg"])
    value = dict(inner["value"])
    value["amount"] = [{"denom": DENOM, "amount": str(n + 11)}]
    inner["value"] = value
    body["msg"] = inner
    return tx.model_copy(update={"msg": body})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tampering=_tamperings())
async def test_any_tampering_is_refused_and_changes_nothing(tampering: tuple[str, int]) -> None:
    field, n = tampering
    async with world() as w:
        honest = w.signed("alice", w.send(w.mallory_address, 10))
        bad = _tamper(honest, field, n, w.mallory_address)
        before = await w.chain.dump_state()
        answer = await w.attack(bad)
        assert not answer.ok and answer.error in {
            "Unauthorized",
            "InvalidSignature",
            "SequenceMismatch",
            "WrongChain",
        }, answer
        assert await w.chain.dump_state() == before
        # the honest transaction still goes through afterwards
        assert (await w.attack(honest)).ok
