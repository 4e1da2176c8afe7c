"""The IBC invariant checker learns issue 13's forged packets (I-17): a packet received but
never committed on its source is flagged; honest traffic never is."""

from __future__ import annotations

from chains.ibc import IbcConfig, RecvPackets, UpdateClient
from chains.mesh import packet_origin_violations
from chains.testing import IbcAppSend
from tests.chains.ibc._sansio import Link, Side


def _pair(config: IbcConfig) -> tuple[Side, Side, Link, str, str, str]:
    a, b = Side("chain-a", "cha", config), Side("chain-b", "chb", config)
    link = Link(a, b)
    app_a, app_b = a.deploy_app(), b.deploy_app()
    a_channel, b_channel = link.open_channel(app_a, app_b)
    return a, b, link, app_a, a_channel, b_channel


def test_honest_traffic_has_no_violations_I_17() -> None:
    a, b, link, app_a, a_channel, _ = _pair(IbcConfig(verify_proofs=True))
    for _ in range(3):
        assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=600)).ok
    a.next_block()
    link.step()
    assert packet_origin_violations(b.ibc, a.ibc) == []  # received, commitment still there
    link.settle()
    assert packet_origin_violations(b.ibc, a.ibc) == []  # received, acked
    assert packet_origin_violations(a.ibc, b.ibc) == []


def test_forged_packet_is_flagged_I_17() -> None:
    """Without verification (the pre-issue-13 chain) a forged packet is received; the
    checker sees that its source never committed it."""
    a, b, link, app_a, a_channel, b_channel = _pair(IbcConfig(verify_proofs=False))
    assert a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=600)).ok
    a.next_block()
    (seq,) = a.ibc.pending_sequences(a_channel)
    honest = a.ibc.state.packets[(a_channel, seq)]
    forged = honest.model_copy(update={"sequence": 42})
    results = b.run(
        UpdateClient(client_id=link.b_side.client_id, header=a.header()),
        RecvPackets(packets=(forged,), proof_height=a.header().height),
    )
    assert results[1].items == ("ok",)
    (violation,) = packet_origin_violations(b.ibc, a.ibc)
    assert f"{b_channel}/42" in violation and "never committed" in violation
