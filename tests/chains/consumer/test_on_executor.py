"""The consumer cores on a bare chain executor (``chains.host.TxExecutor``), without the kit:
the module plugged in with ``add_module``, governance through a root ``CustomMsg`` from the
gov account, epochs and valset updates from the module's end-blocker (C-43, C-50, C-52, C-56).

A smoke test of the wiring the host must provide; the protocol rules are tested on the
contract kit (the same executor) in the other files.
"""

from __future__ import annotations

from chains import ChainConfig, Coin, GenesisValidator, Unauthorized
from chains.consumer import (
    BondStatusQuery,
    MeshParams,
    MeshSecurityModule,
    MsgSetVirtualStakingMaxCap,
    Unsupported,
    VirtualStaking,
    VirtualStakingBond,
    VirtualStakingInstantiate,
)
from chains.contract import CustomMsg, StakingDelegate, derive_address
from chains.host import TxExecutor
from chains.modules import ForceDowntime, StakingParams

DENOM = "stake"


def _chain() -> tuple[TxExecutor, MeshSecurityModule]:
    config = ChainConfig(
        chain_id="consumer-1",
        prefix="stars",
        staking=StakingParams.e2e_consumer(),
        validators=tuple(GenesisValidator(name=n, self_bond=2_000_000) for n in "abcd"),
    )
    executor = TxExecutor(config)
    mesh = MeshSecurityModule(
        executor.staking,
        account_prefix="stars",
        params=MeshParams(epoch_length=3),
        contract_exists=lambda address: executor.contract_info(address) is not None,
        validate_address=executor.validate,
    )
    executor.add_module(mesh)
    executor.register_code(VirtualStaking)
    executor.begin_block(executor.time_s + 5)
    return executor, mesh


def test_virtual_stake_through_the_executor_C_43_C_46_C_50_C_56() -> None:
    executor, mesh = _chain()
    converter = derive_address("stars", "converter")
    created = executor.instantiate(
        converter,
        VirtualStaking.code,
        VirtualStakingInstantiate(max_retrieve=10, tombstoned_unbond_enable=False),
    )
    vs = created.unwrap()
    v = executor.staking.bonded_validators()[0].operator
    bond = VirtualStakingBond(delegator="osmo1x", validator=v, amount=Coin(denom=DENOM, amount=500))
    refused = executor.execute(converter, vs, bond)
    assert refused.error == Unauthorized()  # C-88, C-109: no cap yet
    cap = MsgSetVirtualStakingMaxCap(
        authority=executor.gov_address, contract=vs, max_cap=Coin(denom=DENOM, amount=10**6)
    )
    assert executor.submit(executor.gov_address, CustomMsg(module="virtual_stake", msg=cap)).ok
    assert executor.execute(converter, vs, bond).ok
    # C-50: the host asks the module before routing a capped contract's staking message
    try:
        mesh.check_message(vs, StakingDelegate(validator=v, amount=Coin(denom=DENOM, amount=1)))
        raise AssertionError("a capped contract may not delegate natively")
    except Unsupported:
        pass
    for _ in range(4):  # the epoch is due 3 blocks after the cap
        executor.end_block()
        executor.begin_block(executor.time_s + 5)
    assert executor.staking.delegation_value(vs, v) == 500
    status = executor.querier.custom("virtual_stake", BondStatusQuery(contract=vs))
    assert status.delegated == Coin(denom=DENOM, amount=500)


def test_failing_valset_sudo_is_reported_and_the_block_goes_on_C_52() -> None:
    executor, mesh = _chain()
    converter = derive_address("stars", "converter")  # not a contract: forwarding fails
    vs = executor.instantiate(
        converter,
        VirtualStaking.code,
        VirtualStakingInstantiate(max_retrieve=10, tombstoned_unbond_enable=False),
    ).unwrap()
    cap = MsgSetVirtualStakingMaxCap(
        authority=executor.gov_address, contract=vs, max_cap=Coin(denom=DENOM, amount=10**6)
    )
    assert executor.submit(executor.gov_address, CustomMsg(module="virtual_stake", msg=cap)).ok
    v = executor.staking.bonded_validators()[0].operator
    assert executor.submit(executor.gov_address, ForceDowntime(validator=v)).ok
    result = executor.end_block()
    (sudo,) = result.sudo_results  # the valset report to the VS
    assert not sudo.ok  # its forward to the (missing) converter failed: all reverted
    assert result.failures == ()  # the block itself went on
    state = executor.contract_state(vs)
    assert state["slash_requests"]["value"] == ()
    assert "inactive" not in state
    executor.begin_block(executor.time_s + 5)
    assert mesh.total_delegated(vs) == 0
