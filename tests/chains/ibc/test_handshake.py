"""Clients, connections and the channel handshake (ibc.md I-1..I-7, I-20, I-25)."""

from __future__ import annotations

from chains.contract import IbcOrder
from chains.ibc import (
    ChanCloseInit,
    ChannelState,
    ChanOpenAck,
    ChanOpenInit,
    ChanOpenTry,
    ConnectionState,
    IbcBadChannelState,
    IbcConsensusNotFound,
    IbcCounterpartyMismatch,
    IbcEventType,
    IbcUnboundPort,
    UpdateClient,
)
from chains.testing import IbcAppClose, IbcAppConfigure, IbcAppSend, app_version
from tests.chains.ibc._sansio import Link, Side, port


def _init(a: Side, link: Link, app_a: str, app_b: str, **kw: object) -> str:
    (init,) = a.run(
        ChanOpenInit(
            port_id=port(app_a),
            connection_id=link.a_side.connection_id,
            counterparty_port_id=port(app_b),
            ordering=kw.get("ordering", IbcOrder.UNORDERED),  # type: ignore[arg-type]
            version=str(kw.get("version", "")),
        )
    )
    assert init.status == "ok", init
    a.next_block()
    return init.value


def test_identifiers_and_contract_ports_I_3_C_12(pair: tuple[Side, Side, Link]) -> None:
    a, b, link = pair
    assert link.a_side.client_id == "07-tendermint-0"
    assert link.a_side.connection_id == "connection-0"
    assert link.b_side.connection_id == "connection-0"
    app_a, app_b = a.deploy_app(), b.deploy_app()
    first = link.open_channel(app_a, app_b)
    second = link.open_channel(app_a, app_b)
    assert first == ("channel-0", "channel-0")
    assert second == ("channel-1", "channel-1")
    end = a.ibc.channel_end("channel-1")
    assert end is not None
    assert end.port_id == f"wasm.{app_a}" and end.counterparty_port_id == f"wasm.{app_b}"


def test_channel_end_record_and_states_I_4_I_5_I_6(pair: tuple[Side, Side, Link]) -> None:
    a, b, link = pair
    app_a, app_b = a.deploy_app(), b.deploy_app()
    a_channel = _init(a, link, app_a, app_b)
    end = a.ibc.channel_end(a_channel)
    assert end is not None and end.state is ChannelState.INIT
    assert end.counterparty_channel_id == ""  # unknown until TRYOPEN/OPEN (I-4)
    assert (a.ibc.next_sequence_send(a_channel), a.ibc.next_sequence_recv(a_channel)) == (1, 1)
    assert a.ibc.next_sequence_ack(a_channel) == 1
    link.step()  # OpenTry on b
    b_end = b.ibc.channel_ends()[0]
    assert b_end.state is ChannelState.TRYOPEN
    assert b_end.counterparty_channel_id == a_channel
    link.step()  # OpenAck on a
    end = a.ibc.channel_end(a_channel)
    assert end is not None and end.state is ChannelState.OPEN
    assert end.counterparty_channel_id == b_end.channel_id
    link.step()  # OpenConfirm on b
    b_end = b.ibc.channel_ends()[0]
    assert b_end.state is ChannelState.OPEN
    # same ordering and same final version at both ends (I-6)
    assert (end.ordering, end.version) == (b_end.ordering, b_end.version)
    assert a.app(app_a).channels[a_channel].version == app_version(1)
    assert link.plan().ops == {}


def test_version_negotiation_callbacks_I_6(pair: tuple[Side, Side, Link]) -> None:
    a, b, link = pair
    app_a = a.deploy_app(min_version=1, max_version=3)
    app_b = b.deploy_app(min_version=1, max_version=2)
    a_channel, b_channel = link.open_channel(app_a, app_b)
    # A proposes its highest (v3); B answers min(v3, v2) = v2; A accepts v2 at OpenAck
    end_a, end_b = a.ibc.channel_end(a_channel), b.ibc.channel_end(b_channel)
    assert end_a is not None and end_b is not None
    assert end_a.version == end_b.version == app_version(2)
    assert a.app(app_a).channels[a_channel].version == app_version(2)


