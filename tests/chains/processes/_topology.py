"""The small topology of the process tests: Osmosis provides security to Juno.

Fast blocks (0.25 s), an epoch every 4 blocks and relayers that clear every second, so a
cross-stake's virtual stake arrives within a few seconds of wall time. `processes_topology`
fills in the transport, the chains' TCP addresses and the NATS url.
"""

from __future__ import annotations

import socket

from chains import Topology, parse_topology

SECRET_ENV = "MESH_TEST_SECRET"
SECRET = "processes-test-secret-0123456789"

_TEXT = """
name = "processes: osmosis → juno"

[network]
transport = "{transport}"
secret_env = "{secret_env}"
nats_url = "{nats_url}"
subject_prefix = "{prefix}"

[[chains]]
id = "osmosis"
prefix = "osmo"
denom = "uosmo"
block_time = {block_time}
address = "127.0.0.1:{osmosis_port}"
validators = [
  {{ name = "val1", tokens = 10_000_000, commission = "0.05" }},
  {{ name = "val2", tokens = 10_000_000, commission = "0.05" }},
]
accounts = [
  {{ name = "alice", balance = 1_000_000_000 }},
  {{ name = "bob", balance = 1_000_000_000 }},
]

[[chains]]
id = "juno"
prefix = "juno"
denom = "ujuno"
block_time = {block_time}
address = "127.0.0.1:{juno_port}"
block_provision = 1_000_000
epoch_blocks = 4
validators = [
  {{ name = "val1", tokens = 10_000_000, commission = "0.1" }},
  {{ name = "val2", tokens = 10_000_000, commission = "0.1" }},
]

[[pairings]]
provider = "osmosis"
consumer = "juno"
discount = "0.1"
max_cap = 100_000_000
unbonding_period = 3_600
price_feed = {{ kind = "simple", price = "0.5" }}

[[relayers]]
chains = ["osmosis", "juno"]
count = 1
clear_interval = 1
"""


def free_port() -> int:
    """A TCP port nothing listens on right now (loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def processes_text(
    transport: str,
    *,
    block_time: float = 0.25,
    nats_url: str = "nats://127.0.0.1:4222",
    prefix: str = "mesh",
) -> str:
    """The topology file's text over ``transport``, on free ports."""
    return _TEXT.format(
        transport=transport,
        secret_env=SECRET_ENV,
        nats_url=nats_url,
        prefix=prefix,
        block_time=block_time,
        osmosis_port=free_port(),
        juno_port=free_port(),
    )


def processes_topology(transport: str, **options: object) -> Topology:
    """`processes_text` parsed."""
    return parse_topology(processes_text(transport, **options))  # type: ignore[arg-type]
