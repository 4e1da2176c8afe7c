"""`ChainConfig` validation and derived values."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from chains import GenesisAccount, GenesisValidator
from chains.contract import derive_address
from chains.host import TxExecutor, account_key
from chains.modules import StakingParams
from tests.chains.host._kit import PREFIX, make_config


@pytest.mark.parametrize(
    "overrides",
    [
        {"chain_id": "bad id"},
        {"prefix": "Stars"},
        {"bond_denom": "x"},
        {"block_time": 0},
        {"accounts": (GenesisAccount(address=derive_address("osmo", "a"), coins=()),)},
        {
            "validators": (
                GenesisValidator(name="v", self_bond=1),
                GenesisValidator(name="v", self_bond=2),
            )
        },
    ],
)
def test_invalid_configs_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        make_config(**overrides)


def test_bond_denom_overrides_the_staking_params_and_genesis_uses_it() -> None:
    config = make_config(bond_denom="ustars", staking=StakingParams(max_validators=5))
    assert config.staking.bond_denom == "ustars" and config.staking.max_validators == 5
    ex = TxExecutor(config)
    assert ex.bank.supply("ustars") == 56_000_000
    assert ex.bank.balance(config.address("alice"), "stake") == 10**12


def test_derived_addresses_and_first_block_time() -> None:
    config = make_config(block_time=0.5, genesis_time=100)
    # a named account's address is its key's (issue 13)
    assert config.address("alice") == account_key("alice").address(PREFIX)
    assert config.address("alice") != derive_address(PREFIX, "alice")
    assert config.operator("alice").startswith(PREFIX + "valoper1")
    assert config.first_block_time == 101  # at least one second after genesis
    assert make_config(block_time=6.0, genesis_time=100).first_block_time == 106
