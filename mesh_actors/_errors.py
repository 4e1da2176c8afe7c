"""The runtime's exception hierarchy: small and flat, one class per failure a caller can act on."""

from __future__ import annotations

__all__ = [
    "ActorNotFound",
    "ActorSystemClosed",
    "ActorTerminated",
    "AskTimeout",
    "HandlerError",
    "InvalidName",
    "MailboxFull",
    "MeshActorsError",
    "NameTaken",
    "NoRoute",
    "RestartLimitExceeded",
    "UnexpectedReply",
    "UnhandledMessage",
]


class MeshActorsError(Exception):
    """Base class of every error raised by :mod:`mesh_actors`."""


class AskTimeout(MeshActorsError, TimeoutError):
    """An ``ask`` got no reply within its timeout.

    A reply that arrives later goes to the dead letters, never to another caller.
    """


class HandlerError(MeshActorsError):
    """The handler of an asked message raised.

    ``error_type`` and ``message`` describe the original exception; when the handler ran in
    the same process the original is also chained as ``__cause__``.
    """

    def __init__(self, actor: str, error_type: str, message: str) -> None:
        super().__init__(f"{actor}: {error_type}: {message}")
        self.actor = actor
        self.error_type = error_type
        self.message = message


class UnhandledMessage(MeshActorsError):
    """The actor has no handler for the type of message it was asked."""

    def __init__(self, actor: str, message_type: str) -> None:
        super().__init__(f"{actor} has no handler for {message_type}")
        self.actor = actor
        self.message_type = message_type


class ActorNotFound(MeshActorsError):
    """No live actor has this address."""

    def __init__(self, address: str) -> None:
        super().__init__(f"no actor at {address}")
        self.address = address


class ActorTerminated(MeshActorsError):
    """The actor stopped before it handled the message (asks fail with this, not a timeout)."""

    def __init__(self, address: str) -> None:
        super().__init__(f"actor {address} terminated before replying")
        self.address = address


class ActorSystemClosed(MeshActorsError):
    """The actor system is shut down, or shutting down; pending asks fail with this."""


class MailboxFull(MeshActorsError):
    """The recipient's mailbox is at capacity and its policy refuses the message."""

    def __init__(self, address: str, capacity: int) -> None:
        super().__init__(f"mailbox of {address} is full ({capacity} messages)")
        self.address = address
        self.capacity = capacity


class NameTaken(MeshActorsError):
    """An actor with this name already lives under the same parent."""


class InvalidName(MeshActorsError, ValueError):
    """An actor or system name is empty or uses a reserved character."""


class NoRoute(MeshActorsError):
    """The address names another actor system and this system has no transport to reach it."""


class RestartLimitExceeded(MeshActorsError):
    """A child failed more often than its strategy allows; raised in (escalated to) its parent."""

    def __init__(self, child: str, restarts: int, within: float) -> None:
        super().__init__(f"{child} failed more than {restarts} times within {within}s")
        self.child = child
        self.restarts = restarts
        self.within = within


class UnexpectedReply(MeshActorsError, TypeError):
    """``ask(..., expect=T)`` got a reply that is not a ``T``."""
