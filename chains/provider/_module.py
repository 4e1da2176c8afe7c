"""The provider chain's module: the chain-side half of local staking (P-51, P-62).

On a provider chain the native staking contract (provider §4) must hear about the chain's
own slashing, and the per-user proxies must learn when an unbonding entry frees a slot. Both
come from the staking module's hooks, which this module registers:

- **Jailing before the slash (P-48, P-51).** When the slashing or evidence module is about
  to slash a validator (``before_validator_slashed``: downtime ⇒ ``jailed``, double sign ⇒
  ``tombstoned``), the module runs native staking's ``Jailing`` sudo call *synchronously,
  before the chain burns anything*, so the bonded amounts native staking reads are the
  pre-slash values, as the reference's provider module does. Each validator carries the
  infraction height the slash will use, so native staking also counts the proxies'
  unbonding entries (and redelegations) the chain is about to slash. When the infraction
  is at the current height the chain slashes no entries (C-28 step 2), so the height passed
  is ``height + 1``, which no entry can have. The call runs in a nested savepoint: if it
  fails, its changes are rolled back and a ``jailing_failed`` event is emitted, and the
  slash goes on (a slash is a fact, P-42). Slashes from other paths (``UNSPECIFIED``, e.g.
  a test calling the primitive) are not reported.
- **Draining the proxies' unbonding queues (P-62).** A proxy with 7 open entries towards a
  validator queues further unstakes; when one of its entries matures (staking end-block,
  ``after_unbonding_matured``) the module sends the proxy a ``ProcessUnbondingQueue`` sudo
  call at its own end-block (after staking's, C-10), if the proxy has anything queued, so
  the queued amount starts unbonding in the very block a slot opened, not whenever the owner
  next touches the proxy.

The native staking address is set by governance with ``SetNativeStaking`` (a custom message
``CustomMsg(module="provider", ...)`` whose sender must be the chain's gov account), or given
to the constructor.
"""

from __future__ import annotations

from typing import Any

from chains.contract._contract import BlockEnv, Event, Response
from chains.contract._errors import Unauthorized, UnsupportedMessage
from chains.contract._store import JournaledMap, SortedJournaledMap
from chains.host._errors import ContractNotFound
from chains.modules._hooks import InfractionReason, PendingSlash, StakingHooks
from chains.modules._module import ModuleCall, ModuleHost, SudoCall
from chains.provider.native_staking._msgs import JailedValidator, Jailing
from chains.provider.native_staking_proxy._contract import NativeStakingProxy
from chains.provider.native_staking_proxy._msgs import ProcessUnbondingQueue, QueuedUnbondsQuery
from mesh_actors import Message

__all__ = ["NativeStakingAddressQuery", "ProviderModule", "SetNativeStaking"]


class SetNativeStaking(Message):
    """Governance: the native staking contract that receives ``Jailing`` calls."""

    type_name = "provider.set_native_staking"
    contract: str


class NativeStakingAddressQuery(Message):
    """The configured native staking contract, or ``None``."""

    type_name = "provider.query.native_staking"


class ProviderModule(StakingHooks):
    """The ``"provider"`` chain module (see the module docstring).

    Build it on the chain's host (any `ModuleHost`; the executor is one), e.g.
    ``chain.add_module(ProviderModule)``; it registers itself as a staking hook at
    construction.
    """

    name = "provider"

    def __init__(self, executor: ModuleHost, native_staking: str | None = None) -> None:
        self._executor = executor
        store = executor.store
        self._config: JournaledMap[str, str] = JournaledMap(store, "provider/config")
        # proxies with an entry matured in this block's staking end-block
        self._matured: SortedJournaledMap[str, bool] = SortedJournaledMap(store, "provider/matured")
        if native_staking is not None:
            self._config["native_staking"] = native_staking
        executor.staking.add_hooks(self)

    @property
    def native_staking(self) -> str | None:
        """The native staking contract ``Jailing`` goes to, if configured."""
        return self._config.get("native_staking")

    # -- messages and queries -----------------------------------------------------------------

    def handle(self, call: ModuleCall, msg: Any) -> Response:
        """``SetNativeStaking`` from the gov account. Raises `Unauthorized`,
        `ContractNotFound` or `UnsupportedMessage`."""
        if not isinstance(msg, SetNativeStaking):
            raise UnsupportedMessage("provider", type(msg).__name__)
        if call.sender != self._executor.gov_address:
            raise Unauthorized()
        if self._executor.contract_info(msg.contract) is None:
            raise ContractNotFound(msg.contract)
        self._config["native_staking"] = msg.contract
        event = Event(type="set_native_staking", attributes=(("contract", msg.contract),))
        return Response(events=(event,))

    def query(self, block: BlockEnv, msg: Any) -> Any:
        """``NativeStakingAddressQuery``. Raises `UnsupportedMessage`."""
        if isinstance(msg, NativeStakingAddressQuery):
            return self.native_staking
        raise UnsupportedMessage("provider_query", type(msg).__name__)

    # -- blocks -------------------------------------------------------------------------------

    def next_due_height(self, block: BlockEnv) -> int | None:
        """`ScheduledModule`: now if a proxy's unbonding matured, else ``None``."""
        return block.height if self._matured else None

    def begin_block(self, block: BlockEnv) -> list[Event]:
        """Nothing."""
        return []

    def end_block(self, block: BlockEnv) -> list[SudoCall]:
        """``ProcessUnbondingQueue`` for each proxy with a matured entry and a queue (P-62)."""
        if not self._matured:
            return []
        calls: list[SudoCall] = []
        for proxy in list(self._matured):
            queued = self._executor.query_contract(proxy, QueuedUnbondsQuery())
            if queued.queued:
                calls.append(SudoCall(contract=proxy, msg=ProcessUnbondingQueue()))
        self._matured.clear()
        return calls

    # -- staking hooks ------------------------------------------------------------------------

    def before_validator_slashed(self, slash: PendingSlash) -> None:
        """Run native staking's ``Jailing`` before the chain slashes (P-48, P-51).

        Never raises: a failing call is rolled back and reported as ``jailing_failed``.
        """
        native = self.native_staking
        if native is None or slash.reason is InfractionReason.UNSPECIFIED:
            return
        height = (
            slash.infraction_height if slash.infraction_height < slash.height else slash.height + 1
        )
        item = JailedValidator(validator=slash.validator, infraction_height=height)
        if slash.reason is InfractionReason.DOUBLE_SIGN:
            jailing = Jailing(tombstoned=(item,))
        else:
            jailing = Jailing(jailed=(item,))
        executor = self._executor
        _, error = executor.attempt(executor.sudo_contract, native, jailing)
        if error is not None:
            executor.emit(
                self.name,
                Event(
                    type="jailing_failed",
                    attributes=(
                        ("validator", slash.validator),
                        ("error", error.name),
                        ("detail", str(error)),
                    ),
                ),
            )

    def after_unbonding_matured(self, delegator: str, validator: str, amount: int) -> None:
        """Remember a proxy whose unbonding entry matured (P-62)."""
        info = self._executor.contract_info(delegator)
        if info is not None and info.code == NativeStakingProxy.code:
            self._matured[delegator] = True
