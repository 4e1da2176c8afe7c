"""The transaction executor: one chain's state and the atomic execution of units on it.

Sans-IO and synchronous (ARCHITECTURE rule 2: "a chain is serial"). A `TxExecutor` owns the
chain's journaled `Store` and everything kept in it (bank, staking, slashing, distribution,
every contract's storage, every plugged-in module's state), the registry of contract codes
and instances, and the block lifecycle. The chain host actor (``_host.py``) feeds it
transactions one at a time; tests drive it directly, without an event loop.

**A unit** is one transaction (an execute, an instantiate, a sudo call, a bank send, a
native message...), or one end-block sudo call. It runs in a savepoint of the store:

- the target entry point runs, then the messages of its `Response` in order, depth-first:
  a message's own messages run before its next sibling (provider.md P-3, consumer.md C-8);
- a `SubMsg` whose reply mode catches errors (``ERROR``/``ALWAYS``) runs in a nested
  savepoint: if it fails, its changes and events are rolled back and the emitter's
  ``reply`` runs with the error; with ``SUCCESS``/``ALWAYS`` a success is replied too.
  A failing reply, or an uncaught failure, propagates upward (C-9);
- if a failure reaches the unit, the store is rolled back to the unit's savepoint, so the
  bank, staking, every contract's storage and every module's state (an IBC module's outbox
  included) are exactly as before, and nothing the unit emitted is kept (C-8, P-2);
- a core that raises something other than a `ChainError` is reported as `ContractPanic`
  (a module: `ModulePanic`; the host itself: `InternalError`) and handled like any error,
  so a buggy core can never crash the host (P-6).

Rollback costs O(writes) (the store's journal), never a copy of the state.

**Routing** of emitted messages (the emitter is the sender, a contract or a module account)
is described in ``_routes.py``; the native messages of ``_native_routes.py`` are accepted as
root messages only. Staking hooks may run contract code during the staking module's own block
steps (P-51): events such code emits there are reported with the block's events.

Modules may implement two optional methods beside the `ChainModule` protocol:
``check_message(sender, msg)`` runs before every routed message and may refuse it by raising
(e.g. the mesh-security module's rule C-50), and ``on_sudo_result(call, result)`` receives
the `TxResult` of each sudo call its end-blocker requested.

The executor is put together from one module per concept, each a section of the whole:
the state and its wiring (codes, modules, address validation) in ``_chain_state.py``, the
in-unit operations in ``_cascade.py``, units in ``_units.py``, genesis, blocks and their
schedule in ``_blocks.py``, queries in ``_queries.py``; the route tables of ``_routes.py`` and
``_native_routes.py`` are collaborators built over the finished state. The parts that share
the chain's state are layers of one class rather than objects calling each other: the hot
paths (a unit, a routed message, a packet callback) then run on one object, with no
forwarding call and no extra attribute hop per message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from chains.contract._contract import BankSend
from chains.host._blocks import BlockLifecycle
from chains.host._config import ChainConfig
from chains.host._native_routes import NativeMessages
from chains.host._querier import ChainQuerier, run_read_only
from chains.host._queries import ChainQueries
from chains.host._routes import MessageRoutes

if TYPE_CHECKING:
    from chains.modules._module import ModuleHost

__all__ = ["TxExecutor"]

T = TypeVar("T")


class TxExecutor(BlockLifecycle, ChainQueries):
    """One chain's state and the atomic execution of units on it (see the module docstring).

    Build one with ``TxExecutor(config)``: that runs genesis (block 0: accounts funded,
    validators created and bonded). Then alternate ``begin_block(time)`` / units /
    ``end_block()``. Unit methods (``execute``, ``instantiate``, ``sudo``, ``submit``,
    ``gov_execute``, ``gov_sudo``, ``run``) never raise a `ChainError`: they return a
    `TxResult`. Queries (``query``, ``query_module``) raise. Registration
    (``register_code``, ``add_module``) raises `CodeExists` / `ModuleExists`.
    """

    def __init__(self, config: ChainConfig) -> None:
        super().__init__(config)
        self.querier = ChainQuerier(self)
        self._routes = MessageRoutes(self).table
        self._native_routes = NativeMessages(self).table
        self._root_routes = {**self._routes, **self._native_routes}
        self._bank_send_route = self._root_routes.get(BankSend)
        # the supply genesis mints, kept for the conservation invariant; the genesis
        # accounts themselves are not kept after genesis (issue 16: memory per stake)
        self.genesis_supply: dict[str, int] = config.genesis_supply()
        self._genesis()
        self.config = config.without_accounts()

    def read(self, reader: Callable[[TxExecutor], T]) -> T:
        """Run an embedder's read of this executor, enforced read-only (`QueryWrite`)."""
        return run_read_only(self._store, "read", lambda: reader(self))


if TYPE_CHECKING:

    def _is_a_module_host(executor: TxExecutor) -> ModuleHost:
        # mypy's proof that modules written against `ModuleHost` can be built on the executor
        return executor
