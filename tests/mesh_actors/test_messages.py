"""Messages are frozen, named for the wire, and found through an explicit registry."""

from __future__ import annotations

import gc

import pydantic
import pytest

from mesh_actors import Address, InvalidName, Message, MessageRegistry, Terminated


class Deposit(Message):
    type_name = "test.deposit"
    account: str
    amount: int


class Unnamed(Message):
    value: int


def test_messages_are_frozen_and_refuse_unknown_fields() -> None:
    msg = Deposit(account="alice", amount=5)
    with pytest.raises(pydantic.ValidationError):
        msg.amount = 6  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        Deposit(account="alice", amount=5, extra=1)  # type: ignore[call-arg]


def test_type_name_is_explicit_or_module_qualified() -> None:
    assert Deposit.type_name == "test.deposit"
    assert Unnamed.type_name.endswith("test_messages.Unnamed")
    assert Terminated.type_name == "mesh_actors.Terminated"


def test_registry_from_subclasses_finds_messages_by_name() -> None:
    registry = MessageRegistry.from_subclasses()
    assert registry.get("test.deposit") is Deposit
    assert registry.get(Unnamed.type_name) is Unnamed
    assert "mesh_actors.Terminated" in registry
    assert registry.get("nope") is None


def test_registry_refuses_two_classes_with_one_name() -> None:
    class Other(Message):
        type_name = "test.deposit"

    registry = MessageRegistry([Deposit])
    with pytest.raises(ValueError, match=r"test\.deposit"):
        registry.register(Other)
    registry.register(Deposit)  # the same class again is fine
    assert len(registry) == 1
    # Other stays a subclass of Message until collected; registries built later from
    # Message.__subclasses__() in the same session must not see a name clash.
    del Other
    gc.collect()


def test_address_parse_and_format() -> None:
    address = Address.parse("osmosis/chain/vault")
    assert (address.system, address.path, address.name) == ("osmosis", "chain/vault", "vault")
    assert str(address) == "osmosis/chain/vault"
    assert address == Address("osmosis", "chain/vault")
    assert address.child("x") == Address.parse("osmosis/chain/vault/x")
    for bad in ["nosystem", "a/", "/b", "a/b c", "a b/c"]:
        with pytest.raises(InvalidName):
            Address.parse(bad)
