"""A `MeshSnapshot` as readable text: one table per concern.

Per chain: validators (status, jail, tokens), supply, bonded tokens, the vault; per pairing:
price, cap, virtual stake, cross-stake, rewards, the provider's validator view; per user
stake both sides' figures; per channel end: packets sent, acknowledged, timed out, pending,
received; per relayer its counters. Plain text (no colours), so it reads the same in a
terminal, a log or a test's failure output.
"""

from __future__ import annotations

from collections.abc import Sequence

from chains.mesh._state import MeshSnapshot

__all__ = ["render_snapshot"]


def render_table(
    headers: Sequence[str], rows: Sequence[Sequence[object]], indent: str = "  "
) -> str:
    """Left-aligned text, numbers right-aligned, columns two spaces apart."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    numeric = [
        all(isinstance(row[i], int | float) for row in rows) and bool(rows)
        for i in range(len(headers))
    ]
    lines = []
    for n, row in enumerate(cells):
        parts = [
            cell.rjust(widths[i]) if numeric[i] and n else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append(indent + "  ".join(parts).rstrip())
        if n == 0:
            lines.append(indent + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


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


def render_snapshot(snapshot: MeshSnapshot) -> str:
    """The whole snapshot as text (see the module docstring)."""
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
    if snapshot.relayers:
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
    out.append("")
    if snapshot.invariant_violations:
        out.append(f"invariants: {len(snapshot.invariant_violations)} violated")
        out.extend(f"  {v}" for v in snapshot.invariant_violations)
    elif snapshot.invariants_checked:
        out.append("invariants: all hold")
    else:
        out.append("invariants: not checked")
    return "\n".join(out)
