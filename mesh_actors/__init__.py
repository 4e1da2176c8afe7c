"""mesh_actors: a small, typed actor runtime on anyio (asyncio or trio).

Actors with bounded mailboxes, typed references, tell and ask with timeouts, supervision,
death watch, timers, dead letters, a typed event stream, and a `Clock` that can be virtual.
It knows nothing of chains or sockets; transports plug in through `Network`.
"""

from ._actor import Actor, handler, run_handler
from ._address import Address
from ._clock import Clock, ClockDriver, RealClock, VirtualClock, wait_all_tasks_blocked
from ._context import ActorContext
from ._envelope import Envelope, EnvelopeKind
from ._errors import (
    ActorNotFound,
    ActorSystemClosed,
    ActorTerminated,
    AskTimeout,
    HandlerError,
    InvalidName,
    MailboxFull,
    MeshActorsError,
    NameTaken,
    NoRoute,
    RestartLimitExceeded,
    UnexpectedReply,
    UnhandledMessage,
)
from ._events import (
    ActorFailed,
    ActorRestarted,
    ActorStarted,
    ActorStopped,
    DeadLetter,
    EventStream,
    Subscription,
    SystemEvent,
)
from ._failure import Failure
from ._logging import get_logger
from ._mailbox import Mailbox, MailboxConfig, MailboxStatistics, OverflowPolicy
from ._message import Message, MessageRegistry, Terminated, construct_trusted
from ._ref import ActorRef
from ._remote import Endpoint, Inbound, Network
from ._scheduler import ScheduledCall, Scheduler
from ._supervision import Backoff, Directive, Scope, SupervisorStrategy
from ._system import ActorSystem
from ._timers import Timers
from ._watch import Unwatch, Watch

__all__ = [
    "Actor",
    "ActorContext",
    "ActorFailed",
    "ActorNotFound",
    "ActorRef",
    "ActorRestarted",
    "ActorStarted",
    "ActorStopped",
    "ActorSystem",
    "ActorSystemClosed",
    "ActorTerminated",
    "Address",
    "AskTimeout",
    "Backoff",
    "Clock",
    "ClockDriver",
    "DeadLetter",
    "Directive",
    "Endpoint",
    "Envelope",
    "EnvelopeKind",
    "EventStream",
    "Failure",
    "HandlerError",
    "Inbound",
    "InvalidName",
    "Mailbox",
    "MailboxConfig",
    "MailboxFull",
    "MailboxStatistics",
    "MeshActorsError",
    "Message",
    "MessageRegistry",
    "NameTaken",
    "Network",
    "NoRoute",
    "OverflowPolicy",
    "RealClock",
    "RestartLimitExceeded",
    "ScheduledCall",
    "Scheduler",
    "Scope",
    "Subscription",
    "SupervisorStrategy",
    "SystemEvent",
    "Terminated",
    "Timers",
    "UnexpectedReply",
    "UnhandledMessage",
    "Unwatch",
    "VirtualClock",
    "construct_trusted",
    "get_logger",
    "Watch",
    "handler",
    "run_handler",
    "wait_all_tasks_blocked",
]
