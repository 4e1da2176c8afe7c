"""Histories of a chaos run: users' operations (Jepsen style) and every packet's life.

Operations: each has an ``invoke`` entry when the user submits it and one completion:
``ok`` (it took effect: for a cross-chain operation, its packet was acknowledged with
success), ``fail`` (it certainly did not: the transaction failed, the ack was an error, or
the packet timed out and was rolled back) or ``info`` (indeterminate, Jepsen's meaning:
unknown when the run ended, or answered in a block that a chain crash then lost, marked
with the error ``block_lost``). Times are clock seconds since the mesh started; heights
are the deciding chain's.

A chain crash loses the transactions of the chain's open block (`Chain.crash`), but their
events were already published: `History.retract` takes back what those events said (a
packet sent, received or settled in the lost block) and `History.reopen` the completion
an operation had from them, so the history describes only what the chains kept.

Packets: keyed by ``(chain, src_port, src_channel, seq)`` of the sending chain, with when
they were sent, received, acknowledged or timed out, counted (a correct mesh receives a
packet at most once and settles it exactly once), read from the chains' IBC events (I-25).

`History.operations_jsonl`, `History.packets_jsonl` and `History.edn` serialise them; the
EDN lines are what Jepsen's Elle and knossos tools read (``:type :process :f :value :time
:index``, times in nanoseconds).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from chains.host._events import BlockPhase, ChainEvent

__all__ = ["History", "HistoryEntry", "PacketLife", "to_edn"]

_NS = 1_000_000_000


@dataclass(frozen=True)
class HistoryEntry:
    """One line of the operation history."""

    index: int
    op: int
    type: str
    f: str
    process: str
    value: dict[str, Any]
    time: float
    height: int | None = None
    error: str | None = None


@dataclass
class PacketLife:
    """What happened to one packet (see the module docstring)."""

    chain: str
    src_port: str
    src_channel: str
    seq: int
    dst_port: str = ""
    dst_channel: str = ""
    sent_at: float | None = None
    sent_height: int | None = None
    received: int = 0
    received_at: float | None = None
    ack_success: bool | None = None
    acked: int = 0
    acked_at: float | None = None
    acked_height: int | None = None
    timed_out: int = 0
    timed_out_at: float | None = None
    timed_out_height: int | None = None

    @property
    def key(self) -> tuple[str, str, str, int]:
        """``(chain, src_port, src_channel, seq)``."""
        return (self.chain, self.src_port, self.src_channel, self.seq)

    @property
    def settled(self) -> bool:
        """Acknowledged or timed out (at least once)."""
        return bool(self.acked or self.timed_out)


def _str_key(key: tuple[str, str, str, int]) -> str:
    return "/".join(map(str, key))


@dataclass
class History:
    """The recorded history of one run (operations and packets)."""

    # the chains' block time (UNIX seconds) of clock second 0 of the run
    start_time: float = 0.0
    entries: list[HistoryEntry] = field(default_factory=list)
    packets: dict[tuple[str, str, str, int], PacketLife] = field(default_factory=dict)
    # (dst chain side) channel pair -> sending chain, learnt from send_packet events
    _senders: dict[tuple[str, str, str, str], str] = field(default_factory=dict)
    # every packet event observed, in order: `retract` rebuilds the packets from them
    _observed: list[ChainEvent] = field(default_factory=list)
    # (dst port, dst channel, seq) -> the lives sent there (a write_acknowledgement's
    # lookup, once per packet: a scan of every packet would make a run quadratic)
    _to: dict[tuple[str, str, int], list[PacketLife]] = field(default_factory=dict)

    # -- operations -------------------------------------------------------------------------

    def record(
        self,
        op: int,
        type_: str,
        f: str,
        process: str,
        value: dict[str, Any],
        time: float,
        *,
        height: int | None = None,
        error: str | None = None,
    ) -> HistoryEntry:
        """Append one entry (``type_``: invoke, ok, fail or info) and return it."""
        entry = HistoryEntry(
            len(self.entries), op, type_, f, process, value, round(time, 6), height, error
        )
        self.entries.append(entry)
        return entry

    def completion(self, op: int) -> HistoryEntry | None:
        """The ok/fail/info entry of operation ``op`` (``None`` while pending)."""
        for entry in reversed(self.entries):
            if entry.op == op and entry.type != "invoke":
                return entry
        return None

    def reopen(self, op: int) -> HistoryEntry | None:
        """Take back operation ``op``'s completion (its evidence was retracted: it is
        pending again) and return it, or ``None`` if it had none."""
        for i in range(len(self.entries) - 1, -1, -1):
            entry = self.entries[i]
            if entry.op == op and entry.type != "invoke":
                del self.entries[i]
                return entry
        return None

    def mark_lost(self, op: int, time: float, error: str = "block_lost") -> bool:
        """Turn operation ``op``'s ``ok`` completion into ``info`` at ``time`` with
        ``error`` (the block it was answered in was lost then: it is indeterminate);
        ``False`` if it had no ``ok`` completion."""
        for i in range(len(self.entries) - 1, -1, -1):
            entry = self.entries[i]
            if entry.op == op and entry.type != "invoke":
                if entry.type != "ok":
                    return False
                self.entries[i] = replace(entry, type="info", time=round(time, 6), error=error)
                return True
        return False

    def by_op(self) -> tuple[dict[int, HistoryEntry], dict[int, HistoryEntry]]:
        """Every operation's invoke entry and completion, by operation index, in one pass
        (what `invocation` and `completion` answer for one operation each)."""
        invocations: dict[int, HistoryEntry] = {}
        completions: dict[int, HistoryEntry] = {}
        for entry in self.entries:
            if entry.type == "invoke":
                invocations.setdefault(entry.op, entry)
            else:
                completions[entry.op] = entry  # the last one, as `completion`
        return invocations, completions

    def invocation(self, op: int) -> HistoryEntry | None:
        """The invoke entry of operation ``op``."""
        for entry in self.entries:
            if entry.op == op and entry.type == "invoke":
                return entry
        return None

    # -- packets ----------------------------------------------------------------------------

    def observe(self, event: ChainEvent) -> PacketLife | None:
        """Account for one chain event; returns the packet it concerned (if any)."""
        if event.source != "ibc":
            return None
        kind = event.type
        if kind not in (
            "send_packet",
            "recv_packet",
            "acknowledge_packet",
            "timeout_packet",
            "write_acknowledgement",
        ):
            return None
        self._observed.append(event)
        return self._apply(event, kind)

    def retract(self, chain: str, height: int) -> int:
        """Forget the events chain ``chain`` emitted after its block boundary at ``height``
        (its transactions there and anything later: a crash lost them, `LostBlock`); the
        packets are rebuilt from the events kept.
        Returns how many events were forgotten. Call it at the crash, before the chain
        runs anything again (its next transactions reuse the height)."""
        kept = [
            e
            for e in self._observed
            if e.chain_id != chain
            or e.height < height
            or (e.height == height and e.phase is BlockPhase.BEGIN_BLOCK)
        ]
        lost = len(self._observed) - len(kept)
        if lost:
            self._observed = kept
            self.packets = {}
            self._senders = {}
            self._to = {}
            for event in kept:
                self._apply(event, event.type)
        return lost

    def _apply(self, event: ChainEvent, kind: str) -> PacketLife | None:
        attrs = dict(event.attributes)
        seq = int(attrs.get("seq", "0"))
        when = round(float(event.time) - self.start_time, 6)
        if kind == "write_acknowledgement":
            sender = self._senders.get(("?", "?", attrs["dst_port"], attrs["dst_channel"]))
            for life in self._lives_to(attrs["dst_port"], attrs["dst_channel"], seq, sender):
                life.ack_success = attrs.get("success") == "true"
                return life
            return None
        src = (attrs["src_port"], attrs["src_channel"])
        dst = (attrs["dst_port"], attrs["dst_channel"])
        if kind == "recv_packet":
            sender = self._senders.get((*src, *dst))
            if sender is None:
                return None
            life = self._life(sender, *src, seq)
            life.received += 1
            if life.received_at is None:
                life.received_at = when
            return life
        if kind != "send_packet":
            # the ack or timeout of a packet sent before recording began (mesh setup)
            found = self.packets.get((event.chain_id, *src, seq))
            if found is None:
                return None
        life = self._life(event.chain_id, *src, seq)
        if (life.dst_port, life.dst_channel) != dst:
            life.dst_port, life.dst_channel = dst
            self._to.setdefault((*dst, seq), []).append(life)
        if kind == "send_packet":
            self._senders[(*src, *dst)] = event.chain_id
            self._senders[("?", "?", *dst)] = event.chain_id
            life.sent_at = when
            life.sent_height = event.height
        elif kind == "acknowledge_packet":
            life.acked += 1
            if life.acked_at is None:
                life.acked_at = when
                life.acked_height = event.height
        else:
            life.timed_out += 1
            if life.timed_out_at is None:
                life.timed_out_at = when
                life.timed_out_height = event.height
        return life

    def _life(self, chain: str, port: str, channel: str, seq: int) -> PacketLife:
        key = (chain, port, channel, seq)
        life = self.packets.get(key)
        if life is None:
            life = self.packets[key] = PacketLife(chain, port, channel, seq)
        return life

    def _lives_to(self, port: str, channel: str, seq: int, sender: str | None) -> list[PacketLife]:
        if sender is not None:
            return [
                life
                for life in self._to.get((port, channel, seq), ())
                if life.chain == sender and (life.dst_port, life.dst_channel) == (port, channel)
            ]
        return [
            life
            for life in self.packets.values()
            if life.seq == seq
            and life.dst_port == port
            and life.dst_channel == channel
            and (sender is None or life.chain == sender)
        ]

    # -- serialisation ----------------------------------------------------------------------

    def operations_jsonl(self) -> str:
        """The operation history, one JSON object per line (sorted keys: byte-stable)."""
        # vars, not asdict: asdict deep-copies every value on the way (a third of the time)
        return "".join(json.dumps(vars(e), sort_keys=True) + "\n" for e in self.entries)

    def packets_jsonl(self) -> str:
        """Every packet's life, one JSON object per line, in sending order."""
        lives = sorted(self.packets.values(), key=lambda p: (p.sent_at or 0.0, p.key))
        return "".join(
            json.dumps({"key": _str_key(p.key), **vars(p)}, sort_keys=True) + "\n" for p in lives
        )

    def edn(self) -> str:
        """The operation history as EDN maps, one per line, for Jepsen's tools."""
        lines = []
        processes: dict[str, int] = {}
        for e in self.entries:
            process = processes.setdefault(e.process, len(processes))
            record: dict[str, Any] = {
                ":type": f":{e.type}",
                ":f": f":{e.f.replace('_', '-')}",
                ":process": process,
                ":value": e.value,
                ":time": round(e.time * _NS),
                ":index": e.index,
            }
            if e.error is not None:
                record[":error"] = e.error
            lines.append(to_edn(record) + "\n")
        return "".join(lines)

    @staticmethod
    def entries_from_jsonl(text: str) -> list[HistoryEntry]:
        """The entries `operations_jsonl` wrote."""
        return [HistoryEntry(**json.loads(line)) for line in text.splitlines() if line]


def to_edn(value: Any) -> str:
    """``value`` as EDN: dicts are maps (a string key starting with ``:`` is a keyword,
    other keys keywords of their text), lists and tuples vectors, strings starting with
    ``:`` keywords only as map values produced here (see `History.edn`), ``None`` nil."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        if value.startswith(":") and value[1:].replace("-", "").isalnum():
            return value
        return json.dumps(value)
    if isinstance(value, dict):
        items = []
        for k, v in value.items():
            key = k if isinstance(k, str) and k.startswith(":") else f":{k}"
            items.append(f"{key} {to_edn(v)}")
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + " ".join(to_edn(v) for v in value) + "]"
    return json.dumps(str(value))
