"""Issue 13: the governance authority acts through proposals.

Privileged messages (``Mint``, the max cap, parameters) are accepted only from the
governance authority. From another actor system the only way to act as it is a signed
``SubmitProposal`` that the bonded stake votes through: a passing tally (the SDK's quorum
0.334, threshold 0.5, veto 0.334) runs the proposal's messages as the authority in their own
savepoint, a failing one runs nothing, and a proposal whose message fails rolls back its
own messages only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from chains import Chain, ChainConfig, Coin, GenesisAccount, GenesisValidator, Mesh
from chains.consumer import BondStatusQuery, MsgSetVirtualStakingMaxCap
from chains.contract import BankSend, CustomMsg, SignedTx
from chains.host import (
    RemoteTxResult,
    SubmitTx,
    TxExecutor,
    account_key,
    governance_module,
    signed_host_tx,
)
from chains.mesh import conservation_violations
from chains.modules import (
    GovParams,
    GovVote,
    InsufficientDeposit,
    Mint,
    ProposalQuery,
    SubmitProposal,
    proposal_message,
)
from mesh_actors import ActorSystem, VirtualClock
from tests.mesh._topologies import SMALL, topology
from transport import InMemoryNetwork

P, C = "osmosis", "juno"

PREFIX = "stars"
DENOM = "stake"
CHAIN_ID = "stargaze-1"
PERIOD = 100


def _config() -> ChainConfig:
    def funded(name: str) -> GenesisAccount:
        address = account_key(name).address(PREFIX)
        return GenesisAccount(address=address, coins=(Coin(denom=DENOM, amount=10**9),))

    return ChainConfig(
        chain_id=CHAIN_ID,
        prefix=PREFIX,
        bond_denom=DENOM,
        block_time=5.0,
        accounts=(funded("alice"), funded("mallory")),
        validators=(
            GenesisValidator(name="val-a", self_bond=60_000_000),
            GenesisValidator(name="val-b", self_bond=40_000_000),
        ),
    )


def _gov(msg: Any) -> CustomMsg:
    return CustomMsg(module="gov", msg=msg)


def _mint(to: str, amount: int) -> Mint:
    return Mint(to_address=to, amount=(Coin(denom=DENOM, amount=amount),))


class Kit:
    """An executor in block 1 with the governance module (proposals run their messages)."""

    def __init__(self, params: GovParams | None = None) -> None:
        self.config = _config()
        self.ex = TxExecutor(self.config)
        self.ex.add_module(governance_module(self.ex, params))
        self.ex.begin_block(self.config.first_block_time)

    def address(self, name: str) -> str:
        return self.config.address(name)

    def propose(self, *msgs: Any, deposit: int = 0, by: str = "alice") -> int:
        messages = tuple(proposal_message(m) for m in msgs)
        submit = SubmitProposal(title="t", voting_period=PERIOD, messages=messages, deposit=deposit)
        proposal_id: int = self.ex.submit(self.address(by), _gov(submit)).unwrap()
        return proposal_id

    def vote(self, name: str, proposal_id: int, option: str) -> None:
        assert self.ex.submit(
            self.address(name), _gov(GovVote(proposal_id=proposal_id, option=option))
        ).ok

    def end_voting(self) -> None:
        for _ in range(PERIOD // 5 + 1):
            self.ex.end_block()
            self.ex.begin_block(self.ex.time_s + 5)

    def status(self, proposal_id: int) -> str:
        status: str = self.ex.query_module("gov", ProposalQuery(proposal_id=proposal_id)).status
        return status

    def balance(self, name: str) -> int:
        return self.ex.bank.balance(self.address(name), DENOM)


def test_operator_accounts_are_their_keys_addresses_issue_13() -> None:
    kit = Kit()
    for name in ("val-a", "val-b"):
        operator = kit.config.operator(name)
        assert kit.ex.staking.staking.account_of(operator) == account_key(name).address(PREFIX)


def test_a_passing_proposal_runs_its_messages_as_the_authority() -> None:
    kit = Kit()
    bob = kit.address("bob")
    proposal = kit.propose(_mint(bob, 5_000))
    kit.vote("val-a", proposal, "yes")  # 60% of the bonded stake
    kit.vote("val-b", proposal, "no")
    assert kit.ex.bank.balance(bob, DENOM) == 0
    kit.end_voting()
    assert kit.status(proposal) == "passed"
    assert kit.ex.bank.balance(bob, DENOM) == 5_000
    assert kit.ex.bank.minted(DENOM)["gov"] == 5_000


def test_a_proposal_without_quorum_runs_nothing() -> None:
    kit = Kit()
    bob = kit.address("bob")
    # alice's small delegation is far below a third of the bonded stake
    val_a = kit.config.operator("val-a")
    delegate = kit.ex.staking.delegate(kit.address("alice"), val_a, 1_000)
    assert delegate
    proposal = kit.propose(_mint(bob, 5_000))
    kit.vote("alice", proposal, "yes")
    kit.end_voting()
    assert kit.status(proposal) == "rejected"
    record = kit.ex.query_module("gov", ProposalQuery(proposal_id=proposal))
    assert record.failure == "no quorum" and record.final_tally.yes == 1_000
    assert kit.ex.bank.balance(bob, DENOM) == 0


def test_delegators_inherit_their_validators_vote_unless_they_vote() -> None:
    kit = Kit()
    val_b = kit.config.operator("val-b")
    kit.ex.staking.delegate(kit.address("alice"), val_b, 30_000_000)
    proposal = kit.propose(_mint(kit.address("bob"), 1))
    kit.vote("val-b", proposal, "yes")  # 70,000,000 of 130,000,000 bonded
    kit.vote("alice", proposal, "no")  # takes her 30,000,000 from val-b's vote
    kit.vote("val-a", proposal, "abstain")
    tally = kit.ex.query_module("gov", ProposalQuery(proposal_id=proposal))
    assert tally.status == "voting"
    kit.end_voting()
    record = kit.ex.query_module("gov", ProposalQuery(proposal_id=proposal))
    assert (record.final_tally.yes, record.final_tally.no) == (40_000_000, 30_000_000)
    assert record.status == "passed"  # 40 > 0.5 * (40 + 30)


def test_a_vetoed_proposal_burns_its_deposit_and_a_rejected_one_refunds_it() -> None:
    kit = Kit(GovParams(min_deposit=1_000))
    with pytest.raises(InsufficientDeposit):
        kit.propose(_mint(kit.address("bob"), 1), deposit=999)
    before = kit.balance("alice")
    vetoed = kit.propose(_mint(kit.address("bob"), 1), deposit=1_000)
    rejected = kit.propose(_mint(kit.address("bob"), 1), deposit=2_000)
    assert kit.balance("alice") == before - 3_000
    kit.vote("val-a", vetoed, "no_with_veto")
    kit.vote("val-a", rejected, "no")
    kit.end_voting()
    assert (kit.status(vetoed), kit.status(rejected)) == ("rejected", "rejected")
    assert kit.balance("alice") == before - 1_000
    assert kit.ex.bank.burned(DENOM)["gov"] == 1_000
    assert conservation_violations(kit.ex) == []  # a vetoed deposit's burn is the protocol's
    assert kit.ex.bank.balance(kit.address("bob"), DENOM) == 0


def test_a_failing_message_rolls_back_only_its_own_proposal() -> None:
    kit = Kit()
    bob, carol = kit.address("bob"), kit.address("carol")
    # the mint succeeds, then the send fails (the authority holds nothing): both undone
    broken = kit.propose(
        _mint(bob, 5_000),
        BankSend(to_address=bob, amount=(Coin(denom=DENOM, amount=10**15),)),
    )
    fine = kit.propose(_mint(carol, 7))
    for proposal in (broken, fine):
        kit.vote("val-a", proposal, "yes")
    kit.end_voting()
    assert kit.status(broken) == "failed"
    assert (
        "InsufficientFunds" in kit.ex.query_module("gov", ProposalQuery(proposal_id=broken)).failure
    )
    assert kit.ex.bank.balance(bob, DENOM) == 0
    assert kit.status(fine) == "passed" and kit.ex.bank.balance(carol, DENOM) == 7


_OPTIONS = ("none", "yes", "no", "abstain", "no_with_veto")


def _sdk_verdict(votes: dict[str, int], bonded: int) -> bool:
    """x/gov's rules, written out: quorum of the bonded tokens, then not all abstaining,
    veto above 1/3 of the turnout, yes above half of the non-abstaining turnout."""
    turnout = sum(votes.values())
    if turnout * 1000 < 334 * bonded or turnout == votes.get("abstain", 0):
        return False
    if votes.get("no_with_veto", 0) * 1000 > 334 * turnout:
        return False
    return votes.get("yes", 0) * 2 > turnout - votes.get("abstain", 0)


@pytest.mark.parametrize("a", _OPTIONS)
@pytest.mark.parametrize("b", _OPTIONS)
def test_the_verdict_follows_the_sdk_rules(a: str, b: str) -> None:
    """val-a (60% of the bonded stake) votes ``a``, val-b (40%) votes ``b``."""
    kit = Kit()
    proposal = kit.propose(_mint(kit.address("bob"), 1))
    votes: dict[str, int] = {}
    for name, option, power in (("val-a", a, 60), ("val-b", b, 40)):
        if option != "none":
            kit.vote(name, proposal, option)
            votes[option] = votes.get(option, 0) + power
    kit.end_voting()
    expected = "passed" if _sdk_verdict(votes, 100) else "rejected"
    assert kit.status(proposal) == expected
    assert kit.ex.bank.balance(kit.address("bob"), DENOM) == (1 if expected == "passed" else 0)


# -- from another actor system ----------------------------------------------------------------


@dataclass
class World:
    chain: Chain
    mallory: ActorSystem

    async def remote(self, msg: Any) -> RemoteTxResult:
        answer = await self.mallory.ref(f"node/{CHAIN_ID}").ask(msg, timeout=30)
        assert isinstance(answer, RemoteTxResult)
        return answer

    def signed(self, name: str, tx: Any) -> SignedTx:
        key = account_key(name)
        sequence = self.chain.sequence(key.address(PREFIX))
        return signed_host_tx(key, prefix=PREFIX, chain_id=CHAIN_ID, sequence=sequence, tx=tx)


@asynccontextmanager
async def world() -> AsyncIterator[World]:
    clock = VirtualClock()
    net = InMemoryNetwork(force_codec=True)
    async with (
        clock.autojump(),
        net,
        ActorSystem("node", clock=clock, transport=net) as node,
        ActorSystem("mallory", clock=clock, transport=net) as mallory,
        Chain(_config(), node) as chain,
    ):
        await chain.add_module(governance_module)
        yield World(chain, mallory)


@pytest.mark.anyio
async def test_remote_gov_messages_are_refused_but_a_voted_proposal_runs_issue_13() -> None:
    async with world() as w:
        chain = w.chain
        gov = chain.gov_address
        mallory = chain.address("mallory")
        mint = _mint(mallory, 10**15)
        supply = await chain.supply(DENOM)
        # unsigned, in the authority's name
        answer = await w.remote(SubmitTx(sender=gov, msg=mint))
        assert not answer.ok and answer.error == "Unauthorized"
        # signed by mallory, in the authority's name, and in her own
        answer = await w.remote(w.signed("mallory", SubmitTx(sender=gov, msg=mint)))
        assert not answer.ok and answer.error == "Unauthorized"
        answer = await w.remote(w.signed("mallory", mint))
        assert not answer.ok and answer.error == "Unauthorized"
        assert await chain.supply(DENOM) == supply

        # the way that works: a signed proposal, voted through by the bonded stake
        submit = SubmitProposal(
            title="fund mallory",
            voting_period=PERIOD,
            messages=(proposal_message(_mint(mallory, 5)),),
        )
        answer = await w.remote(w.signed("mallory", _gov(submit)))
        assert answer.ok, answer.error
        answer = await w.remote(w.signed("val-a", _gov(GovVote(proposal_id=1, option="yes"))))
        assert answer.ok, answer.error
        before = await chain.balance(mallory, DENOM)
        await chain.produce_blocks(PERIOD // 5 + 2)
        record = await chain.query_module("gov", ProposalQuery(proposal_id=1))
        assert record.status == "passed", record
        assert await chain.balance(mallory, DENOM) == before + 5


# -- in a running mesh --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_remote_proposal_sets_the_max_cap_in_a_mesh_C_43_issue_13() -> None:
    """Juno's governance (in a `Mesh`) from another actor system: the max-cap message sent
    in the authority's name is refused; carol's signed proposal carrying it, voted by
    juno's validators, sets the cap."""
    async with Mesh(topology(SMALL), check_invariants=True) as mesh:
        juno = mesh.chain(C)
        pairing = mesh.pairing(P, C)
        cap = MsgSetVirtualStakingMaxCap(
            authority=juno.gov_address,
            contract=pairing.virtual_staking,
            max_cap=Coin(denom="ujuno", amount=123_456),
        )
        set_cap = CustomMsg(module="virtual_stake", msg=cap)

        def signed(name: str, tx: Any) -> SignedTx:
            key = mesh.key(name)
            sequence = juno.sequence(key.address("juno"))
            return signed_host_tx(key, prefix="juno", chain_id=C, sequence=sequence, tx=tx)

        async with ActorSystem("mallory", clock=juno.system.clock, transport=mesh.network) as m:
            host = m.ref(f"{C}/{C}")

            async def remote(msg: Any) -> RemoteTxResult:
                answer = await host.ask(msg, timeout=30)
                assert isinstance(answer, RemoteTxResult)
                return answer

            refused = await remote(SubmitTx(sender=juno.gov_address, msg=set_cap))
            assert not refused.ok and refused.error == "Unauthorized"
            refused = await remote(signed("carol", SubmitTx(sender=juno.gov_address, msg=set_cap)))
            assert not refused.ok and refused.error == "Unauthorized"
            submit = SubmitProposal(
                title="cap", voting_period=60, messages=(proposal_message(set_cap),)
            )
            answer = await remote(signed("carol", _gov(submit)))
            assert answer.ok, answer.error
            for validator in ("val1", "val2", "val3"):
                vote = _gov(GovVote(proposal_id=1, option="yes"))
                answer = await remote(signed(validator, vote))
                assert answer.ok, answer.error
        await mesh.advance(seconds=80)
        record = await juno.query_module("gov", ProposalQuery(proposal_id=1))
        assert record.status == "passed", record
        status = await juno.query_module(
            "virtual_stake", BondStatusQuery(contract=pairing.virtual_staking)
        )
        assert status.cap.amount == 123_456
