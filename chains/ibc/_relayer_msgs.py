"""The relayer's configuration and the messages it accepts and answers (I-22)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chains.contract._ibc_types import IbcOrder
from mesh_actors import Message

__all__ = [
    "ClearNow",
    "ClearReport",
    "OpenChannel",
    "OpenChannelReply",
    "PathEnd",
    "PathReady",
    "PauseRelaying",
    "RelayerConfig",
    "RelayerStats",
    "RelayerStatus",
    "ResumeRelaying",
    "SetClientLag",
    "SetupPath",
]


class PathEnd(BaseModel):
    """One chain of a path: its id, the address of its IBC gateway actor, and (once the path
    is set up) its light client of the other chain and its connection to it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    chain_id: str
    gateway: str
    client_id: str = ""
    connection_id: str = ""


class RelayerConfig(BaseModel):
    """How one relayer relays one path (I-22).

    - ``a`` / ``b``: the two chains;
    - ``name``: the relayer's signer name on both chains;
    - ``max_batch``: packets (or other operations) per submitted batch;
    - ``batch_delay``: clock seconds to collect notices before submitting (0: at once);
    - ``clear_interval``: period of full clearing (pending packets, acks, timeouts,
      handshakes, closes), and of renewing the gateway subscriptions;
    - ``clear_limit``: pending packets per channel looked at in one clearing;
    - ``query_timeout``: seconds to wait for a gateway's answer before giving the round up;
    - ``retry_delay``: seconds before clearing again after a failure;
    - ``subscribe``: relay from block notices as they come (else only by clearing);
    - ``drop_packets``: probability that this relayer never delivers a given packet (it then
      times out; decided per packet from ``seed``); ``duplicate``: probability that a batch is
      submitted twice (redundant relays must be no-ops);
    - ``client_update_interval``: also update both clients this often without traffic
      (``None``: only as proofs need);
    - ``poll_interval``: how often `SetupPath` looks again for a committed block or
      connection step (clock seconds; a real-clock mesh whose setup ends blocks on demand
      polls often);
    - ``quiet_backoff``: while clearings find nothing pending on either chain and the
      notices tell of no activity (an idle path), each such clearing doubles the wait
      before the next, up to ``quiet_backoff`` clear intervals; any activity, a gap in a
      chain's notice numbers (a lost notice), a submission or a failure brings it back to
      ``clear_interval`` (1, the default: never back off). Only with ``subscribe``: the
      notices are what carries traffic meanwhile (issue 16: an idle mesh then stops the
      clock for clearings a few times a day, not every 100 blocks).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    a: PathEnd
    b: PathEnd
    name: str = "relayer"
    max_batch: int = Field(default=100, ge=1)
    batch_delay: float = Field(default=0.0, ge=0)
    clear_interval: float = Field(default=10.0, gt=0)
    clear_limit: int = Field(default=1000, ge=1)
    query_timeout: float = Field(default=5.0, gt=0)
    retry_delay: float = Field(default=1.0, gt=0)
    subscribe: bool = True
    drop_packets: float = Field(default=0.0, ge=0, le=1)
    duplicate: float = Field(default=0.0, ge=0, le=1)
    client_update_interval: float | None = Field(default=None, gt=0)
    poll_interval: float = Field(default=0.5, gt=0)
    seed: int = 0
    quiet_backoff: int = Field(default=1, ge=1)


class PauseRelaying(Message):
    """Stop relaying (notices and clearing are ignored) until `ResumeRelaying`."""

    type_name = "relayer.pause"


class SetClientLag(Message):
    """From now on, submit every batch ``lag`` clock seconds after planning it (0: at once):
    a relayer whose light-client updates, and the proofs that need them, land that stale
    (a fault for chaos runs). Batches already held keep their time."""

    type_name = "relayer.set_client_lag"
    lag: float = Field(ge=0)


class ResumeRelaying(Message):
    """Resume relaying; clears at once."""

    type_name = "relayer.resume"


class ClearNow(Message):
    """Run one full clearing now; answered with `ClearReport`."""

    type_name = "relayer.clear_now"


class ClearReport(Message):
    """What one clearing submitted (``ok`` false if a query failed)."""

    type_name = "relayer.clear_report"
    ok: bool
    batches: int = 0
    operations: int = 0
    error: str = ""


class RelayerStatus(Message):
    """Answered with `RelayerStats`."""

    type_name = "relayer.status"


class RelayerStats(Message):
    """Counters of one relayer incarnation (``queries``: the gateway queries its clearings
    asked, two or three per clearing; ``in_flight``: the packets it submitted for receipt
    whose ack it has not yet relayed, what it keeps per packet; ``acks_cleared``: the acks
    a notice named that it had no record of, left to a clearing)."""

    type_name = "relayer.stats"
    paused: bool
    clears: int
    failed_clears: int
    queries: int = 0
    notices: int
    batches_sent: int
    results: int
    items_ok: int
    items_noop: int
    items_failed: int
    in_flight: int = 0
    acks_cleared: int = 0


class SetupPath(Message):
    """Create both light clients and the connection (ICS-03 handshake); answered with
    `PathReady` once the connection is OPEN on both chains."""

    type_name = "relayer.setup_path"


class PathReady(Message):
    """The path's ends, with their client and connection ids."""

    type_name = "relayer.path_ready"
    a: PathEnd
    b: PathEnd


class OpenChannel(Message):
    """Start a channel handshake from ``port_a`` (on chain a) to ``port_b`` (I-6); the
    relayer completes it by clearing. Answered with `OpenChannelReply`."""

    type_name = "relayer.open_channel"
    port_a: str
    port_b: str
    ordering: IbcOrder = IbcOrder.UNORDERED
    version: str = ""


class OpenChannelReply(Message):
    """The channel id created on chain a, or the error of ``ChanOpenInit``."""

    type_name = "relayer.open_channel_reply"
    channel_id: str = ""
    error: str = ""
