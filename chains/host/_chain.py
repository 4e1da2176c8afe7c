"""The embedder's handle on one chain: start it, transact, query, watch its events.

A `Chain` builds the chain's state from its `ChainConfig` (genesis), spawns its `ChainHost`
actor in an actor system, and exposes every operation as an async method that asks the host
(so everything is serialised through the chain's transaction queue, in call order)::

    async with ActorSystem("stargaze", clock=clock) as system:
        async with Chain(config, system) as chain:
            await chain.register_code(Vault)
            vault = await chain.instantiate(alice, "vault", VaultInstantiate(...))
            result = await chain.execute(alice, vault, Bond(), funds=(Coin(...),))

or, with a system of its own: ``async with Chain.start(config, clock=clock) as chain``.

Conventions: **transactions** (``execute``, ``sudo``, ``submit``, ``bank_send``, staking
operations, governance) return a `TxResult` and never raise a `ChainError` (a failed
transaction is a value); ``instantiate`` returns the new address and raises the `ChainError`
if it failed; **queries** return the value and raise the `ChainError` (e.g.
`InvalidAddress` for an address without the chain's prefix). Every method may raise
`AskTimeout` / `ActorSystemClosed` from the actor runtime. Cancelling a call abandons the
wait; a transaction already queued still runs.

**Keys.** The handle holds a key pair per named account, ``key(name)`` (`account_key`:
derived from the name and the config's ``key_seed``; with the empty seed of simulations,
from the name alone, so runs repeat and anyone can derive them); every named account's
address is its key's (``address(name) == signer_address(name)``: users, validator
operators, the deployer, contract admins), while module accounts and the governance
authority keep addresses derived from the module's name, as on Cosmos. The methods above
run as local, unsigned transactions (the host trusts its own process, see ``_host.py``);
``sign`` / ``submit_signed`` build and send the `SignedTx` another process would send,
and ``save_key`` writes an account's key file for such a process.
"""

from __future__ import annotations

import math
import os
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from functools import partial
from types import TracebackType
from typing import Any, TypeVar, cast

from pydantic import BaseModel

from chains.contract._address import convert_prefix, operator_prefix
from chains.contract._coin import Coin
from chains.contract._contract import (
    BankSend,
    Contract,
    DistributionWithdrawReward,
    StakingDelegate,
    StakingUndelegate,
)
from chains.contract._decimal import SdkDec
from chains.contract._keys import KeyPair
from chains.contract._signing import SignedTx
from chains.host._chain_state import ContractInfo
from chains.host._committed import CommittedCopy
from chains.host._config import ChainConfig, account_key
from chains.host._contract_actor import ContractMsg
from chains.host._durable import DEFAULT_SYNCHRONOUS, SYNCHRONOUS_MODES, state_app_hash
from chains.host._errors import ChainNotRunning, UnknownSynchronousMode
from chains.host._events import ChainEvent
from chains.host._executor import TxExecutor
from chains.host._host import BlockClock, ChainHost
from chains.host._msgs import (
    AddModule,
    AttachStore,
    ExecuteTx,
    GovExecuteTx,
    GovSudoTx,
    HostMsg,
    HostTx,
    InstantiateTx,
    ProduceBlocks,
    ReadState,
    RegisterCode,
    RunUnit,
    SpawnComponent,
    SubmitTx,
    SudoTx,
    TxBatch,
)
from chains.host._signed import SignedBody, signed_host_tx
from chains.host._tx_result import QueryResult, TxResult
from chains.modules._module import ChainModule
from chains.modules._msgs import (
    CreateValidator,
    ForceDowntime,
    Mint,
    RecordLiveness,
    SetCommission,
    SubmitEquivocation,
    Unjail,
)
from chains.modules._staking import Delegation, UnbondingEntry, Validator
from mesh_actors import (
    Actor,
    ActorRef,
    ActorSystem,
    Clock,
    EventStream,
    MailboxConfig,
    Subscription,
)

__all__ = ["Chain"]

T = TypeVar("T")
M = TypeVar("M")

# ProduceBlocks is split into asks of this many blocks, so a long run neither blocks the
# event loop for seconds nor risks an ask timeout under a real clock
_BLOCKS_PER_ASK = 10_000
_ZERO = SdkDec.zero()


