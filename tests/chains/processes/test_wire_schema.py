"""The chains' message schema is named in the TCP handshake (`chains.mesh.WIRE_SCHEMA`).

Issue 16 changed messages that cross between processes (packed membership proofs, written
acks by sequence, new relayer counters). A process of the previous version would have its
frames refused one by one mid-run (`transport.MalformedFrame`); naming the schema in the
codec's handshake name refuses the pair at connect instead, with a named reason.
"""

from __future__ import annotations

import pytest

from chains.mesh import WIRE_SCHEMA, build_transport
from tests.chains.processes._topology import SECRET_ENV, processes_topology
from transport import ClientHandshake, HandshakeRefused, ReplayGuard, ServerHandshake, TcpNetwork

CURRENT = f"JsonCodec+chains-{WIRE_SCHEMA}"


def test_every_mesh_tcp_process_names_the_message_schema(monkeypatch: pytest.MonkeyPatch) -> None:
    """`build_transport` over TCP gives a chain's node and any other process the same
    codec name, with the schema version in it."""
    monkeypatch.setenv(SECRET_ENV, "a-secret-long-enough-0123456789")
    topology = processes_topology("tcp")
    node = build_transport(topology, listen=[topology.chains[0].id])
    client = build_transport(topology)
    assert isinstance(node, TcpNetwork) and isinstance(client, TcpNetwork)
    assert getattr(node.codec, "wire_name", None) == CURRENT
    assert getattr(client.codec, "wire_name", None) == CURRENT


def _refused_reason(dialer_codec: str, listener_codec: str) -> str:
    """The reason a listener with ``listener_codec`` refuses a HELLO from a dialer with
    ``dialer_codec``."""
    secret = b"s" * 32
    dialer = ClientHandshake(
        secret=secret, system="dialer", incarnation="00" * 8, target="a", codec=dialer_codec
    )
    listener = ServerHandshake(
        secret=secret,
        system="a",
        incarnation="11" * 8,
        codec=listener_codec,
        replay_guard=ReplayGuard(),
    )
    with pytest.raises(HandshakeRefused) as refused:
        listener.challenge(dialer.hello())
    return refused.value.reason


@pytest.mark.parametrize("old", ["JsonCodec", f"JsonCodec+chains-{WIRE_SCHEMA - 1}"])
def test_a_process_of_another_schema_is_refused_as_codec(old: str) -> None:
    """An older process (the default codec name before the schema was named, or the
    previous schema) is refused with reason "codec", as dialer and as listener."""
    assert _refused_reason(old, CURRENT) == "codec"
    assert _refused_reason(CURRENT, old) == "codec"
