"""An external staking core with an open channel and an active validator set, for tests."""

from __future__ import annotations

from typing import Any

from chains import Decimal18
from chains.contract import (
    ChannelConnect,
    ChannelOpen,
    IbcAcknowledgement,
    IbcBasicResponse,
    IbcChannel,
    IbcEndpoint,
    IbcOrder,
    IbcPacket,
    IbcReceiveResponse,
    IbcSendPacket,
    IbcTimeout,
    Response,
    Store,
    WasmExecute,
)
from chains.provider import (
    AuthorizedEndpoint,
    ExternalStaking,
    ExternalStakingInstantiate,
    ExternalUnstake,
    ExternalWithdrawRewards,
    ReceiveVirtualStake,
    SlashRatios,
    Stake,
    ValueRange,
    WithdrawUnbonded,
    encode_stake_target,
)
from chains.wire import (
    ACK_SUCCESS_BYTES,
    ConsumerPacket,
    DistributeBatchPacket,
    RewardInfo,
    ValidatorInfo,
    ValidatorSlashInfo,
    ValsetUpdatePacket,
    channel_version,
    decode_provider_packet,
    encode_packet,
)
from tests.chains.provider._fakes import DENOM, FakeQuerier, coin, env, info, make

EXT = "ext"
VAULT = "vault"
REWARDS = "ucons"
CONNECTION = "connection-0"
CONVERTER_PORT = "wasm.converter"
PERIOD = 1_000
T0 = 1_700_000_000


def channel(order: IbcOrder = IbcOrder.UNORDERED, connection: str = CONNECTION,
            port: str = CONVERTER_PORT, channel_id: str = "channel-0") -> IbcChannel:  # fmt: skip
    return IbcChannel(
        endpoint=IbcEndpoint(port_id=f"wasm.{EXT}", channel_id=channel_id),
        counterparty_endpoint=IbcEndpoint(port_id=port, channel_id="channel-9"),
        order=order,
        version=channel_version(),
        connection_id=connection,
    )