def test_refused_open_try_creates_nothing_and_half_open_is_harmless_I_7(
    pair: tuple[Side, Side, Link],
) -> None:
    a, b, link = pair
    app_a = a.deploy_app()
    app_b = b.deploy_app(orderings=(IbcOrder.UNORDERED,))
    a_channel = _init(a, link, app_a, app_b, ordering=IbcOrder.ORDERED)
    done = link.step()
    ((chain, actor, results),) = done
    assert (chain, actor) == ("chain-b", "gateway")
    assert results[-1].status == "error" and results[-1].error == "IbcTestAppError"
    assert b.ibc.channel_ends() == ()  # the end was not created (I-7)
    assert b.ibc.state.counters.get("channel", 0) == 0  # nor its id used
    # half-open: A stays INIT; a packet sent on it can never be received, nothing breaks
    sent = a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=30))
    assert sent.ok  # sending from INIT is allowed (I-8)
    link.step()
    link.step()
    assert a.ibc.pending_sequences(a_channel) == (1,)
    assert a.ibc.invariant_violations() == [] and b.ibc.invariant_violations() == []


def test_refused_open_ack_leaves_initiator_in_init_I_7(pair: tuple[Side, Side, Link]) -> None:
    a, b, link = pair
    app_a = a.deploy_app(min_version=2, max_version=2)
    app_b = b.deploy_app(min_version=1, max_version=1)
    a_channel = _init(a, link, app_a, app_b, version=app_version(2))
    # B cannot speak v2: it answers min(v2, v1) = v1, which A refuses at OpenAck
    link.step()
    done = link.step()
    assert any(r.error == "IbcTestAppError" for _, _, results in done for r in results)
    end = a.ibc.channel_end(a_channel)
    assert end is not None and end.state is ChannelState.INIT
    assert b.ibc.channel_ends()[0].state is ChannelState.TRYOPEN
    assert a.app(app_a).channels == {}


def test_open_try_is_idempotent_I_7(pair: tuple[Side, Side, Link]) -> None:
    a, b, link = pair
    app_a, app_b = a.deploy_app(), b.deploy_app()
    a_channel = _init(a, link, app_a, app_b)
    view = a.ibc.state.channels[a_channel].view_at(a.header().height)
    assert view is not None
    op = ChanOpenTry(
        port_id=port(app_b),
        connection_id=link.b_side.connection_id,
        proof_height=a.header().height,
        counterparty=view,
    )
    update = UpdateClient(client_id=link.b_side.client_id, header=a.header())
    first = b.run(update, op)
    second = b.run(update, op)
    assert first[1].status == "ok" and second[1].status == "noop"
    assert first[1].value == second[1].value
    assert len(b.ibc.channel_ends()) == 1


def test_handshake_proof_needs_client_height_I_2(pair: tuple[Side, Side, Link]) -> None:
    a, b, link = pair
    app_a, app_b = a.deploy_app(), b.deploy_app()
    a_channel = _init(a, link, app_a, app_b)
    view = a.ibc.state.channels[a_channel].view_at(a.header().height)
    assert view is not None
    op = ChanOpenTry(
        port_id=port(app_b),
        connection_id=link.b_side.connection_id,
        proof_height=a.header().height,
        counterparty=view,
    )
    (lagging,) = b.run(op)  # B's client has not seen that height of A yet
    assert lagging.error == IbcConsensusNotFound.__name__
    client = b.ibc.client(link.b_side.client_id)
    assert client is not None and client.latest_height < a.header().height


def test_open_ack_checks_the_proven_counterparty_I_6(pair: tuple[Side, Side, Link]) -> None:
    a, b, link = pair
    app_a, app_b = a.deploy_app(), b.deploy_app()
    a_channel = _init(a, link, app_a, app_b)
    link.step()
    b_end = b.ibc.channel_ends()[0]
    view = b_end.view_at(b.header().height)
    assert view is not None
    wrong = view.model_copy(update={"state": ChannelState.INIT})
    results = a.run(
        UpdateClient(client_id=link.a_side.client_id, header=b.header()),
        ChanOpenAck(
            port_id=port(app_a),
            channel_id=a_channel,
            proof_height=b.header().height,
            counterparty=wrong,
        ),
    )
    assert results[1].error == IbcCounterpartyMismatch.__name__


def test_unbound_port_refused_I_3(pair: tuple[Side, Side, Link]) -> None:
    a, _, link = pair
    (init,) = a.run(
        ChanOpenInit(
            port_id="wasm.nobody",
            connection_id=link.a_side.connection_id,
            counterparty_port_id="transfer",
            ordering=IbcOrder.UNORDERED,
        )
    )
    assert init.error == IbcUnboundPort.__name__


