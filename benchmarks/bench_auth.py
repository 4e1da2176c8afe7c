"""Signed transactions: what verification costs a bank transfer (issue 13).

In one run, on each backend:

- **bare**: ``Bank.transfer`` in a loop on the bank core (no savepoint, event or result);
- **local, unverified**: a pre-built ``SubmitTx`` told to the host from its own process
  (the embedding API's path: the host trusts its process and verifies nothing);
- **local, signed and verified**: a pre-signed `SignedTx` per transfer told to the host
  from its own process (ed25519 verification, sequence check and use, body rebuilt from
  JSON); signing is not counted here, it is the next line;
- **signing**: ``Chain.sign`` per transfer (what an embedder pays to sign itself);
- **remote, signed and verified**: the same signed transfers told from another actor
  system over the in-memory network with the JSON codec forced (encode, decode, verify).

Each subject's rate is paired with a bare run made just before it; the ratio shown is the
median of the paired ratios. Rates are per CPU second of the process (``time.process_time``;
virtual clock, single-threaded), as in ``bench_chain``.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable

import anyio

from benchmarks._report import Report, measure
from chains import Chain, ChainConfig, Coin, GenesisAccount, GenesisValidator
from chains.contract import BankSend, SignedTx
from chains.host import SubmitTx, TxExecutor
from chains.modules import Bank
from mesh_actors import ActorSystem, VirtualClock
from transport import InMemoryNetwork

PREFIX = "stars"
DENOM = "stake"
CHAIN_ID = "bench-1"
LOCAL = 20_000
SIGNED = 2_000
RUNS = 3

ALICE = Chain.signer_address_of("alice", PREFIX)
BOB = Chain.signer_address_of("bob", PREFIX)
SEND = BankSend(to_address=BOB, amount=(Coin(denom=DENOM, amount=1),))

Pairs = list[tuple[float, float]]


def _now() -> float:
    return time.process_time()


def _rate(count: int, started: float) -> float:
    return count / (time.process_time() - started)


def _config() -> ChainConfig:
    return ChainConfig(
        chain_id=CHAIN_ID,
        prefix=PREFIX,
        bond_denom=DENOM,
        accounts=(GenesisAccount(address=ALICE, coins=(Coin(denom=DENOM, amount=10**15),)),),
        validators=tuple(GenesisValidator(name=f"v{i}", self_bond=10**7) for i in range(4)),
    )


_BANK: list[Bank] = []


def _bare() -> float:
    """The bare limit: the bank core's transfer in a loop."""
    if not _BANK:
        _BANK.append(TxExecutor(_config()).bank)
    bank = _BANK[0]
    started = _now()
    for _ in range(LOCAL):
        bank.transfer(ALICE, BOB, DENOM, 1)
    return _rate(LOCAL, started)


async def _runs(mode: str) -> Pairs:
    clock = VirtualClock()
    pairs: Pairs = []
    async with (
        clock.autojump(),
        InMemoryNetwork(force_codec=True) as net,
        ActorSystem("node", clock=clock, transport=net) as node,
        ActorSystem("client", clock=clock, transport=net) as client,
        Chain(_config(), node) as chain,
    ):
        local = chain.host
        remote = client.ref(f"node/{CHAIN_ID}")
        plain = SubmitTx(sender=ALICE, msg=SEND)
        for _ in range(RUNS):
            bare = _bare()
            if mode == "unverified":
                started = _now()
                for _ in range(LOCAL):
                    local.tell_nowait(plain)
                await chain.height()
                pairs.append((_rate(LOCAL, started), bare))
                continue
            if mode == "sign":
                started = _now()
                for _ in range(SIGNED):
                    chain.sign("alice", SEND)
                pairs.append((_rate(SIGNED, started), bare))
                continue
            signed: list[SignedTx] = [chain.sign("alice", SEND) for _ in range(SIGNED)]
            target = local if mode == "signed" else remote
            started = _now()
            for tx in signed:
                target.tell_nowait(tx)
            await chain.height()
            pairs.append((_rate(SIGNED, started), bare))
        # every signed transfer ran (none was refused): alice's sequence moved on by all
        if mode in ("signed", "remote"):
            assert chain.sequence(ALICE) == RUNS * SIGNED, chain.sequence(ALICE)
    return pairs


def _paired(backend: str, runs: Callable[[], Awaitable[Pairs]]) -> tuple[float, float]:
    async def main() -> Pairs:
        return await runs()

    pairs: Pairs = anyio.run(main, backend=backend)
    return statistics.median(p[0] for p in pairs), statistics.median(p[0] / p[1] for p in pairs)


def run(report: Report) -> None:
    """Print the figures (see the module docstring)."""
    report.baseline("bank transfer, bare Bank core loop", measure(_bare, RUNS), "tx/s")
    for backend in ("asyncio", "trio"):
        results: dict[str, float] = {}
        for mode, label in (
            ("unverified", "local, unverified (embedder path)"),
            ("signed", "local, signed and verified"),
            ("sign", "signing only (Chain.sign)"),
            ("remote", "remote over JSON codec, signed and verified"),
        ):
            value, ratio = _paired(backend, lambda mode=mode: _runs(mode))  # type: ignore[misc]
            results[mode] = value
            report.figure(
                f"transfer, {label} [{backend}]",
                value,
                "tx/s",
                note=f"{ratio:.3f}x of the bare loop, paired runs",
            )
        report.figure(
            f"verification slowdown: unverified / signed rate [{backend}]",
            results["unverified"] / results["signed"],
            "x",
        )
