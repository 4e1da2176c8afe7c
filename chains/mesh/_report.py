"""A `MeshSnapshot` as readable text: one table per concern.

Per chain: validators (status, jail, tokens), supply, bonded tokens, the vault; per pairing:
price, cap, virtual stake, cross-stake, rewards, the provider's validator view; per user
stake both sides' figures; per channel end: packets sent, acknowledged, timed out, pending,
received; per relayer its counters. Tables are laid out by rich (`render_table`, also used by
the demo) and rendered as plain text (no colours, no terminal codes), so they read the same in
a terminal, a log or a test's failure output.

A table that cannot be filled is said so, never left out: `missing_relayers` names the
relayers that did not report their counters, and `render_snapshot` prints those errors where
the relayer table would be.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from chains.mesh._state import MeshSnapshot

__all__ = ["missing_relayers", "render_snapshot", "render_table"]

# wide enough that no real table wraps: a wrapped cell would make the text depend on the width
_WIDTH = 10_000


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], indent: str = "  "
) -> str:
    """``rows`` under ``headers`` as plain text, each line prefixed with ``indent``.

    Columns whose every value is a number are right-aligned, the rest left-aligned; ints are
    written with ``_`` thousands separators, booleans as ``yes``/``-``. A rule separates the
    headers from the rows. Cells are text, never rich markup (a ``[`` in a name stays a
    ``[``). Raises nothing for well-formed input.
    """
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for i, header in enumerate(headers):
        numeric = bool(rows) and all(
            isinstance(row[i], int | float) and not isinstance(row[i], bool) for row in rows
        )
        table.add_column(Text(str(header)), justify="right" if numeric else "left", no_wrap=True)
    for row in rows:
        table.add_row(*(Text(_cell(value)) for value in row))
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=_WIDTH,
        color_system=None,
        force_terminal=False,
        force_jupyter=False,
        no_color=True,
        emoji=False,
        highlight=False,
        markup=False,
    )
    console.print(table)
    lines = buffer.getvalue().rstrip("\n").split("\n")
    return "\n".join((indent + line).rstrip() for line in lines)


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "-"
    if isinstance(value, int):
        return f"{value:,}".replace(",", "_")
    return str(value)


def _duration(seconds: float) -> str:
    days, rest = divmod(int(seconds), 86_400)
    hours, rest = divmod(rest, 3_600)
    return f"{days}d {hours:02d}h{rest // 60:02d}m"


def missing_relayers(snapshot: MeshSnapshot, expected: Mapping[str, int]) -> list[str]:
    """One message per link of ``expected`` (link name → number of relayers) whose relayers
    did not all report their counters in ``snapshot`` (an empty list when all did)."""
    answered: dict[str, int] = {}
    for relayer in snapshot.relayers:
        answered[relayer.link] = answered.get(relayer.link, 0) + 1
    out = []
    for link, count in expected.items():
        got = answered.get(link, 0)
        if got < count:
            out.append(
                f"relayers of {link}: {count - got} of {count} did not answer a status request"
                " (their counters are missing)"
            )
    return out


def render_snapshot(
    snapshot: MeshSnapshot, *, expected_relayers: Mapping[str, int] | None = None
) -> str:
    """The whole snapshot as text (see the module docstring).

    With ``expected_relayers`` (link name → number of relayers, as the topology says), the
    relayers that did not report are named as errors under the relayer table (which is then
    printed even if no relayer reported at all).
    """
    out: list[str] = []
    title = snapshot.name or "mesh"
    out.append(f"{title} after {_duration(snapshot.seconds)} (seed {snapshot.seed})")
    for chain in snapshot.chains:
        out.append("")
        out.append(
            f"chain {chain.id}: height {chain.height}, supply {_cell(chain.supply)} {chain.denom},"
            f" bonded {_cell(chain.bonded)}"
        )
        out.append(
            render_table(
                ("validator", "status", "jailed", "tombstoned", "tokens", "commission"),
                [
                    (v.name, v.status, v.jailed, v.tombstoned, v.tokens, v.commission.rstrip("0"))
                    for v in chain.validators
                ],
            )
        )
        if chain.vault is not None:
            vault = chain.vault
            out.append(
                f"  vault: {vault.users} users, collateral {_cell(vault.collateral)},"
                f" max lien {_cell(vault.max_lien)}, pending txs {vault.pending_txs}"
            )
    if snapshot.pairings:
        out.append("")
        out.append("pairings (provider → consumer; stake in provider tokens, the rest consumer)")
        out.append(
            render_table(
                (
                    "pairing",
                    "price",
                    "max cap",
                    "virtual stake",
                    "requested",
                    "cross-staked",
                    "pending",
                    "validators",
                    "reserve",
                    "withdrawable",
                    "channel",
                ),
                [
                    (
                        f"{p.provider}→{p.consumer}",
                        p.price if p.price is not None else "stale",
                        p.max_cap,
                        p.virtual_delegated,
                        p.virtual_requested,
                        p.cross_staked,
                        p.provider_pending_txs,
                        f"{p.active_validators}/{p.known_validators} active",
                        p.rewards_reserve,
                        p.rewards_withdrawable,
                        f"{p.consumer_channel}/{p.provider_channel} {p.channel_state}",
                    )
                    for p in snapshot.pairings
                ],
            )
        )
        rows = [
            (
                f"{p.provider}→{p.consumer}",
                s.user,
                s.validator,
                f"{s.provider_low}..{s.provider_high}"
                if s.provider_low != s.provider_high
                else s.provider_low,
                s.consumer,
                s.rewards,
            )
            for p in snapshot.pairings
            for s in p.stakes
        ]
        if rows:
            out.append("")
            out.append("cross-stakes")
            out.append(
                render_table(
                    ("pairing", "user", "validator", "provider", "consumer", "rewards"), rows
                )
            )
    if snapshot.channels:
        out.append("")
        out.append("channels")
        out.append(
            render_table(
                ("chain", "channel", "state", "sent", "acked", "timed out", "pending", "received"),
                [
                    (
                        c.chain,
                        f"{c.channel_id}→{c.counterparty_channel_id}",
                        c.state,
                        c.sent,
                        c.acked,
                        c.timed_out,
                        c.pending,
                        c.received,
                    )
                    for c in snapshot.channels
                ],
            )
        )
    missing = missing_relayers(snapshot, expected_relayers or {})
    if snapshot.relayers or missing:
        out.append("")
        out.append("relayers")
        out.append(
            render_table(
                ("link", "#", "batches", "ok", "no-op", "failed", "clearings"),
                [
                    (r.link, r.index, r.batches, r.ok, r.noop, r.failed, r.clears)
                    for r in snapshot.relayers
                ],
            )
        )
        out.extend(f"  ERROR: {message}" for message in missing)
    out.append("")
    if snapshot.invariant_violations:
        out.append(f"invariants: {len(snapshot.invariant_violations)} violated")
        out.extend(f"  {v}" for v in snapshot.invariant_violations)
    elif snapshot.invariants_checked:
        out.append("invariants: all hold")
    else:
        out.append("invariants: not checked")
    return "\n".join(out)
