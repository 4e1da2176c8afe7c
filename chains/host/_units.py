"""Units: the atomic transactions of a chain (ARCHITECTURE rule 2, provider.md P-2).

A unit is one transaction (an execute, an instantiate, a sudo call, a bank send, a native
message...), or one end-block sudo call. It runs in a savepoint of the store: if a failure
reaches the unit, the store is rolled back to it, so the bank, staking, every contract's
storage and every module's state (an IBC module's outbox included) are exactly as before,
and nothing the unit emitted is kept (C-8, P-2). Rollback costs O(writes) (the store's
journal), never a copy of the state. A failure that is not a `ChainError` is reported as
`InternalError` and handled like any error (P-6). Unit methods never raise a `ChainError`:
they return a `TxResult`.

The short path (issue 16): a root message from a sender already known valid, on a chain
without message filters, runs its route directly as the unit's body; a bank send of one coin
runs without a savepoint at all, since it checks everything (recipient, denom, amount, funds)
before its only writes and so has nothing to undo when it fails. The outcome and the state
are the same as on the general path (``tests/chains/host/test_tx_fast_path.py`` compares them
byte for byte).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chains.contract._coin import Coin
from chains.contract._errors import ChainError, Unauthorized
from chains.host._cascade import MessageCascade
from chains.host._errors import InternalError, NestedUnit, panic_detail
from chains.host._events import BlockPhase, ChainEvent
from chains.host._tx_result import TxResult
from chains.modules._errors import InvalidBlock

__all__: list[str] = []  # a part of `TxExecutor`, not offered on its own

# an enum member read through its class costs ~0.1 us on CPython 3.11 (the metaclass's
# lookup): a module constant is read on every transaction instead
_TX = BlockPhase.TX


class UnitRunner(MessageCascade):
    """The unit methods of a `TxExecutor` (see the module docstring)."""

    # the route of a `BankSend` as `TxExecutor` built it (`submit` runs a one-coin send of
    # that route inline; a chain whose table routes it elsewhere takes the general path)
    _bank_send_route: Callable[[str, Any], Any] | None

    def run(self, body: Callable[[], Any]) -> TxResult:
        """Run ``body()`` as one atomic unit (a transaction) in the current block.

        ``body`` uses the executor's in-unit operations (``dispatch``, ``execute_contract``,
        ``instantiate_contract``, ``sudo_contract``, ``call_contract``, ``attempt``,
        ``emit``) and returns the unit's data. This is how modules (an IBC module delivering
        a packet) run their own kinds of transactions with the same atomicity. A unit
        started inside a unit fails with `NestedUnit` (units do not nest).
        """
        return self._unit(body, _TX)

    def _unit(self, body: Callable[..., Any], phase: BlockPhase, *args: Any) -> TxResult:
        height, time_s, index = self._height, self._time, self._tx_index
        if not self._open:
            return self._failed(InvalidBlock("no block is open"), index)
        if self._in_unit:
            raise NestedUnit()
        self._tx_index = index + 1
        if self._idle_epochs:
            self._idle_epochs.clear()  # the unit may change what an epoch would do
        # the unit's savepoint, opened inline (this is every transaction's cost): the one
        # `Savepoint` object of the executor's units is reused, as units never nest and it
        # never leaves this method (`Store.savepoint` makes a fresh one, so that a stale
        # token held by a caller is refused)
        store = self._store
        point = self._unit_point
        point.mark = len(store._journal)
        store._open.append(point)
        self._in_unit = True
        # the buffers are reused between units (cleared, never shared): fewer allocations
        events = self._events
        created = self._created
        if events:
            events.clear()
        if created:
            created.clear()
        try:
            data = body(*args)
        except ChainError as exc:
            self._roll_back()
            return self._failed(exc, index)
        except Exception as exc:
            self._roll_back()
            return self._failed(InternalError(panic_detail(exc)), index)
        except BaseException:
            self._roll_back()
            raise
        self._in_unit = False
        opened = store._open
        if opened[-1] is point:
            # the usual case (the body closed what it opened): `Store.release` inline
            opened.pop()
            if not opened:
                store._journal.clear()
        else:
            store.release(point)
        if events:
            chain_id = self.chain_id
            stamped = tuple(
                [
                    ChainEvent(chain_id, height, time_s, index, phase, source, type_, attributes)
                    for source, type_, attributes in events
                ]
            )
            events.clear()
        else:
            stamped = ()
        if created:
            contracts = tuple(created)
            created.clear()
        else:
            contracts = ()
        return TxResult(True, data, None, stamped, contracts, height, time_s, index)

    def _roll_back(self) -> None:
        # a failure reached the unit: undo everything it changed and emitted (C-8, P-2)
        self._in_unit = False
        self._store.rollback_to(self._unit_point)
        self._events.clear()
        self._created.clear()

    def _failed(self, error: ChainError, index: int) -> TxResult:
        return TxResult(
            ok=False,
            data=None,
            error=error,
            events=(),
            contracts=(),
            height=self._height,
            time=self._time,
            tx_index=index,
        )

    def execute(
        self, sender: str, contract: str, msg: Any, funds: tuple[Coin, ...] = ()
    ) -> TxResult:
        """Transaction: ``sender`` executes ``contract`` with ``msg``, attaching ``funds``."""
        return self._unit(
            lambda: self.execute_contract(self.validate(sender), contract, msg, funds),
            _TX,
        )

    def instantiate(
        self,
        sender: str,
        code: str,
        msg: Any,
        funds: tuple[Coin, ...] = (),
        label: str = "",
        admin: str | None = None,
    ) -> TxResult:
        """Transaction: deploy a contract of ``code``; the result data is its address."""
        return self._unit(
            lambda: self.instantiate_contract(
                self.validate(sender), code, msg, funds, label, admin
            ),
            _TX,
        )

    def sudo(self, contract: str, msg: Any) -> TxResult:
        """Transaction: the chain calls ``contract``'s ``sudo`` entry point (no sender)."""
        return self._unit(self.sudo_contract, _TX, contract, msg)

    def submit(self, sender: str, msg: Any) -> TxResult:
        """Transaction: a root `CosmosMsg` or a native message (``_native_routes.py``) from
        ``sender``."""
        if sender not in self._valid or self._filters:
            return self._unit(self._submit, _TX, sender, msg)
        # the common case, with no step of `_submit` left to do: the message's route is the
        # unit's body (a native route first, as in `_submit`)
        cls = type(msg)
        route = self._root_routes.get(cls)
        if route is None:
            return self._unit(self._submit, _TX, sender, msg)
        if (
            route is not self._bank_send_route
            or len(msg.amount) != 1
            or not self._open
            or self._in_unit
        ):
            return self._unit(route, _TX, sender, msg)
        # A bank send of one coin (the most common transaction) runs as `_unit` would run
        # its route (``MessageRoutes._bank_send``), inline and without a savepoint: the send
        # checks everything (recipient, denom, amount, funds) before its only writes, the
        # two balances of `Bank.transfer`, and its one event comes after them, so a failure
        # leaves nothing to undo (the one thing it could not undo is a KeyboardInterrupt
        # signalled between those two writes; no cancellation can land there, the unit is
        # synchronous). These are `_unit`'s steps in `_unit`'s order, with the route's body
        # inline and its event stamped at once rather than recorded (nothing runs between
        # the two that could read the record); the tests compare both paths byte for byte.
        height, time_s, index = self._height, self._time, self._tx_index
        self._tx_index = index + 1
        if self._idle_epochs:
            self._idle_epochs.clear()  # the unit may change what an epoch would do
        if self._events:
            self._events.clear()
        if self._created:
            self._created.clear()  # (a bank send instantiates nothing)
        self._in_unit = True
        try:
            recipient = msg.to_address
            if recipient not in self._valid:
                self.validate(recipient)
            coin = msg.amount[0]
            amount = coin.amount
            denom = coin.denom
            if amount:
                self._bank.transfer(sender, recipient, denom, amount)
        except ChainError as exc:
            self._in_unit = False
            return self._failed(exc, index)
        except Exception as exc:
            self._in_unit = False
            return self._failed(InternalError(panic_detail(exc)), index)
        except BaseException:
            self._in_unit = False
            raise
        self._in_unit = False
        attributes = (("recipient", recipient), ("sender", sender), ("amount", f"{amount}{denom}"))
        stamped = (
            ChainEvent(self.chain_id, height, time_s, index, _TX, "bank", "transfer", attributes),
        )
        return TxResult(True, None, None, stamped, (), height, time_s, index)

    def _submit(self, sender: str, msg: Any) -> Any:
        if sender not in self._valid:
            self.validate(sender)
        native = self._native_routes.get(type(msg))
        if native is not None:
            return native(sender, msg)
        return self.dispatch(sender, msg)

    def gov_execute(
        self, authority: str, contract: str, msg: Any, funds: tuple[Coin, ...] = ()
    ) -> TxResult:
        """Governance: execute ``contract`` as the gov module account.

        Fails with `Unauthorized` unless ``authority`` is ``gov_address``.
        """

        def body() -> Any:
            if authority != self.gov_address:
                raise Unauthorized()
            return self.execute_contract(self.gov_address, contract, msg, funds)

        return self._unit(body, _TX)

    def gov_sudo(self, authority: str, contract: str, msg: Any) -> TxResult:
        """Governance: a privileged ``sudo`` call (e.g. set a max cap). `Unauthorized`
        unless ``authority`` is ``gov_address``."""

        def body() -> Any:
            if authority != self.gov_address:
                raise Unauthorized()
            return self.sudo_contract(contract, msg)

        return self._unit(body, _TX)