def test_module_port_bound_to_a_contract_I_3(pair: tuple[Side, Side, Link]) -> None:
    a, b, link = pair
    app_a, app_b = a.deploy_app(), b.deploy_app()
    assert b.ex.run(lambda: b.ibc.bind_port("icqhost", app_b)).ok
    (init,) = a.run(
        ChanOpenInit(
            port_id=port(app_a),
            connection_id=link.a_side.connection_id,
            counterparty_port_id="icqhost",
            ordering=IbcOrder.UNORDERED,
        )
    )
    assert init.status == "ok"
    a.next_block()
    link.settle()
    b_end = b.ibc.channel_ends()[0]
    assert b_end.port_id == "icqhost" and b_end.state is ChannelState.OPEN
    assert b.app(app_b).channels[b_end.channel_id].endpoint.port_id == "icqhost"


def test_close_init_and_confirm_I_20(pair: tuple[Side, Side, Link]) -> None:
    a, b, link = pair
    app_a, app_b = a.deploy_app(), b.deploy_app()
    a_channel, b_channel = link.open_channel(app_a, app_b)
    closed = a.execute(app_a, IbcAppClose(channel_id=a_channel))
    assert closed.ok, closed.error
    assert [e.get("step") for e in closed.events if e.type == "channel_close"] == ["init"]
    end = a.ibc.channel_end(a_channel)
    assert end is not None and end.state is ChannelState.CLOSED
    assert a.app(app_a).closed == {a_channel: "init"}
    a.next_block()
    link.step()  # CloseConfirm on b
    b_end = b.ibc.channel_end(b_channel)
    assert b_end is not None and b_end.state is ChannelState.CLOSED
    assert b.app(app_b).closed == {b_channel: "confirm"}
    # after CLOSED: no send (I-20); CLOSED is terminal for the id (I-5)
    sent = a.execute(app_a, IbcAppSend(channel_id=a_channel, timeout_seconds=30))
    assert sent.error == IbcBadChannelState(port(app_a), a_channel, "CLOSED", "not CLOSED")
    (again,) = a.run(ChanCloseInit(port_id=port(app_a), channel_id=a_channel))
    assert again.error == IbcBadChannelState.__name__
    # a new handshake makes a new channel id, the old one stays closed
    assert link.open_channel(app_a, app_b) == ("channel-1", "channel-1")


def test_close_refused_by_app_I_20(pair: tuple[Side, Side, Link]) -> None:
    a, b, link = pair
    app_a, app_b = a.deploy_app(), b.deploy_app()
    a_channel, b_channel = link.open_channel(app_a, app_b)
    assert b.execute(app_b, IbcAppConfigure(refuse_close=True)).ok
    assert a.execute(app_a, IbcAppClose(channel_id=a_channel)).ok
    a.next_block()
    done = link.step()
    assert any(r.error == "IbcTestAppError" for _, _, results in done for r in results)
    b_end = b.ibc.channel_end(b_channel)
    assert b_end is not None and b_end.state is ChannelState.OPEN  # relayer may retry
    assert b.execute(app_b, IbcAppConfigure(refuse_close=False)).ok
    link.step()
    b_end = b.ibc.channel_end(b_channel)
    assert b_end is not None and b_end.state is ChannelState.CLOSED


def test_handshake_events_I_25(pair: tuple[Side, Side, Link]) -> None:
    a, b, link = pair
    app_a, app_b = a.deploy_app(), b.deploy_app()
    (init_result,) = [
        a.ex.run(
            lambda: a.ibc.run_ops(
                (
                    ChanOpenInit(
                        port_id=port(app_a),
                        connection_id=link.a_side.connection_id,
                        counterparty_port_id=port(app_b),
                        ordering=IbcOrder.UNORDERED,
                    ),
                )
            )
        )
    ]
    (event,) = [e for e in init_result.events if e.source == "ibc"]
    assert event.type == IbcEventType.CHANNEL_OPEN_INIT
    assert event.get("port") == port(app_a) and event.get("ordering") == "ORDER_UNORDERED"
    assert event.get("version") == app_version(1)


def test_connection_handshake_ics03(pair: tuple[Side, Side, Link]) -> None:
    a, b, link = pair
    view_a = a.ibc.connection_view(link.a_side.connection_id)
    view_b = b.ibc.connection_view(link.b_side.connection_id)
    assert view_a is not None and view_b is not None
    assert view_a.state is view_b.state is ConnectionState.OPEN
    assert view_a.counterparty_connection_id == view_b.connection_id
    assert view_a.client_id == view_b.counterparty_client_id
