"""IBC deliveries as atomic units, for tests that play the counterparty chain.

Each function returns a *unit body*: ``body(executor)`` calls one IBC entry point of a
contract through `TxExecutor.call_contract` (so the messages it returns run with the
executor's routing and reply rules) and returns the unit's data. Run it as one atomic unit,
as an IBC module delivering a relayed message would (ibc.md I-6..I-20):
``executor.run(lambda: body(executor))`` on a bare executor, ``await chain.run_unit(body)``
on a `Chain` host, or ``kit.run(body)`` on a `ContractKit`.

Example::

    ack = (await chain.run_unit(packet_receive(converter, packet, relayer))).unwrap()
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from chains.contract._contract import ChannelConnect, ChannelOpen, Contract, Env
from chains.contract._ibc_types import IbcAcknowledgement, IbcChannel, IbcPacket
from chains.host._executor import TxExecutor

__all__ = [
    "UnitBody",
    "channel_close",
    "channel_connect",
    "channel_open",
    "packet_ack",
    "packet_receive",
    "packet_timeout",
]

UnitBody = Callable[[TxExecutor], Any]
"""A unit body: run by the executor inside one atomic unit; returns the unit's data."""


def channel_open(
    contract: str, channel: IbcChannel, counterparty_version: str | None = None
) -> UnitBody:
    """OpenInit on ``contract`` (no ``counterparty_version``) or OpenTry (given); the unit's
    data is the version the contract chose (``None``: the proposed one). A refusal fails the
    unit with the contract's error."""
    opening = ChannelOpen(channel=channel, counterparty_version=counterparty_version)

    def invoke(core: Contract, env: Env) -> Any:
        return core.ibc_channel_open(env, opening)

    def body(ex: TxExecutor) -> Any:
        version, _ = ex.call_contract(contract, "ibc_channel_open", invoke)
        return version

    return body


def channel_connect(
    contract: str, channel: IbcChannel, counterparty_version: str | None = None
) -> UnitBody:
    """OpenAck on ``contract`` (with the counterparty's version) or OpenConfirm (without),
    running the messages the contract returns."""
    connect = ChannelConnect(channel=channel, counterparty_version=counterparty_version)

    def invoke(core: Contract, env: Env) -> Any:
        return core.ibc_channel_connect(env, connect)

    def body(ex: TxExecutor) -> Any:
        return ex.call_contract(contract, "ibc_channel_connect", invoke)[1]

    return body


def packet_receive(
    contract: str, packet: IbcPacket, relayer: str, *, error_ack: bool = True
) -> UnitBody:
    """Deliver ``packet`` to ``contract``; the unit's data is the acknowledgement it wrote.

    With ``error_ack`` (the IBC module's behaviour, I-19) a failing application is rolled
    back alone and answered with an error acknowledgement carrying the error's text, and
    the unit commits; without it the failure fails the unit.
    """

    def invoke(core: Contract, env: Env) -> Any:
        return core.ibc_packet_receive(env, packet, relayer)

    def body(ex: TxExecutor) -> IbcAcknowledgement:
        if not error_ack:
            response, _ = ex.call_contract(contract, "ibc_packet_receive", invoke)
            written: IbcAcknowledgement = response.ack
            return written
        result, error = ex.attempt(ex.call_contract, contract, "ibc_packet_receive", invoke)
        if error is not None or result is None:
            return IbcAcknowledgement.error(str(error))
        ack: IbcAcknowledgement = result[0].ack
        return ack

    return body


def packet_ack(contract: str, packet: IbcPacket, ack: IbcAcknowledgement, relayer: str) -> UnitBody:
    """Deliver the acknowledgement of a packet ``contract`` sent; the unit's data is the
    callback's (after replies)."""

    def invoke(core: Contract, env: Env) -> Any:
        return core.ibc_packet_ack(env, ack, packet, relayer)

    def body(ex: TxExecutor) -> Any:
        return ex.call_contract(contract, "ibc_packet_ack", invoke)[1]

    return body


def packet_timeout(contract: str, packet: IbcPacket, relayer: str) -> UnitBody:
    """Deliver the timeout of a packet ``contract`` sent."""

    def invoke(core: Contract, env: Env) -> Any:
        return core.ibc_packet_timeout(env, packet, relayer)

    def body(ex: TxExecutor) -> Any:
        return ex.call_contract(contract, "ibc_packet_timeout", invoke)[1]

    return body


def channel_close(contract: str, channel: IbcChannel, *, confirm: bool = False) -> UnitBody:
    """CloseInit on ``contract`` (``confirm=False``) or CloseConfirm after the counterparty
    closed (``confirm=True``)."""

    def invoke(core: Contract, env: Env) -> Any:
        return core.ibc_channel_close(env, channel, confirm=confirm)

    def body(ex: TxExecutor) -> Any:
        return ex.call_contract(contract, "ibc_channel_close", invoke)[1]

    return body
