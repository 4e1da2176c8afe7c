"""How an ask's failure travels back to an asker in another actor system."""

from __future__ import annotations

from ._errors import (
    ActorNotFound,
    ActorTerminated,
    HandlerError,
    MailboxFull,
    MeshActorsError,
    NoRoute,
    UnhandledMessage,
)
from ._message import Message

__all__ = ["Failure"]


class Failure(Message):
    """The body of a ``FAILURE`` envelope: which error, raised where, and its text."""

    type_name = "mesh_actors.Failure"
    kind: str
    actor: str
    error_type: str
    message: str

    @classmethod
    def from_exception(cls, error: BaseException) -> Failure:
        if isinstance(error, HandlerError):
            return cls(
                kind="handler",
                actor=error.actor,
                error_type=error.error_type,
                message=error.message,
            )
        if isinstance(error, UnhandledMessage):
            return cls(
                kind="unhandled",
                actor=error.actor,
                error_type=error.message_type,
                message=str(error),
            )
        if isinstance(error, ActorTerminated):
            return cls(kind="terminated", actor=error.address, error_type="", message=str(error))
        if isinstance(error, ActorNotFound):
            return cls(kind="not-found", actor=error.address, error_type="", message=str(error))
        if isinstance(error, MailboxFull):
            return cls(
                kind="mailbox-full",
                actor=error.address,
                error_type=str(error.capacity),
                message=str(error),
            )
        if isinstance(error, NoRoute):
            return cls(kind="no-route", actor="", error_type="", message=str(error))
        return cls(kind="handler", actor="", error_type=type(error).__name__, message=str(error))

    def to_exception(self) -> MeshActorsError:
        if self.kind == "unhandled":
            return UnhandledMessage(self.actor, self.error_type)
        if self.kind == "terminated":
            return ActorTerminated(self.actor)
        if self.kind == "not-found":
            return ActorNotFound(self.actor)
        if self.kind == "mailbox-full":
            capacity = int(self.error_type) if self.error_type.isdigit() else 0
            return MailboxFull(self.actor, capacity)
        if self.kind == "no-route":
            return NoRoute(self.message)
        return HandlerError(self.actor, self.error_type, self.message)