class ExtFixture:
    """``ext`` core at time ``now``; ``sent`` collects the packets it emitted."""

    def __init__(self, *, validators: tuple[str, ...] = ("valA", "valB", "valC")) -> None:
        self.store = Store()
        self.querier = FakeQuerier()
        self.ext = make(ExternalStaking, self.store, EXT, self.querier)
        self.now = T0
        self.height = 500
        self.sent: list[IbcPacket] = []
        self._seq = 0
        self.ext.instantiate(
            self.env(),
            info("creator"),
            ExternalStakingInstantiate(
                denom=DENOM,
                rewards_denom=REWARDS,
                vault=VAULT,
                unbonding_period=PERIOD,
                remote_contact=AuthorizedEndpoint(connection_id=CONNECTION, port_id=CONVERTER_PORT),
                slash_ratio=SlashRatios(
                    double_sign=Decimal18.parse("0.1"), offline=Decimal18.parse("0.05")
                ),
                admin="admin",
            ),
        )
        self.ext.ibc_channel_open(
            self.env(), ChannelOpen(channel=channel(), counterparty_version=channel_version())
        )
        self.ext.ibc_channel_connect(self.env(), ChannelConnect(channel=channel()))
        if validators:
            self.receive(
                ValsetUpdatePacket(
                    height=100,
                    time=T0 - 100,
                    additions=tuple(ValidatorInfo(valoper=v, pub_key="pk") for v in validators),
                )
            )

    def env(self) -> Any:
        return env(EXT, height=self.height, time_s=self.now)

    def _collect(self, response: Response | IbcBasicResponse | IbcReceiveResponse) -> list[Any]:
        out = []
        for sub in response.messages:
            if isinstance(sub.msg, IbcSendPacket):
                self._seq += 1
                packet = IbcPacket(
                    sequence=self._seq,
                    src=channel().endpoint,
                    dest=channel().counterparty_endpoint,
                    data=sub.msg.data,
                    timeout=sub.msg.timeout,
                )
                self.sent.append(packet)
                out.append(packet)
            else:
                out.append(sub)
        return out

    # -- operations --

    def stake(self, user: str, validator: str, amount: int, tx_id: int) -> IbcPacket:
        response = self.ext.execute(
            self.env(),
            info(VAULT),
            ReceiveVirtualStake(
                owner=user, amount=coin(amount), tx_id=tx_id, msg=encode_stake_target(validator)
            ),
        )
        (packet,) = self._collect(response)
        assert isinstance(packet, IbcPacket)
        return packet

    def staked(self, user: str, validator: str, amount: int, tx_id: int) -> None:
        """Stake and commit."""
        self.ack(self.stake(user, validator, amount, tx_id))

    def unstake(self, user: str, validator: str, amount: int) -> IbcPacket:
        response = self.ext.execute(
            self.env(), info(user), ExternalUnstake(validator=validator, amount=coin(amount))
        )
        (packet,) = self._collect(response)
        assert isinstance(packet, IbcPacket)
        return packet

    def withdraw_unbonded(self, user: str) -> list[Any]:
        return self._collect(self.ext.execute(self.env(), info(user), WithdrawUnbonded()))

    def withdraw_rewards(self, user: str, validator: str) -> IbcPacket:
        response = self.ext.execute(
            self.env(),
            info(user),
            ExternalWithdrawRewards(validator=validator, remote_recipient="cons1rcpt"),
        )
        (packet,) = self._collect(response)
        assert isinstance(packet, IbcPacket)
        return packet

    def ack(self, packet: IbcPacket, ok: bool = True) -> IbcBasicResponse:
        ack = (
            IbcAcknowledgement.success(ACK_SUCCESS_BYTES)
            if ok
            else IbcAcknowledgement.error("consumer said no")
        )
        response = self.ext.ibc_packet_ack(self.env(), ack, packet, "relayer")
        self.last_out = self._collect(response)
        return response

    def timeout(self, packet: IbcPacket) -> IbcBasicResponse:
        response = self.ext.ibc_packet_timeout(self.env(), packet, "relayer")
        self.last_out = self._collect(response)
        return response

    def receive(self, packet: ConsumerPacket | bytes) -> IbcReceiveResponse:
        data = packet if isinstance(packet, bytes) else encode_packet(packet)
        self._seq += 1
        ibc_packet = IbcPacket(
            sequence=self._seq,
            src=channel().counterparty_endpoint,
            dest=channel().endpoint,
            data=data,
            timeout=IbcTimeout(timestamp_ns=(self.now + 100) * 10**9),
        )
        response = self.ext.ibc_packet_receive(self.env(), ibc_packet, "relayer")
        self.last_out = self._collect(response)
        return response

    def distribute(self, *rewards: tuple[str, int]) -> IbcReceiveResponse:
        return self.receive(
            DistributeBatchPacket(
                rewards=tuple(RewardInfo(validator=v, reward=a) for v, a in rewards),
                denom=REWARDS,
            )
        )

    def slash(
        self,
        validator: str,
        amount: int,
        ratio: str = "0.1",
        infraction_height: int = 200,
        infraction_time: int = 0,
        height: int = 600,
    ) -> IbcReceiveResponse:
        return self.receive(
            ValsetUpdatePacket(
                height=height,
                time=self.now,
                slashed=(
                    ValidatorSlashInfo(
                        address=validator,
                        infraction_height=infraction_height,
                        infraction_time=infraction_time,
                        power=1,
                        slash_amount=coin(amount),
                        slash_ratio=ratio,
                    ),
                ),
            )
        )

    # -- reads --

    def stake_of(self, user: str, validator: str) -> Stake:
        return self.ext.state.stake(user, validator)

    def range(self, user: str, validator: str) -> ValueRange:
        return self.stake_of(user, validator).stake

    def total(self, validator: str) -> int:
        return self.ext.state.distribution(validator).total_stake

    def reward(self, user: str, validator: str) -> int:
        return self.ext.state.pending_reward(validator, self.stake_of(user, validator))


def decoded(packet: IbcPacket) -> Any:
    return decode_provider_packet(packet.data)


def vault_calls(out: list[Any]) -> list[Any]:
    return [s.msg.msg for s in out if isinstance(getattr(s, "msg", None), WasmExecute)]
