"""The typed events of the IBC module (I-25).

Every event the module emits has ``source == "ibc"`` and one of the types below; its
attributes are strings (as every chain event's). Handshake steps: ``channel_open_init``,
``channel_open_try``, ``channel_open_ack``, ``channel_open_confirm`` (``port``, ``channel``,
``counterparty_port``, ``counterparty_channel``, ``connection``, ``version``, ``ordering``);
``channel_close`` (same, plus ``step``: ``init``, ``confirm`` or ``timeout``, the last for an
ORDERED channel closed by a timeout, I-14). Packets: ``send_packet``, ``recv_packet``,
``acknowledge_packet``, ``timeout_packet`` (``seq``, ``src_port``, ``src_channel``,
``dst_port``, ``dst_channel``, ``timeout_height``, ``timeout_timestamp``; ``timeout_packet``
adds ``on_close``); ``write_acknowledgement`` (``seq``, ``dst_port``, ``dst_channel``,
``success``: ``"true"``/``"false"``). Clients and connections: ``create_client``,
``update_client``, ``connection_open_init/try/ack/confirm``. Application events follow, with
the contract as their source.

`IbcEventType` names them; the builders return ``(type, attributes)`` pairs.
"""

from __future__ import annotations

import enum

from chains.contract._ibc_types import IbcPacket

__all__ = ["IbcEventType", "channel_attributes", "packet_attributes"]

Attributes = tuple[tuple[str, str], ...]


class IbcEventType(enum.StrEnum):
    """The event types of I-25 (and of client/connection steps)."""

    CREATE_CLIENT = "create_client"
    UPDATE_CLIENT = "update_client"
    CONNECTION_OPEN_INIT = "connection_open_init"
    CONNECTION_OPEN_TRY = "connection_open_try"
    CONNECTION_OPEN_ACK = "connection_open_ack"
    CONNECTION_OPEN_CONFIRM = "connection_open_confirm"
    CHANNEL_OPEN_INIT = "channel_open_init"
    CHANNEL_OPEN_TRY = "channel_open_try"
    CHANNEL_OPEN_ACK = "channel_open_ack"
    CHANNEL_OPEN_CONFIRM = "channel_open_confirm"
    CHANNEL_CLOSE = "channel_close"
    SEND_PACKET = "send_packet"
    RECV_PACKET = "recv_packet"
    WRITE_ACKNOWLEDGEMENT = "write_acknowledgement"
    ACKNOWLEDGE_PACKET = "acknowledge_packet"
    TIMEOUT_PACKET = "timeout_packet"


def packet_attributes(packet: IbcPacket) -> Attributes:
    """``seq``, ``src``/``dst`` port and channel, and the timeout of ``packet``."""
    timeout = packet.timeout
    src = packet.src
    dest = packet.dest
    return (
        ("seq", str(packet.sequence)),
        ("src_port", src.port_id),
        ("src_channel", src.channel_id),
        ("dst_port", dest.port_id),
        ("dst_channel", dest.channel_id),
        ("timeout_height", f"{timeout.revision}-{timeout.height}"),
        ("timeout_timestamp", str(timeout.timestamp_ns)),
    )


def channel_attributes(
    port_id: str,
    channel_id: str,
    counterparty_port_id: str,
    counterparty_channel_id: str,
    connection_id: str,
    version: str,
    ordering: str,
) -> Attributes:
    """The attributes of a handshake or close event."""
    return (
        ("port", port_id),
        ("channel", channel_id),
        ("counterparty_port", counterparty_port_id),
        ("counterparty_channel", counterparty_channel_id),
        ("connection", connection_id),
        ("version", version),
        ("ordering", ordering),
    )
