"""The transport a topology's ``[network]`` section asks for (`build_transport`).

``memory`` is the in-process network (virtual or real clock); ``tcp`` and ``nats`` cross
real sockets, so their actor systems run on a real clock (a virtual clock would jump past
the I/O; `Mesh` refuses the pair with `RealClockRequired`). Where the TCP shared secret comes
from is the file's business (``secret_env`` or ``secret_file``), never the secret itself:
the file may be committed and copied between machines, the secret may not.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from chains.mesh._errors import MeshError
from chains.mesh._topology import NetworkSpec, Topology
from mesh_actors import MessageRegistry
from transport import InMemoryNetwork, JsonCodec, NatsTransport, TcpNetwork, Transport

__all__ = [
    "WIRE_SCHEMA",
    "NetworkConfigError",
    "RealClockRequired",
    "build_transport",
    "chain_address",
    "network_secret",
]

WIRE_SCHEMA: Final = 2
"""The version of the chains' messages as they cross between processes, named in the TCP
handshake's codec (``"JsonCodec+chains-2"``): a process of another version is refused at
connect, with `transport.HandshakeRefused` (reason ``"codec"``), rather than having some of
its frames refused mid-run. Raised whenever a message that crosses a process boundary gains,
loses or reinterprets a field. 1: the first multi-process release; 2: issue 16 (membership
proofs packed, written acks by sequence in `chains.ibc.ChannelActivity`, `RelayerStats`'
new counters). NATS has no handshake between peers: there a frame of another version is
refused on arrival (`transport.MalformedFrame`)."""

# the shortest secret the TCP handshake accepts (`TcpNetwork`)
_MIN_SECRET = 16


class NetworkConfigError(MeshError):
    """The ``[network]`` section cannot be turned into a transport here: ``detail`` says
    why (no secret in the named variable or file, a TLS file that cannot be read, a chain
    without an address)."""

    fields = ("detail",)
    detail: str

    def __init__(self, detail: str) -> None:
        super().__init__(detail)


class RealClockRequired(MeshError):
    """A transport that crosses real sockets (``transport``) was given a virtual clock:
    the clock would jump past the I/O it cannot see. Use ``mesh_actors.RealClock()``."""

    fields = ("transport",)
    transport: str

    def __init__(self, transport: str) -> None:
        super().__init__(transport)


def _path(name: str, base: Path | None) -> Path:
    path = Path(name)
    if not path.is_absolute() and base is not None:
        path = base / path
    return path


def network_secret(spec: NetworkSpec, *, base: Path | None = None) -> bytes:
    """The shared secret of ``spec``: the variable ``secret_env`` (as UTF-8), else the
    file ``secret_file`` (relative to ``base``, stripped of surrounding whitespace).
    Raises `NetworkConfigError` if neither gives at least 16 bytes."""
    if spec.secret_env is not None:
        value = os.environ.get(spec.secret_env)
        if value:
            secret = value.strip().encode("utf-8")
            if len(secret) >= _MIN_SECRET:
                return secret
            raise NetworkConfigError(f"${spec.secret_env} is shorter than {_MIN_SECRET} bytes")
    if spec.secret_file is not None:
        path = _path(spec.secret_file, base)
        try:
            secret = path.read_bytes().strip()
        except OSError as exc:
            raise NetworkConfigError(f"cannot read the secret file {path}: {exc}") from None
        if len(secret) >= _MIN_SECRET:
            return secret
        raise NetworkConfigError(f"the secret in {path} is shorter than {_MIN_SECRET} bytes")
    where = " or ".join(
        x
        for x in (
            f"${spec.secret_env}" if spec.secret_env else "",
            str(spec.secret_file or ""),
        )
        if x
    )
    raise NetworkConfigError(
        f"no shared secret ({where or 'set secret_env or secret_file in [network]'})"
    )


def chain_address(topology: Topology, chain_id: str) -> tuple[str, int]:
    """Where ``chain_id``'s process listens (TCP): its ``address``. Raises
    `NetworkConfigError` for a chain without one."""
    address = topology.chain(chain_id).address
    if address is None:
        raise NetworkConfigError(f"chain {chain_id!r} has no address (needed for tcp)")
    host, _, port = address.rpartition(":")
    number = int(port)
    if not 0 < number < 65_536:
        raise NetworkConfigError(f"chain {chain_id!r}: port {number} is out of range")
    return host, number


def _tls(spec: NetworkSpec, base: Path | None, *, server: bool) -> ssl.SSLContext | None:
    if spec.tls_ca is None and spec.tls_cert is None:
        return None
    purpose = ssl.Purpose.CLIENT_AUTH if server else ssl.Purpose.SERVER_AUTH
    try:
        context = ssl.create_default_context(
            purpose, cafile=str(_path(spec.tls_ca, base)) if spec.tls_ca else None
        )
        if spec.tls_cert is not None:
            context.load_cert_chain(
                str(_path(spec.tls_cert, base)),
                str(_path(spec.tls_key, base)) if spec.tls_key else None,
            )
    except (OSError, ssl.SSLError) as exc:
        raise NetworkConfigError(f"TLS: {exc}") from None
    if not server:
        # mesh peers are named by address, not host name; the CA pins who they are
        context.check_hostname = False
    return context


def build_transport(
    topology: Topology,
    *,
    listen: Iterable[str] = (),
    base: Path | None = None,
    seed: int | None = None,
) -> Transport:
    """A new (not yet entered) transport of ``topology.network``.

    ``listen`` names the chains whose actor systems attach in this process: over TCP they
    listen on their ``address``; every other chain is a peer at its address, and any other
    system (relayers, clients, the setup system) listens on a free port of
    ``network.host``, which peers learn from its handshake. Relative paths (secret, TLS
    files) are taken from ``base``. Raises `NetworkConfigError`; under trio, NATS raises
    `transport.UnsupportedBackend` (nats-py runs on asyncio only).
    """
    spec = topology.network
    if spec.transport == "memory":
        return InMemoryNetwork()
    if spec.transport == "nats":
        return NatsTransport(
            spec.nats_url,
            prefix=spec.subject_prefix,
            tls=_tls(spec, base, server=False),
        )
    local = set(listen)
    addresses = {c.id: chain_address(topology, c.id) for c in topology.chains}
    # one chain per process (a node) listens on its own address's interface
    host = addresses[next(iter(local))][0] if len(local) == 1 else spec.host
    return TcpNetwork(
        secret=network_secret(spec, base=base),
        host=host,
        ports={c: addresses[c][1] for c in local},
        peers={c: a for c, a in addresses.items() if c not in local},
        ssl_server=_tls(spec, base, server=True),
        ssl_client=_tls(spec, base, server=False),
        seed=seed,
        codec=JsonCodec(
            MessageRegistry.from_subclasses(), wire_name=f"JsonCodec+chains-{WIRE_SCHEMA}"
        ),
    )