def _given(module: ChainModule, _: TxExecutor) -> ChainModule:
    return module


class Chain:
    """One running chain (see the module docstring).

    ``Chain(config, system)`` runs genesis at once (raising `ChainError` or pydantic's
    ``ValidationError`` for a bad genesis); entering it spawns the host actor, named
    ``config.chain_id``, in ``system``; leaving it stops the host and its contract actors
    and ends every event subscription. ``lazy_blocks=True`` produces idle blocks lazily on
    a `VirtualClock` (same states, far fewer clock stops; see ``_host.py``): then read
    the executor directly only through the host (`read`), which sees every block up to
    the clock's time.
    """

    def __init__(
        self, config: ChainConfig, system: ActorSystem, *, lazy_blocks: bool = False
    ) -> None:
        self.system = system
        self._executor = TxExecutor(config)
        # the executor's config: without the genesis accounts once genesis funded them
        self.config = self._executor.config
        self._events: EventStream[ChainEvent] = EventStream()
        self._clock = BlockClock(config.first_block_time, config.block_time, lazy=lazy_blocks)
        self._host: ActorRef[HostMsg] | None = None
        self._components: dict[str, SpawnComponent] = {}
        self._signed: dict[str, int] = {}
        self._crashed = False

    @classmethod
    @asynccontextmanager
    async def start(
        cls, config: ChainConfig, *, clock: Clock | None = None, **system_options: Any
    ) -> AsyncIterator[Chain]:
        """Run the chain in an actor system of its own, named after the chain id.

        ``clock`` and ``system_options`` go to `ActorSystem`. On exit the chain and then
        the system shut down.
        """
        async with (
            ActorSystem(config.chain_id, clock=clock, **system_options) as system,
            cls(config, system) as chain,
        ):
            yield chain

    async def __aenter__(self) -> Chain:
        self._host = self._spawn_host()
        return self

    def _spawn_host(self) -> ActorRef[HostMsg]:
        factory = partial(ChainHost, self._executor, self._events, self._clock, self._components)
        return self.system.spawn(factory, name=self.config.chain_id, mailbox=ChainHost.mailbox)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        host, self._host = self._host, None
        if host is not None:
            await self.system.stop(host)
        self._events.close()
        # after the host stopped: no block boundary can commit any more
        durable, self._executor.durable = self._executor.durable, None
        if durable is not None:
            durable.close()

    # -- durable state --------------------------------------------------------------------

    async def attach_store(
        self, path: str | os.PathLike[str], *, synchronous: str = DEFAULT_SYNCHRONOUS
    ) -> int | None:
        """Keep this chain's state in the SQLite file at ``path`` (see ``_durable.py``).

        Call it after every module, code and IBC is installed (the order of
        ``chains.mesh.start_chain``), before traffic. If the file holds committed blocks,
        the chain takes up its last committed block (all state, height and time; caches
        rebuilt, contract and channel actors spawned) and the method returns that height;
        a new file gets the current state as its base and the method returns ``None``.
        From then on every block boundary is committed to the file in one SQLite
        transaction; leaving the chain closes it. Block time resumes from the committed
        block's: on a virtual clock the next block is one block time later, on a real clock
        the downtime counts (as the wall clock does for a real chain's next block).

        ``synchronous``: SQLite's setting in WAL mode, ``"NORMAL"`` (default: survives a
        process crash or ``kill -9``) or ``"FULL"`` (also survives power loss; an fsync per
        block). Raises `UnknownSynchronousMode` for another value; `StoreCorrupt` (not a
        chain store, damaged, app hash mismatch, or unopenable), `ForeignStore` (another
        chain's file), `StoreVersionMismatch` (newer schema), `StoreAttached` (a store
        already attached):
        the chain's state is then untouched. Cancelling abandons the wait; the attach, once
        queued, still runs.
        """
        if synchronous.upper() not in SYNCHRONOUS_MODES:
            raise UnknownSynchronousMode(synchronous, SYNCHRONOUS_MODES)
        result = await self.host.ask(
            AttachStore(path=os.fspath(path), synchronous=synchronous), expect=QueryResult
        )
        height: int | None = result.unwrap()
        return height

    async def app_hash(self) -> bytes:
        """The app hash of the last committed state (see ``_durable.py``: a multiset hash
        over the canonical bytes of every entry, with the block position). Without a
        durable store: the hash of the current state, computed over all of it (O(state));
        at a block boundary that is what a store would have committed."""

        def read(ex: TxExecutor) -> bytes:
            durable = ex.durable
            if durable is not None and durable.app_hash is not None:
                return durable.app_hash
            return state_app_hash(ex)

        return await self._read(read)

    # -- identity -------------------------------------------------------------------------

    @property
    def chain_id(self) -> str:
        return self.config.chain_id

    @property
    def host(self) -> ActorRef[HostMsg]:
        """The host actor (for components that send it `HostMsg` directly)."""
        if self._host is None:
            raise ChainNotRunning(self.chain_id)
        return self._host

    @property
    def gov_address(self) -> str:
        """The governance module account: the only authority of ``gov_*`` calls."""
        return self._executor.gov_address

    def address(self, name: str) -> str:
        """The account address of ``name`` on this chain: the address of ``key(name)``."""
        return self.config.address(name)

    def operator(self, name: str) -> str:
        """The validator operator address of ``address(name)``."""
        return self.config.operator(name)

    def key(self, name: str) -> KeyPair:
        """The key pair of signing account ``name`` (address: ``signer_address(name)``)."""
        return account_key(name, self.config.key_seed)

    def signer_address(self, name: str) -> str:
        """The address of ``key(name)`` on this chain."""
        return self.config.address(name)

    @staticmethod
    def signer_address_of(name: str, prefix: str, seed: bytes = b"") -> str:
        """The address of ``account_key(name, seed)`` under ``prefix`` (for genesis
        accounts; ``seed`` as the chain config's ``key_seed``)."""
        return account_key(name, seed).address(prefix)

    def sequence(self, address: str) -> int:
        """The sequence ``address``'s next signed transaction must carry (committed state;
        in-process only, no ask)."""
        return self._executor.sequences.get(address)

    def save_key(self, name: str, path: str | os.PathLike[str]) -> None:
        """Write account ``name``'s key file (0600) for a process that signs as it; raises
        `KeyFileError` / ``OSError`` as `KeyPair.save`."""
        account_key(name, self.config.key_seed).save(path)

    def sign(self, signer: str | KeyPair, tx: SignedBody | BaseModel) -> SignedTx:
        """``tx`` signed by ``signer`` (an account name or a key) at its next sequence.

        ``tx`` is a host transaction (`SubmitTx`, `ExecuteTx`, ...) whose sender is the
        signer, or a root message (`BankSend`, ...) to submit as the signer. The handle
        counts the sequences it signs at, so several transactions may be signed before
        any is sent (send them in order). Raises ``ValueError`` for a local-only message.
        """
        key = account_key(signer, self.config.key_seed) if isinstance(signer, str) else signer
        address = key.address(self.config.prefix)
        # the chain's next sequence, or further if this handle signed ahead of it
        sequence = max(self._signed.get(address, 0), self._executor.sequences.get(address))
        signed = signed_host_tx(
            key, prefix=self.config.prefix, chain_id=self.chain_id, sequence=sequence, tx=tx
        )
        self._signed[address] = sequence + 1
        return signed

    async def submit_signed(self, tx: SignedTx) -> TxResult:
        """Send a signed transaction; the host verifies it as it would one from another
        process (see `ChainHost.on_signed` for the errors). After a failure, ``sign``
        starts again from the chain's sequence for the sender (a refused transaction
        leaves its sequence unused, and anything signed after it then mismatches)."""
        result: TxResult = await self.host.ask(tx, expect=TxResult)
        if not result.ok:
            self._signed[tx.sender] = self._executor.sequences.get(tx.sender)
        return result

    def contract(self, address: str) -> ActorRef[ContractMsg]:
        """The actor of the contract at ``address`` (`ExecuteContract`, `QueryContract`)."""
        return self.system.ref(self.host.address.child(address))

    def events(self, *, buffer: int = 100_000) -> Subscription[ChainEvent]:
        """Subscribe to every `ChainEvent` this chain commits from now on.

        Events a slow subscriber cannot buffer are dropped for it alone (``dropped``).
        """
        return self._events.subscribe(buffer=buffer)

    # -- asks -----------------------------------------------------------------------------

    async def _tx(self, tx: HostTx) -> TxResult:
        result: TxResult = await self.host.ask(tx, expect=TxResult)
        return result

    async def _read(self, reader: Callable[[TxExecutor], T]) -> T:
        result = await self.host.ask(ReadState(reader=reader), expect=QueryResult)
        value: T = result.unwrap()
        return value

    # -- administration -------------------------------------------------------------------

    async def register_code(self, contract_class: type[Contract]) -> str:
        """Make ``contract_class`` instantiable; returns its code name. Raises `CodeExists`."""
        result = await self.host.ask(
            RegisterCode(contract_class=contract_class), expect=QueryResult
        )
        code: str = result.unwrap()
        return code

    async def add_module(self, module: ChainModule | Callable[[TxExecutor], ChainModule]) -> str:
        """Plug in a module, given as an instance or as ``factory(executor)`` (modules keep
        their state in ``executor.store``). Returns its name. Raises `ModuleExists`."""
        if isinstance(module, type) or not hasattr(module, "handle"):
            factory = cast(Callable[[TxExecutor], ChainModule], module)
        else:
            factory = partial(_given, cast(ChainModule, module))
        result = await self.host.ask(AddModule(factory=factory), expect=QueryResult)
        name: str = result.unwrap()
        return name

    async def spawn_component(
        self, name: str, factory: Callable[[], Actor[M]], mailbox: MailboxConfig | None = None
    ) -> ActorRef[M]:
        """Spawn ``factory()`` as a child of the chain's host, at ``<chain>/<name>``, respawned
        whenever the host restarts (the IBC gateway lives there). Raises `InvalidComponent`
        if ``name`` is taken or is not a valid actor name."""
        result = await self.host.ask(
            SpawnComponent(name=name, factory=factory, mailbox=mailbox), expect=QueryResult
        )
        ref: ActorRef[M] = result.unwrap()
        return ref

    # -- transactions ---------------------------------------------------------------------

    async def instantiate(
        self,
        sender: str,
        code: str,
        msg: Any,
        funds: Sequence[Coin] = (),
        label: str = "",
        admin: str | None = None,
    ) -> str:
        """Deploy a contract of ``code``; returns its address. Raises the `ChainError`."""
        result = await self._tx(
            InstantiateTx(
                sender=sender, code=code, msg=msg, funds=tuple(funds), label=label, admin=admin
            )
        )
        address: str = result.unwrap()
        return address

    async def execute(
        self, sender: str, contract: str, msg: Any, funds: Sequence[Coin] = ()
    ) -> TxResult:
        """``sender`` executes ``contract`` (funds move first)."""
        return await self._tx(
            ExecuteTx(sender=sender, contract=contract, msg=msg, funds=tuple(funds))
        )

    async def sudo(self, contract: str, msg: Any) -> TxResult:
        """The chain calls ``contract``'s sudo entry point."""
        return await self._tx(SudoTx(contract=contract, msg=msg))

    async def submit(self, sender: str, msg: Any) -> TxResult:
        """A root `CosmosMsg` or native message signed by ``sender``."""
        return await self._tx(SubmitTx(sender=sender, msg=msg))

    async def submit_batch(self, txs: Sequence[HostTx]) -> tuple[TxResult, ...]:
        """Several transactions in one ask, each its own atomic unit, in order.

        The batch is not re-validated (its items are validated messages already); anything
        that is not a transaction message fails alone with `UnsupportedMessage`.
        """
        batch = TxBatch.model_construct(txs=tuple(txs))
        results: tuple[TxResult, ...] = await self.host.ask(batch, expect=tuple)
        return results

    async def run_unit(self, body: Callable[[TxExecutor], Any]) -> TxResult:
        """A custom atomic unit (see `RunUnit`)."""
        return await self._tx(RunUnit(body=body))

    async def bank_send(
        self, sender: str, to_address: str, amount: Coin | Sequence[Coin]
    ) -> TxResult:
        """Send coins."""
        coins = (amount,) if isinstance(amount, Coin) else tuple(amount)
        return await self.submit(sender, BankSend(to_address=to_address, amount=coins))

    async def mint(self, to_address: str, amount: Coin | Sequence[Coin]) -> TxResult:
        """Test control: create coins in an account."""
        coins = (amount,) if isinstance(amount, Coin) else tuple(amount)
        return await self.submit(self.gov_address, Mint(to_address=to_address, amount=coins))

    async def delegate(self, delegator: str, validator: str, amount: int) -> TxResult:
        """Delegate bond-denom tokens (C-17)."""
        coin = Coin(denom=self.config.bond_denom, amount=amount)
        return await self.submit(delegator, StakingDelegate(validator=validator, amount=coin))

    async def undelegate(self, delegator: str, validator: str, amount: int) -> TxResult:
        """Start unbonding (C-19, C-20)."""
        coin = Coin(denom=self.config.bond_denom, amount=amount)
        return await self.submit(delegator, StakingUndelegate(validator=validator, amount=coin))

    async def withdraw_rewards(self, delegator: str, validator: str) -> TxResult:
        """Withdraw a delegation's rewards (C-26)."""
        return await self.submit(delegator, DistributionWithdrawReward(validator=validator))

    def _operator_account(self, validator: str) -> str:
        return convert_prefix(validator, operator_prefix(self.config.prefix), self.config.prefix)

    async def create_validator(
        self,
        operator: str,
        pubkey: str,
        self_bond: int,
        commission: SdkDec = _ZERO,
        min_self_delegation: int = 0,
    ) -> TxResult:
        """Create a validator bonded by its operator account's tokens (C-34)."""
        msg = CreateValidator(
            pubkey=pubkey,
            self_bond=self_bond,
            commission=commission,
            min_self_delegation=min_self_delegation,
        )
        return await self.submit(self._operator_account(operator), msg)

    async def unjail(self, validator: str) -> TxResult:
        """``MsgUnjail`` signed by the validator's operator account (C-29)."""
        return await self.submit(self._operator_account(validator), Unjail(validator=validator))

    async def set_commission(self, validator: str, rate: SdkDec) -> TxResult:
        """Change the commission rate; fires ``before_validator_modified`` (C-16)."""
        msg = SetCommission(validator=validator, rate=rate)
        return await self.submit(self._operator_account(validator), msg)

    async def record_liveness(self, validator: str, signed: bool) -> TxResult:
        """Test control: record the validator's vote for the current block (C-35)."""
        msg = RecordLiveness(validator=validator, signed=signed)
        return await self.submit(self.gov_address, msg)

    async def force_downtime(self, validator: str) -> TxResult:
        """Test control: downtime slash and jail now (C-35); data = amount burned."""
        return await self.submit(self.gov_address, ForceDowntime(validator=validator))

    async def submit_equivocation(
        self, consensus_address: str, infraction_height: int, infraction_time: int, power: int
    ) -> TxResult:
        """Test control: double-sign evidence (C-36); data = amount burned or ``None``."""
        msg = SubmitEquivocation(
            consensus_address=consensus_address,
            infraction_height=infraction_height,
            infraction_time=infraction_time,
            power=power,
        )
        return await self.submit(self.gov_address, msg)

    async def gov_execute(
        self, authority: str, contract: str, msg: Any, funds: Sequence[Coin] = ()
    ) -> TxResult:
        """Governance executes ``contract`` (`Unauthorized` unless ``authority`` is
        ``gov_address``)."""
        return await self._tx(
            GovExecuteTx(authority=authority, contract=contract, msg=msg, funds=tuple(funds))
        )

    async def gov_sudo(self, authority: str, contract: str, msg: Any) -> TxResult:
        """Governance sudo call (`Unauthorized` unless ``authority`` is ``gov_address``)."""
        return await self._tx(GovSudoTx(authority=authority, contract=contract, msg=msg))

    # -- faults ---------------------------------------------------------------------------

    @property
    def halted(self) -> bool:
        """Whether the chain is halted (`halt`)."""
        return self._clock.halted

    @property
    def crashed(self) -> bool:
        """Whether the chain's host is down (`crash` without `restart` yet)."""
        return self._crashed

    def halt(self) -> None:
        """Stop producing blocks: the open block stays open, every transaction is refused
        with `ChainHalted` (nothing runs), reads answer from the state as it is. Idempotent.

        A fault for tests and chaos runs (a chain whose validators lost consensus)."""
        clock = self._clock
        clock.halted = True
        driver = clock.driver
        if driver is not None:
            driver.invalidate()
            driver.clock.driver_changed()

    def resume(self) -> None:
        """Produce blocks again after `halt`: the next block boundary comes one block time
        from now, and the block after it takes the clock's time then, so chain time jumps
        over the halt (the height does not). Idempotent."""
        clock = self._clock
        if not clock.halted:
            return
        clock.halted = False
        driver = clock.driver
        if driver is not None:
            driver.next_tick = driver.clock.now() + clock.block_time
            driver.invalidate()
            driver.clock.driver_changed()

    def skew_clock(self, offset: int = 0, drift: float | None = None) -> None:
        """Skew this chain's block time against the shared clock: from the next block on it
        runs ``offset`` more seconds ahead (added to any skew so far), and with ``drift``
        (extra seconds per clock second, e.g. ``0.01``) that much faster from now on.
        Block time never goes backwards: a negative skew makes the next blocks advance
        one second each until the clock catches up (IBC judges timeouts by the receiving
        chain's time, so skew moves when packets time out). Raises `ChainNotRunning` before
        the chain started."""
        clock = self._clock
        if clock.origin is None:
            raise ChainNotRunning(self.chain_id)
        if drift is not None:
            # keep the mapping continuous now: fold what the old rate gave into the offset
            elapsed = self.system.clock.now() - clock.origin
            before = math.floor(elapsed * (1.0 + clock.drift))
            after = math.floor(elapsed * (1.0 + drift))
            clock.offset += before - after
            clock.drift = drift
        clock.offset += offset

    def keep_committed(self) -> None:
        """Keep an in-memory copy of the committed state (the state at the last block
        boundary) so that `crash` loses the open block as a real node does, without a
        durable store (``_committed.py``: O(state) now, then O(writes) per block).
        Idempotent; a no-op with a durable store attached (the store is the copy; a
        store attached later replaces the copy). Call between transactions (from the
        embedder's task, as `sequence` reads). Raises `ChainNotRunning` before the chain
        started."""
        if self._host is None:
            raise ChainNotRunning(self.chain_id)
        executor = self._executor
        if executor.durable is None and executor.committed is None:
            executor.committed = CommittedCopy(executor)

    async def crash(self) -> int | None:
        """Crash the chain's node: its host actor (with its contract actors and components)
        stops; transactions queued and not yet run fail with `ActorTerminated`, later
        calls with `ActorNotFound` until `restart`; no block is produced meanwhile.

        What survives is what the node committed: with a durable store attached, the
        state is reloaded from its file; with `keep_committed`, from the in-memory copy.
        Either way the transactions of the open block (run, and answered, since the last
        block boundary) are lost, as a node's uncommitted block is. Without either, the
        whole state in memory survives (transactions answered are kept).

        Returns the height of the block whose transactions were lost (the chain resumes
        in that block, at its boundary), or ``None`` if nothing was lost. Idempotent
        (``None`` when already crashed). Raises `ChainNotRunning` before the chain
        started; `StoreCorrupt` if the store cannot be reloaded (the chain is then down
        with the state it had). Cancellation: the stop completes in the background and
        nothing is restored.
        """
        host = self._host
        if host is None:
            raise ChainNotRunning(self.chain_id)
        if self._crashed:
            return None
        self._crashed = True
        await self.system.stop(host)
        executor = self._executor
        before = (executor.height, executor.tx_index)
        if executor.durable is not None:
            executor.durable.attach(executor)
        elif executor.committed is not None:
            executor.committed.restore(executor)
        else:
            return None
        # sequences signed ahead in the lost block must be signed again
        self._signed.clear()
        if (executor.height, executor.tx_index) == before:
            return None
        return executor.height

    def restart(self) -> None:
        """Restart a crashed chain: a fresh host over the same state (contract actors and
        components respawned); the next block comes one block time from now, with the
        clock's time then (a jump over the downtime). Existing references to the host (and
        to its children) reach the new one. No-op if the chain is not crashed."""
        if not self._crashed:
            return
        self._crashed = False
        self._host = self._spawn_host()

    # -- blocks ---------------------------------------------------------------------------

    async def produce_blocks(self, count: int) -> int:
        """Produce ``count`` blocks now (the fast path of `ProduceBlocks`); returns the height."""
        height = await self.height()
        while count > 0:
            chunk = min(count, _BLOCKS_PER_ASK)
            height = await self.host.ask(ProduceBlocks(count=chunk), expect=int)
            count -= chunk
        return height

    # -- queries --------------------------------------------------------------------------

    async def read(self, reader: Callable[[TxExecutor], T]) -> T:
        """Run ``reader(executor)`` in the host, read-only; raises its `ChainError`."""
        return await self._read(reader)

    async def height(self) -> int:
        """The current block height."""
        return await self._read(lambda ex: ex.height)

    async def time(self) -> int:
        """The current block time (UNIX seconds)."""
        return await self._read(lambda ex: ex.time_s)

    async def balance(self, address: str, denom: str | None = None) -> int:
        """``address``'s balance of ``denom`` (default: the bond denom)."""
        wanted = denom or self.config.bond_denom
        return await self._read(lambda ex: ex.bank.balance(ex.validate(address), wanted))

    async def all_balances(self, address: str) -> tuple[Coin, ...]:
        """Every non-zero balance of ``address``."""
        return await self._read(lambda ex: ex.bank.all_balances(ex.validate(address)))

    async def supply(self, denom: str | None = None) -> int:
        """Total supply of ``denom`` (default: the bond denom)."""
        wanted = denom or self.config.bond_denom
        return await self._read(lambda ex: ex.bank.supply(wanted))

    async def validators(self) -> tuple[Validator, ...]:
        """Every validator, by operator address."""
        return await self._read(lambda ex: ex.staking.validators())

    async def bonded_validators(self) -> tuple[Validator, ...]:
        """The active set, by power descending (C-15)."""
        return await self._read(lambda ex: ex.staking.bonded_validators())

    async def validator(self, operator: str) -> Validator | None:
        """One validator, or ``None``."""
        return await self._read(lambda ex: ex.staking.validator(operator))

    async def delegation(self, delegator: str, validator: str) -> Delegation | None:
        """A delegation record, or ``None``."""
        return await self._read(lambda ex: ex.staking.delegation(ex.validate(delegator), validator))

    async def delegations(self, delegator: str) -> tuple[Delegation, ...]:
        """Every delegation of ``delegator``."""
        return await self._read(
            lambda ex: ex.staking.staking.delegations_of(ex.validate(delegator))
        )

    async def delegation_value(self, delegator: str, validator: str) -> int:
        """A delegation's token value (C-18)."""
        return await self._read(
            lambda ex: ex.staking.delegation_value(ex.validate(delegator), validator)
        )

    async def unbondings(
        self, delegator: str, validator: str | None = None
    ) -> tuple[tuple[str, UnbondingEntry], ...]:
        """``(validator, entry)`` for the delegator's open unbonding entries (C-20)."""

        def read(ex: TxExecutor) -> tuple[tuple[str, UnbondingEntry], ...]:
            ex.validate(delegator)
            out: list[tuple[str, UnbondingEntry]] = []
            for d, v, entries in ex.staking.staking.iter_unbonding():
                if d == delegator and (validator is None or v == validator):
                    out.extend((v, e) for e in entries)
            return tuple(sorted(out, key=lambda item: (item[0], item[1].entry_id)))

        return await self._read(read)

    async def contract_state(self, address: str) -> dict[str, dict[Any, Any]]:
        """A contract's raw storage (container → contents)."""
        return await self._read(lambda ex: ex.contract_state(address))

    async def contract_info(self, address: str) -> ContractInfo | None:
        """A contract's registry record, or ``None``."""
        return await self._read(lambda ex: ex.contract_info(address))

    async def query(self, contract: str, msg: Any) -> Any:
        """A contract's query; raises its `ChainError`."""
        return await self._read(lambda ex: ex.query_contract(contract, msg))

    async def query_module(self, module: str, msg: Any) -> Any:
        """A module's custom query; raises its `ChainError`."""
        return await self._read(lambda ex: ex.query_module(module, msg))

    async def dump_state(self) -> bytes:
        """The canonical state dump (see ``TxExecutor.dump_state``)."""
        return await self._read(lambda ex: ex.dump_state())
