"""The Mesh Security control channel's wire format (ibc.md I-34..I-55).

The packets the provider's external staking and the consumer's converter exchange, their
acknowledgements, and the channel version and its negotiation. Provider and consumer meet
here and in the contract model only."""

from __future__ import annotations

from chains.wire._packets import (
    ACK_SUCCESS_BYTES,
    BurnPacket,
    ConsumerPacket,
    DistributeBatchPacket,
    DistributePacket,
    InternalUnstakePacket,
    PacketDecodeError,
    ProviderPacket,
    RewardInfo,
    StakePacket,
    TransferRewardsPacket,
    UnstakePacket,
    ValidatorInfo,
    ValidatorSlashInfo,
    ValsetUpdatePacket,
    decode_consumer_packet,
    decode_provider_packet,
    encode_distribute_batch,
    encode_packet,
)
from chains.wire._version import (
    MESH_PROTOCOL,
    MESH_VERSION_MIN,
    MESH_VERSION_SUPPORTED,
    InvalidChannelOrder,
    InvalidProtocol,
    InvalidVersion,
    SemVer,
    VersionTooNew,
    VersionTooOld,
    build_response,
    channel_version,
    parse_channel_version,
    verify_compatibility,
)

__all__ = [
    "ACK_SUCCESS_BYTES",
    "BurnPacket",
    "ConsumerPacket",
    "DistributeBatchPacket",
    "DistributePacket",
    "InternalUnstakePacket",
    "InvalidChannelOrder",
    "InvalidProtocol",
    "InvalidVersion",
    "MESH_PROTOCOL",
    "MESH_VERSION_MIN",
    "MESH_VERSION_SUPPORTED",
    "PacketDecodeError",
    "ProviderPacket",
    "RewardInfo",
    "SemVer",
    "StakePacket",
    "TransferRewardsPacket",
    "UnstakePacket",
    "ValidatorInfo",
    "ValidatorSlashInfo",
    "ValsetUpdatePacket",
    "VersionTooNew",
    "VersionTooOld",
    "build_response",
    "channel_version",
    "decode_consumer_packet",
    "decode_provider_packet",
    "encode_distribute_batch",
    "encode_packet",
    "parse_channel_version",
    "verify_compatibility",
]
