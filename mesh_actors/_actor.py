"""The actor base class and typed message handlers."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, Union, overload

from ._mailbox import MailboxConfig
from ._supervision import Scope

if TYPE_CHECKING:
    from ._context import ActorContext

__all__ = ["Actor", "handler", "run_handler"]

M = TypeVar("M")
F = TypeVar("F", bound=Callable[..., Any])

_HANDLES = "__mesh_handles__"
_RUNS = "__mesh_runs__"


@overload
def handler(fn: F, /) -> F: ...
@overload
def handler(*types_: type[Any]) -> Callable[[F], F]: ...
def handler(*args: Any) -> Any:
    """Mark a method as the handler for one or more message types.

    ``@handler`` reads the types from the annotation of the message parameter (a class or a
    union of classes); ``@handler(Ping, Pong)`` names them explicitly. The handler may be a
    plain or an ``async`` method; what it returns is the reply to an ``ask`` (ignored for a
    tell). A plain method is cheaper: it runs without creating a coroutine.
    """
    if len(args) == 1 and callable(args[0]) and not isinstance(args[0], type):
        setattr(args[0], _HANDLES, ())
        return args[0]

    def mark(fn: F) -> F:
        setattr(fn, _HANDLES, tuple(args))
        return fn

    return mark


def run_handler(message_type: type[Any], /) -> Callable[[F], F]:
    """Mark a method as the handler of *runs* of tells of exactly ``message_type``.

    The method takes ``(self, run)``, ``run`` a non-empty ``collections.deque`` of
    messages: consecutive tells of that class (not of subclasses), all from the same sender
    and the same side of the transport (``ctx.sender`` and ``ctx.remote`` hold for each),
    taken from the mailbox at once (at most the rest of the actor's batch). It must take
    them from the front (``popleft``), at least one unless it raises, and handle each as
    the type's `handler` would; asks of the type, and every message in debug mode, still
    go to that handler one at a time. The runtime then skips its per-message step for all
    but the first message of a run. Whatever is left in ``run`` when it returns or raises
    goes back to the front of the mailbox, in order; if it raises, the actor fails as for a
    handler. A run is gathered before it is handled and ends at the first other message or
    system signal, so a handler that stops or suspends its own actor must not have a run
    handler. It may be ``async`` (like a handler); its return value is ignored.

    Raises ``TypeError`` (when the class is created) if the class has no handler for
    ``message_type``.
    """

    def mark(fn: F) -> F:
        setattr(fn, _RUNS, message_type)
        return fn

    return mark


def _annotated_types(cls: type, fn: Callable[..., Any]) -> tuple[type[Any], ...]:
    params = list(inspect.signature(fn).parameters.values())
    if len(params) != 2:
        raise TypeError(f"handler {cls.__name__}.{fn.__name__} must take (self, message)")
    module = inspect.getmodule(cls)
    hints = typing.get_type_hints(
        fn, globalns=vars(module) if module else None, localns=dict(vars(cls))
    )
    hint = hints.get(params[1].name)
    if hint is None:
        raise TypeError(f"handler {cls.__name__}.{fn.__name__}: annotate the message parameter")
    origin = typing.get_origin(hint)
    found = typing.get_args(hint) if origin in (Union, types.UnionType) else (hint,)
    for t in found:
        if not isinstance(t, type):
            raise TypeError(f"handler {cls.__name__}.{fn.__name__}: {t!r} is not a class")
    return tuple(found)


class Actor(Generic[M]):
    """Base class of actors; ``M`` is the union of the message types the actor accepts.

    Subclasses mark methods with `handler`. An actor's methods run in its own task, one
    message at a time, so an actor never needs locks for its own state. ``self.ctx`` (the
    `ActorContext`) is set before `on_start` runs.

    Class attributes tune the runtime per actor class (spawn arguments override them):

    - ``mailbox``: capacity and overflow policy (`MailboxConfig`);
    - ``children_scope``: whether a failing child's restart/stop applies to its siblings too
      (overridden per child by the child's strategy scope).
    """

    mailbox: ClassVar[MailboxConfig] = MailboxConfig()
    ctx: ActorContext[M]

    __handler_names__: ClassVar[dict[type[Any], str]] = {}
    __dispatch__: ClassVar[dict[type[Any], Callable[..., Any] | None]]
    # message class -> the `run_handler` for runs of its tells (exact classes only)
    __runs__: ClassVar[dict[type[Any], Callable[..., Any]]] = {}
    children_scope: ClassVar[Scope | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own: dict[type[Any], str] = {}
        for name, attr in cls.__dict__.items():
            marked = getattr(attr, _HANDLES, None)
            if marked is None:
                continue
            for t in marked or _annotated_types(cls, attr):
                if t in own:
                    raise TypeError(f"{cls.__name__}: two handlers for {t.__name__}")
                own[t] = name
        inherited: dict[type[Any], str] = {}
        for base in reversed(cls.__mro__[1:]):
            inherited.update(getattr(base, "__handler_names__", {}))
        cls.__handler_names__ = {**inherited, **own}
        cls.__dispatch__ = {}
        run_names: dict[type[Any], str] = {}
        for base in reversed(cls.__mro__):
            for name, attr in base.__dict__.items():
                marked_run: type[Any] | None = getattr(attr, _RUNS, None)
                if marked_run is not None:
                    run_names[marked_run] = name
        runs: dict[type[Any], Callable[..., Any]] = {}
        for run_type, name in run_names.items():
            fn: Callable[..., Any] = getattr(cls, name)
            if getattr(fn, _RUNS, None) is not run_type:
                continue  # overridden by a method that is not a run handler
            if cls._lookup(run_type) is None:
                raise TypeError(
                    f"{cls.__name__}.{fn.__name__}: a run handler for {run_type.__name__}, "
                    "which has no handler"
                )
            runs[run_type] = fn
        cls.__runs__ = runs

    @classmethod
    def _lookup(cls, message_type: type[Any]) -> Callable[..., Any] | None:
        """The handler function for ``message_type`` (nearest base class wins), cached."""
        names = cls.__handler_names__
        for t in message_type.__mro__:
            name = names.get(t)
            if name is not None:
                fn: Callable[..., Any] | None = getattr(cls, name)
                break
        else:
            fn = None
        cls.__dispatch__[message_type] = fn
        return fn

    @classmethod
    def accepts(cls, message_type: type[Any]) -> bool:
        """Whether an instance has a handler for messages of ``message_type``."""
        fn = cls.__dispatch__.get(message_type, ...)
        if fn is ...:
            fn = cls._lookup(message_type)
        return fn is not None

    async def on_start(self) -> None:
        """Runs in the actor's task before the first message (and, by default, after a restart).

        If it raises, the actor counts as failed and its supervisor decides, as for a handler.
        """

    async def on_stop(self) -> None:
        """Runs in the actor's task after its children stopped and before watchers are told.

        It is not run on the instance a restart discards. An exception is logged and ignored:
        the actor stops anyway.
        """

    async def on_restart(self, error: BaseException) -> None:
        """Runs on the fresh instance a restart created, in place of `on_start`.

        ``error`` is what made the previous instance fail. The default calls `on_start`. If it
        raises, the actor counts as failed again.
        """
        await self.on_start()

    def on_drained(self) -> None:
        """Called after the actor handled a run of messages, before its task lets any other
        task run: after each batch it takes from its mailbox, and before it awaits an
        asynchronous handler. The default does nothing (and costs nothing: it is not
        called unless a subclass overrides it).

        Work a handler can defer without anyone seeing the difference goes here: until the
        actor's task yields, no other task (no subscriber, no asker) can run, so e.g. the
        events of a run of messages can be published once, in order, at its end. It must
        not await; if it raises, the actor counts as failed (as for a handler).
        """

    def on_unhandled(self, message: Any) -> None:
        """Called for a message no handler accepts; the default sends it to the dead letters.

        An ``ask`` of such a message fails with `UnhandledMessage` either way.
        """
        self.ctx.system._dead_letter_message(self.ctx.self_ref.address, message, "unhandled")
