"""Routes: where the messages a contract (or a module account) emits go.

The emitter is the sender: ``WasmExecute`` (funds move emitter → target first),
``WasmInstantiate`` (new address from the chain prefix, the code and a journaled counter;
the address is the result data), ``BankSend``/``BankBurn``, ``StakingDelegate``/
``StakingUndelegate``/``StakingRedelegate`` (C-22)/``DistributionWithdrawReward``/
``DistributionSetWithdrawAddress`` (delegator = emitter), ``CustomMsg`` (the named module's
``handle``), ``IbcSendPacket``/``IbcTransfer``/``IbcCloseChannel`` (the module named
``"ibc"``, else `NoIbcModule`), and ``StargateMsg``, which this host cannot decode
(`UndecodableMessage`, C-50). Each route records the events the SDK's message server emits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chains.contract._coin import Coin
from chains.contract._contract import (
    BankBurn,
    BankSend,
    CustomMsg,
    DistributionSetWithdrawAddress,
    DistributionWithdrawReward,
    IbcCloseChannel,
    IbcSendPacket,
    IbcTransfer,
    Response,
    StakingDelegate,
    StakingRedelegate,
    StakingUndelegate,
    StargateMsg,
    WasmExecute,
    WasmInstantiate,
)
from chains.contract._errors import ChainError, WrongDenom
from chains.host._errors import (
    ModulePanic,
    NoIbcModule,
    UndecodableMessage,
    UnknownModule,
    panic_detail,
)
from chains.host._events import coins_text
from chains.modules._module import ModuleCall

if TYPE_CHECKING:
    from chains.host._executor import TxExecutor

__all__: list[str] = []  # a part of `TxExecutor`, not offered on its own


class MessageRoutes:
    """The routes of one executor's emitted messages (see the module docstring).

    ``table`` maps each routable message type to its route ``(sender, msg) -> data``; a
    route raises what its module raises. The routes hold the executor's bank, staking
    module, event buffer and registries themselves (one lookup less per message).
    """

    def __init__(self, executor: TxExecutor) -> None:
        self._executor = executor
        self._bank = executor.bank
        self._staking = executor.staking
        # the reward withdrawal of every epoch target (C-95) goes straight to distribution:
        # a route always runs inside a savepoint that a failure rolls back (the unit's,
        # or its sub-message's), so the module's own savepoint would add nothing
        self._withdraw = executor.staking.distribution.withdraw_in_savepoint
        self._bond_denom = executor.bond_denom
        # the executor's own buffers and registries (mutated in place, never replaced)
        self._events = executor._events
        # bound once: the bank and the event buffer are never replaced (a bank send's path)
        self._transfer = executor.bank.transfer
        self._emit = executor._events.append
        self._valid = executor._valid
        self._modules = executor._modules
        self._module_accounts = executor._module_accounts
        self._validate = executor.validate
        self._execute_contract = executor.execute_contract
        self._instantiate_contract = executor.instantiate_contract
        self._run_response = executor._run_response
        self.table: dict[type[Any], Callable[[str, Any], Any]] = {
            WasmExecute: self._wasm_execute,
            WasmInstantiate: self._wasm_instantiate,
            BankSend: self._bank_send,
            BankBurn: self._bank_burn,
            StakingDelegate: self._delegate,
            StakingUndelegate: self._undelegate,
            StakingRedelegate: self._redelegate,
            DistributionWithdrawReward: self._withdraw_reward,
            DistributionSetWithdrawAddress: self._set_withdraw_address,
            IbcSendPacket: self._ibc,
            IbcTransfer: self._ibc,
            IbcCloseChannel: self._ibc,
            CustomMsg: self._custom,
            StargateMsg: self._stargate,
        }

    def _wasm_execute(self, sender: str, msg: WasmExecute) -> Any:
        return self._execute_contract(sender, msg.contract_addr, msg.msg, msg.funds)

    def _wasm_instantiate(self, sender: str, msg: WasmInstantiate) -> str:
        return self._instantiate_contract(
            sender, msg.code, msg.msg, msg.funds, msg.label, msg.admin
        )

    def _bank_send(self, sender: str, msg: BankSend) -> None:
        recipient = msg.to_address
        if recipient not in self._valid:
            self._validate(recipient)
        coins = msg.amount
        if len(coins) == 1:
            # the common case; Bank.send would total per denom and check twice, and the
            # event's text is `coins_text` inline
            coin = coins[0]
            amount = coin.amount
            if amount:
                self._transfer(sender, recipient, coin.denom, amount)
            text = f"{amount}{coin.denom}"
        else:
            self._bank.send(sender, recipient, coins)
            text = coins_text(coins)
        self._emit(
            ("bank", "transfer", (("recipient", recipient), ("sender", sender), ("amount", text)))
        )

    def _bank_burn(self, sender: str, msg: BankBurn) -> None:
        for coin in msg.amount:
            if coin.amount:
                self._bank.burn(sender, coin.denom, coin.amount, source="bank")
        self._events.append(
            ("bank", "burn", (("burner", sender), ("amount", coins_text(msg.amount))))
        )

    def _bond_amount(self, coin: Coin) -> int:
        if coin.denom != self._bond_denom:
            raise WrongDenom(coin.denom, self._bond_denom)
        return coin.amount

    def _delegate(self, sender: str, msg: StakingDelegate) -> None:
        amount = self._bond_amount(msg.amount)
        self._staking.delegate(sender, msg.validator, amount)
        self._events.append(
            (
                "staking",
                "delegate",
                (
                    ("validator", msg.validator),
                    ("delegator", sender),
                    ("amount", str(amount)),
                ),
            )
        )

    def _undelegate(self, sender: str, msg: StakingUndelegate) -> None:
        amount = self._bond_amount(msg.amount)
        entry = self._staking.undelegate(sender, msg.validator, amount)
        self._events.append(
            (
                "staking",
                "unbond",
                (
                    ("validator", msg.validator),
                    ("delegator", sender),
                    ("amount", str(entry.initial_balance)),
                    ("completion_time", str(entry.completion_time)),
                ),
            )
        )

    def _redelegate(self, sender: str, msg: StakingRedelegate) -> None:
        amount = self._bond_amount(msg.amount)
        entry = self._staking.redelegate(sender, msg.src_validator, msg.dst_validator, amount)
        completion = self._executor.time_s if entry is None else entry.completion_time
        self._events.append(
            (
                "staking",
                "redelegate",
                (
                    ("source_validator", msg.src_validator),
                    ("destination_validator", msg.dst_validator),
                    ("delegator", sender),
                    ("amount", str(amount)),
                    ("completion_time", str(completion)),
                ),
            )
        )

    def _set_withdraw_address(self, sender: str, msg: DistributionSetWithdrawAddress) -> None:
        address = msg.address
        if address not in self._valid:
            self._validate(address)
        self._staking.set_withdraw_address(sender, address)
        self._events.append(
            (
                "distribution",
                "set_withdraw_address",
                (("delegator", sender), ("withdraw_address", address)),
            )
        )

    def _withdraw_reward(self, sender: str, msg: DistributionWithdrawReward) -> int:
        validator = msg.validator
        amount = self._withdraw(sender, validator)
        self._emit(
            (
                "distribution",
                "withdraw_rewards",
                (("validator", validator), ("delegator", sender), ("amount", str(amount))),
            )
        )
        return amount

    def _ibc(self, sender: str, msg: IbcSendPacket | IbcTransfer | IbcCloseChannel) -> Any:
        module = self._modules.get("ibc")
        if module is None:
            raise NoIbcModule(type(msg).__name__)
        if type(msg) is IbcSendPacket:
            # the per-packet path: a module offering ``send_packet`` takes the send directly,
            # without a validated ModuleCall and an empty response to run (same errors, same
            # result: a send has no data, no messages and no response events)
            send = getattr(module, "send_packet", None)
            if send is not None:
                try:
                    send(sender, msg, self._executor.height)
                except ChainError:
                    raise
                except Exception as exc:
                    raise ModulePanic("ibc", panic_detail(exc)) from exc
                return None
        return self._module_handle("ibc", sender, msg)

    def _custom(self, sender: str, msg: CustomMsg) -> Any:
        if msg.module not in self._modules:
            raise UnknownModule(msg.module)
        return self._module_handle(msg.module, sender, msg.msg)

    def _stargate(self, sender: str, msg: StargateMsg) -> Any:
        # no protobuf decoder: a raw message is refused by name rather than guessed at
        raise UndecodableMessage(msg.type_url)

    def _module_handle(self, name: str, sender: str, payload: Any) -> Any:
        module = self._modules[name]
        call = ModuleCall(block=self._executor.block_env, sender=sender)
        try:
            response = module.handle(call, payload)
        except ChainError:
            raise
        except Exception as exc:
            raise ModulePanic(name, panic_detail(exc)) from exc
        if not isinstance(response, Response):
            raise ModulePanic(name, f"handle returned {type(response).__name__}, not a Response")
        return self._run_response(self._module_accounts[name], "handle", response, source=name)
