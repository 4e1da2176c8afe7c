"""Deployment of a consumer through the chain host and its actors (ibc.md I-49 steps 1, 2, 4,
5; consumer.md C-43, C-66..C-68, C-81, C-86, C-88, C-109, C-111; I-40..I-47)."""

from __future__ import annotations

import pytest

from chains import Chain, Decimal18, QueryResult
from chains.consumer import (
    Converter,
    ConverterConfig,
    ConverterConfigQuery,
    ConverterInstantiate,
    InvalidSigner,
    TaskType,
    VirtualStaking,
    VirtualStakingConfig,
    VirtualStakingConfigQuery,
)
from chains.host import QueryContract
from chains.wire import StakePacket, ValsetUpdatePacket
from tests.chains.consumer_actors._kit import (
    ADMIN,
    DENOM,
    REMOTE,
    VALIDATORS,
    Consumer,
    ack_error,
    connect,
    control_channel,
    mesh_of,
    open_init,
    open_try,
    remote,
    start_consumer,
)

pytestmark = pytest.mark.anyio


async def test_deployment_order_and_wiring_I_49_C_67_C_68_C_86(chain: Chain) -> None:
    c = await start_consumer(chain, max_cap=None)
    # step 2: the converter instantiated its VS through a sub-message with a reply (C-67)
    converter_info = await chain.contract_info(c.converter)
    vs_info = await chain.contract_info(c.vs)
    assert converter_info is not None and converter_info.code == Converter.code
    assert vs_info is not None and vs_info.code == VirtualStaking.code
    assert vs_info.creator == c.converter  # the VS records the converter (C-86)
    assert vs_info.label == "Virtual Staking: uosmo"
    assert vs_info.admin == ADMIN
    # the contracts are actors of the host: queries through the contract actor (C-68)
    answer = await chain.contract(c.converter).ask(
        QueryContract(msg=ConverterConfigQuery()), expect=QueryResult
    )
    config = answer.unwrap()
    assert config == ConverterConfig(
        adjustment=Decimal18.parse("0.9"), price_feed=c.feed, virtual_staking=c.vs
    )
    vs_config = await chain.query(c.vs, VirtualStakingConfigQuery())
    assert vs_config == VirtualStakingConfig(denom=DENOM, converter=c.converter)
    # step 4: OpenAck stored the channel and sent the initial validator sync (I-46, C-79)
    (sync,) = await c.packets()
    assert isinstance(sync, ValsetUpdatePacket)
    operators = sorted(chain.operator(n) for n in VALIDATORS)
    assert sorted(v.valoper for v in sync.additions) == operators
    pubkeys = {v.valoper: v.pub_key for v in sync.additions}
    assert pubkeys[chain.operator("val-a")] == "pubkey-val-a"  # C-79: not "TODO"
    assert sync.removals == sync.jailed == ()
    assert sync.slashed == ()


async def test_stakes_fail_until_governance_sets_the_cap_C_88_C_109_C_43(chain: Chain) -> None:
    c = await start_consumer(chain, max_cap=None)
    a = chain.operator("val-a")
    before = await c.vs_state()
    # C-88 / C-109: the VS's update_delegation is Unauthorized without a cap entry, so the
    # whole receive fails: an error ack and nothing changed
    ack = await c.deliver(StakePacket(delegator="osmo1u", validator=a, stake=remote(1000), tx_id=1))
    assert "Unauthorized" in ack_error(ack)
    assert await c.vs_state() == before
    # C-43: the authority must be the gov account
    stranger = chain.address("stranger")
    refused = await c.set_max_cap(10**9, authority=stranger)
    assert isinstance(refused.error, InvalidSigner)
    # I-49 step 5: governance sets the cap; a repeating epoch is scheduled epoch_length on
    result = await c.set_max_cap(10**9)
    assert result.ok
    tasks = await chain.read(lambda ex: mesh_of(ex).scheduled_tasks())
    assert (TaskType.HANDLE_EPOCH, result.height + 10, c.vs, True) in tasks
    cap = await chain.read(lambda ex: mesh_of(ex).max_cap(c.vs))
    assert cap == 10**9
    assert await c.stake(a, 1000)
    assert await c.bond_requests() == {a: 450}


async def test_converter_refuses_a_second_channel_and_open_try_I_40_I_47(
    consumer: Consumer,
) -> None:
    chain, converter = consumer.chain, consumer.converter
    first = control_channel(converter)
    other = first.model_copy(
        update={"endpoint": first.endpoint.model_copy(update={"channel_id": "channel-9"})}
    )
    refused = await chain.run_unit(open_init(converter, other))
    assert refused.error is not None and refused.error.name == "IbcChannelAlreadyOpen"
    refused = await chain.run_unit(open_try(converter, other, consumer.channel.version))
    assert refused.error is not None and refused.error.name == "IbcOpenTryDisallowed"
    refused = await chain.run_unit(connect(converter, other, None))  # OpenConfirm
    assert refused.error is not None and refused.error.name == "IbcOpenTryDisallowed"


async def test_first_channel_from_any_counterparty_is_accepted_C_111(chain: Chain) -> None:
    """Known limitation kept: the converter does not check who is on the other end; only
    the provider checks its counterparty (I-44)."""
    c = await start_consumer(chain, max_cap=None)
    # a second converter deployed by anyone, opened from an arbitrary port
    stranger = chain.address("stranger")
    converter = await chain.instantiate(
        stranger,
        Converter.code,
        ConverterInstantiate(
            price_feed=c.feed,
            discount=Decimal18.parse("0.1"),
            remote_denom=REMOTE,
            virtual_staking_code_id=VirtualStaking.code,
        ),
    )
    channel = control_channel(converter, counterparty_port="wasm.anybody")
    version = (await chain.run_unit(open_init(converter, channel))).unwrap()
    opened = await chain.run_unit(
        connect(converter, channel.model_copy(update={"version": version}), version)
    )
    assert opened.ok
