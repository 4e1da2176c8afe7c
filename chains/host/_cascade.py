"""Inside a unit: the depth-first cascade of a unit's messages and the operations on it.

A unit's entry point runs, then the messages of its `Response` in order, depth-first: a
message's own messages run before its next sibling (provider.md P-3, consumer.md C-8). A
`SubMsg` whose reply mode catches errors (``ERROR``/``ALWAYS``) runs in a nested savepoint:
if it fails, its changes and events are rolled back and the emitter's ``reply`` runs with the
error; with ``SUCCESS``/``ALWAYS`` a success is replied too. A failing reply, or an uncaught
failure, propagates upward (C-9). A core that raises something other than a `ChainError` is
reported as `ContractPanic`, so a buggy core can never crash the host (P-6).

These operations are what units and modules call while a unit runs (``dispatch``,
``execute_contract``, ``instantiate_contract``, ``sudo_contract``, ``call_contract``,
``nested``, ``attempt``, ``emit``); the routes of emitted messages are in ``_routes.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from chains.contract._address import derive_address
from chains.contract._coin import Coin
from chains.contract._contract import (
    Contract,
    ContractStorage,
    Deps,
    Env,
    Event,
    IbcBasicResponse,
    IbcReceiveResponse,
    MessageInfo,
    Reply,
    ReplyOn,
    Response,
    SubMsg,
)
from chains.contract._errors import ChainError, UnsupportedMessage
from chains.host._chain_state import ChainState, ContractInfo
from chains.host._errors import CodeNotFound, ContractNotFound, ContractPanic, panic_detail
from chains.host._events import as_events
from chains.host._querier import run_read_only
from chains.modules._module import IdleEpochContract

__all__: list[str] = []  # a part of `TxExecutor`, not offered on its own

# module constants: an enum member read through its class costs ~0.1 us on CPython 3.11,
# and every sub-message reads its reply mode
_NEVER = ReplyOn.NEVER
_SUCCESS = ReplyOn.SUCCESS
_ERROR = ReplyOn.ERROR

T = TypeVar("T")
R = TypeVar("R")


class MessageCascade(ChainState):
    """The in-unit operations of a `TxExecutor` (see the module docstring).

    Every method here must run inside a unit (``TxExecutor.run`` and the other unit
    methods); what they change is kept only if the unit commits.
    """

    def emit(self, source: str, event: Event) -> None:
        """Record an event of the running unit (kept only if the unit commits)."""
        self._events.append((source, event.type, event.attributes))

    def emit_raw(self, source: str, type_: str, attributes: tuple[tuple[str, str], ...]) -> None:
        """`emit` without building an `Event` (for per-packet paths)."""
        self._events.append((source, type_, attributes))

    def emit_raw_many(self, events: list[tuple[str, str, tuple[tuple[str, str], ...]]]) -> None:
        """`emit_raw` of each ``(source, type, attributes)`` in order, in one call (for the
        IBC module's batch paths)."""
        self._events.extend(events)

    def nested(self, body: Callable[..., T], *args: Any) -> T:
        """In a unit: run ``body(*args)`` in a nested savepoint; if it raises anything, undo
        what it changed, emitted and instantiated, and re-raise (unlike `attempt`, which
        catches).
        """
        store = self._store
        point = store.enter()
        events = self._events
        mark = len(events)
        created = len(self._created)
        try:
            result = body(*args)
        except BaseException:
            store.undo(point)
            del events[mark:]
            del self._created[created:]
            raise
        store.keep(point)
        return result

    def dispatch(self, sender: str, msg: Any) -> Any:
        """Route one emitted message (see ``_routes.py``) and return its data.

        Runs every module's ``check_message`` first. Raises `UnsupportedMessage` for a
        message type that is not routable, and whatever the route raises.
        """
        for guard in self._filters:
            guard.check_message(sender, msg)
        route = self._routes.get(type(msg))
        if route is None:
            raise UnsupportedMessage("dispatch", type(msg).__name__)
        return route(sender, msg)

    def attempt(self, body: Callable[..., T], *args: Any) -> tuple[T | None, ChainError | None]:
        """In a unit: run ``body(*args)`` and catch its failure, as a reply would (C-9).

        Runs in a nested savepoint. Returns ``(result, None)`` on success; on a `ChainError`
        rolls back everything ``body`` changed, emitted and instantiated and returns
        ``(None, error)`` while the unit goes on. This is how a module writes an error
        acknowledgement after an application's failed packet receive, without the
        application's changes (ibc.md). Other exceptions propagate.
        """
        store = self._store
        point = store.enter()
        mark = len(self._events)
        created = len(self._created)
        try:
            result = body(*args)
        except ChainError as exc:
            store.undo(point)
            del self._events[mark:]
            del self._created[created:]
            return None, exc
        except BaseException:
            store.undo(point)
            raise
        store.keep(point)
        return result, None

    def _core(self, address: str) -> Contract:
        core = self._cores.get(address)
        if core is not None and address in self._contracts:
            return core
        info = self._contracts.get(address)
        if info is None:
            self.validate(address)
            raise ContractNotFound(address)
        return self._build(address, self._codes[info.code])

    def _build(self, address: str, cls: type[Contract]) -> Contract:
        storage = self._storages.get(address)
        if storage is None:
            storage = self._storages[address] = ContractStorage(self._store, address)
        deps = Deps(storage, self.querier, self.validate, self.chain_id)
        try:
            core = cls(deps)
        except ChainError:
            raise
        except Exception as exc:
            raise ContractPanic(address, "__init__", panic_detail(exc)) from exc
        self._cores[address] = core
        return core

    def _env(self, address: str) -> Env:
        env = self._envs.get(address)
        if env is None:
            env = self._envs[address] = Env(block=self.block_env, contract_address=address)
        return env

    def execute_contract(
        self, sender: str, contract: str, msg: Any, funds: tuple[Coin, ...] = ()
    ) -> Any:
        """In a unit: move ``funds`` sender → contract, run ``execute`` and its messages.

        Returns the response data (possibly replaced by a reply's data).
        """
        core = self._core(contract)
        if funds:
            self._bank.send(sender, contract, funds)
        info = MessageInfo(sender=sender, funds=tuple(funds))
        env = self._env(contract)
        self._events.append(("wasm", "execute", (("_contract_address", contract),)))
        try:
            response = core.execute(env, info, msg)
        except ChainError:
            raise
        except Exception as exc:
            raise ContractPanic(contract, "execute", panic_detail(exc)) from exc
        return self._run_response(contract, "execute", response)

    def instantiate_contract(
        self,
        sender: str,
        code: str,
        msg: Any,
        funds: tuple[Coin, ...] = (),
        label: str = "",
        admin: str | None = None,
    ) -> str:
        """In a unit: deploy a new contract of ``code`` and return its address.

        The address is derived from the chain prefix, the code and a counter kept in the
        store, so it is deterministic and a rolled-back instantiation frees it again.
        Raises `CodeNotFound`, `InvalidAddress` (admin) or what ``instantiate`` raises.
        """
        cls = self._codes.get(code)
        if cls is None:
            raise CodeNotFound(code)
        if admin is not None:
            self.validate(admin)
        number = self._counters.get("instances", 0) + 1
        self._counters["instances"] = number
        address = derive_address(self.prefix, f"contract/{code}/{number}", length=32)
        self._contracts[address] = ContractInfo(
            address=address,
            code=code,
            label=label,
            creator=sender,
            admin=admin,
            created_height=self._height,
        )
        self._created.append(address)
        core = self._build(address, cls)
        if funds:
            self._bank.send(sender, address, funds)
        self._events.append(
            ("wasm", "instantiate", (("_contract_address", address), ("code", code)))
        )
        info = MessageInfo(sender=sender, funds=tuple(funds))
        try:
            response = core.instantiate(self._env(address), info, msg)
        except ChainError:
            raise
        except Exception as exc:
            raise ContractPanic(address, "instantiate", panic_detail(exc)) from exc
        self._run_response(address, "instantiate", response)
        return address

    def sudo_contract(self, contract: str, msg: Any) -> Any:
        """In a unit: run ``contract``'s ``sudo`` entry point and its messages."""
        core = self._core(contract)
        self._events.append(("wasm", "sudo", (("_contract_address", contract),)))
        try:
            response = core.sudo(self._env(contract), msg)
        except ChainError:
            raise
        except Exception as exc:
            raise ContractPanic(contract, "sudo", panic_detail(exc)) from exc
        return self._run_response(contract, "sudo", response)

    def epoch_idle(self, contract: str) -> bool:
        """Whether ``contract``'s ``handle_epoch`` sudo call would be a no-op now (see
        `IdleEpochContract`): ``False`` for a contract that cannot tell, a missing one, or
        a check that fails (then the epoch runs and reports as usual). Reads only."""
        cache = self._idle_epochs
        known = cache.get(contract)
        if known is not None:
            return known
        try:
            core = self._core(contract)
            if not isinstance(core, IdleEpochContract):
                idle = False
            else:
                env = self._env(contract)
                idle = run_read_only(self._store, contract, lambda: bool(core.epoch_is_idle(env)))
        except Exception:  # a buggy check must not stop blocks: run the epoch
            idle = False
        cache[contract] = idle
        return idle

    def call_contract(
        self,
        contract: str,
        entry_point: str,
        invoke: Callable[..., R],
        *args: Any,
    ) -> tuple[R, Any]:
        """In a unit: call any entry point of ``contract`` and run the messages it returns.

        ``invoke(core, env, *args)`` calls the entry point (e.g. ``ibc_packet_receive``)
        and returns its response: anything with ``messages`` and ``events`` (and optionally
        ``data``), or ``None`` for entry points without one. Returns the response itself
        and the data after replies. Non-`ChainError` exceptions become `ContractPanic`.
        """
        # `_core` and `_env` inlined for the cached case (two per packet relayed); the
        # registry check is the map's C-level get, not its Python-level __contains__
        core = self._cores.get(contract)
        if core is None or self._contracts.get(contract) is None:
            core = self._core(contract)
        env = self._envs.get(contract)
        if env is None:
            env = self._env(contract)
        try:
            response = invoke(core, env, *args)
        except ChainError:
            raise
        except Exception as exc:
            raise ContractPanic(contract, entry_point, panic_detail(exc)) from exc
        if type(response) is IbcReceiveResponse or type(response) is IbcBasicResponse:
            # the per-packet callbacks (exactly these types: a subclass may carry data): a
            # response with nothing to run (the usual receive) makes `_run_response` return
            # None
            callback: Any = response  # (no cast() call on the per-packet path)
            if not callback.messages and not callback.events:
                return response, None
        elif response is None or not hasattr(response, "messages"):
            return response, None
        return response, self._run_response(contract, entry_point, response)

    def _run_response(
        self, emitter: str, entry_point: str, response: Any, source: str | None = None
    ) -> Any:
        """Record a response's events, then run its messages depth-first (C-8, P-3)."""
        try:
            messages: tuple[SubMsg, ...] = response.messages
            emitted: tuple[Event, ...] = response.events
        except AttributeError:
            raise ContractPanic(
                emitter, entry_point, f"returned {type(response).__name__}, not a Response"
            ) from None
        # the IBC callback responses have no data field, and a failed attribute lookup on a
        # pydantic model is slow (it builds an error): skip it on the per-packet path
        data = (
            None
            if type(response) is IbcBasicResponse or type(response) is IbcReceiveResponse
            else getattr(response, "data", None)
        )
        if emitted:
            label = source or emitter
            self._events.extend((label, event.type, event.attributes) for event in emitted)
        for sub in messages:
            replied = self._run_submsg(emitter, sub)
            if replied is not None:
                # as in CosmWasm: data set by a reply replaces the response's data
                data = replied
        return data

    def _run_submsg(self, emitter: str, sub: SubMsg) -> Any:
        mode = sub.reply_on
        if mode is _NEVER:
            # an uncaught failure unwinds to an enclosing savepoint: none needed here
            self.dispatch(emitter, sub.msg)
            return None
        events = self._events
        mark = len(events)
        if mode is _SUCCESS:
            # likewise: only a success is replied, so a failure unwinds as with NEVER
            result = self.dispatch(emitter, sub.msg)
        else:
            store = self._store
            # an anonymous savepoint (a journal mark, no object): closed in order below
            point = store.enter()
            created = len(self._created)
            try:
                # `dispatch` written out: this is the path of every epoch's reward
                # withdrawals (one ALWAYS sub-message per bonded validator, C-95)
                msg = sub.msg
                for guard in self._filters:
                    guard.check_message(emitter, msg)
                route = self._routes.get(type(msg))
                if route is None:
                    raise UnsupportedMessage("dispatch", type(msg).__name__)
                result = route(emitter, msg)
            except ChainError as exc:
                # caught (C-9): this sub-message's changes and events are undone
                store.undo(point)
                del events[mark:]
                del self._created[created:]
                return self._reply(emitter, Reply.trusted(sub.id, False, None, (), exc))
            except BaseException:
                store.undo(point)
                raise
            store.keep(point)
            if mode is _ERROR:
                return None
        # the success reply of SUCCESS and ALWAYS, built in one place: it is the per-target
        # reward withdrawal reply of every epoch (C-95, C-99), hence the direct construction
        # of the struct. Of what `Reply.trusted` checks only the id is not known here: the
        # flag is a bool, the events a tuple of exact `Event`s (`as_events` builds them),
        # there is no error
        reply_id = sub.id
        if type(reply_id) is int:
            reply = Reply(reply_id, True, result, as_events(events[mark:]), None)
        else:
            reply = Reply.trusted(reply_id, True, result, as_events(events[mark:]), None)
        return self._reply(emitter, reply)

    def _reply(self, emitter: str, reply: Reply) -> Any:
        # `_core` and `_env` inlined for the cached case (one reply per epoch target)
        core = self._cores.get(emitter)
        if core is None or self._contracts.get(emitter) is None:
            core = self._core(emitter)
        env = self._envs.get(emitter)
        if env is None:
            env = self._env(emitter)
        try:
            response = core.reply(env, reply)
        except ChainError:
            raise
        except Exception as exc:
            raise ContractPanic(emitter, "reply", panic_detail(exc)) from exc
        if type(response) is Response and not response.messages and not response.events:
            # the usual reply (a withdrawal added to the batch, C-99): nothing to run, its
            # data is the result, as `_run_response` would find
            return response.data
        return self._run_response(emitter, "reply", response)
