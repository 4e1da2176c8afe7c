"""Native messages: what only a transaction's signer can send, never a contract.

Validator operations of the staking and slashing modules (create a validator, unjail, set or
withdraw commission; the operator's account must sign, else `Unauthorized`), the liveness and
evidence inputs a real chain gets from consensus (signed blocks, forced downtime, equivocation
evidence, C-31..C-39), and minting for tests and genesis-like setups. They are accepted as root
messages of a ``submit`` only; each records the events the SDK's message server emits.

The consensus inputs and `Mint` are privileged (issue 13: "any account minted 10^15 of the
staking denom"): only the governance module account, which stands for the chain itself and
the module that owns minting, may send them; anyone else gets `Unauthorized`. That account
has no key, so no signed transaction from outside the process can carry them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chains.contract._errors import Unauthorized
from chains.host._events import coins_text
from chains.modules._msgs import (
    CreateValidator,
    ForceDowntime,
    Mint,
    RecordLiveness,
    SetCommission,
    SubmitEquivocation,
    Unjail,
    WithdrawCommission,
)

if TYPE_CHECKING:
    from chains.host._executor import TxExecutor

__all__: list[str] = []  # a part of `TxExecutor`, not offered on its own


class NativeMessages:
    """The root-only native messages of one executor (see the module docstring).

    ``table`` maps each native message type to its handler ``(sender, msg) -> data``.
    """

    def __init__(self, executor: TxExecutor) -> None:
        self._bank = executor.bank
        self._staking = executor.staking
        # the executor's event buffer (mutated in place, never replaced)
        self._events = executor._events
        self._validate = executor.validate
        self._gov = executor.gov_address
        self.table: dict[type[Any], Callable[[str, Any], Any]] = {
            CreateValidator: self._create_validator,
            Unjail: self._unjail,
            SetCommission: self._set_commission,
            WithdrawCommission: self._withdraw_commission,
            RecordLiveness: self._record_liveness,
            ForceDowntime: self._force_downtime,
            SubmitEquivocation: self._submit_equivocation,
            Mint: self._mint,
        }

    def _chain_itself(self, sender: str) -> None:
        # consensus inputs and minting: the gov module account only (module docstring)
        if sender != self._gov:
            raise Unauthorized()

    def _operator_account(self, sender: str, validator: str) -> None:
        if sender != self._staking.staking.account_of(validator):
            raise Unauthorized()

    def _create_validator(self, sender: str, msg: CreateValidator) -> str:
        operator = self._staking.staking.operator_of(sender)
        self._staking.create_validator(
            operator,
            msg.pubkey,
            msg.self_bond,
            msg.commission,
            msg.min_self_delegation,
            max_rate=msg.max_rate,
            max_change_rate=msg.max_change_rate,
            self_bond_shares=msg.self_bond_shares,
        )
        self._events.append(
            (
                "staking",
                "create_validator",
                (("validator", operator), ("amount", str(msg.self_bond))),
            )
        )
        return operator

    def _unjail(self, sender: str, msg: Unjail) -> None:
        self._operator_account(sender, msg.validator)
        self._staking.unjail(msg.validator)
        self._events.append(("slashing", "unjail", (("validator", msg.validator),)))

    def _set_commission(self, sender: str, msg: SetCommission) -> None:
        self._operator_account(sender, msg.validator)
        self._staking.set_commission(msg.validator, msg.rate)
        self._events.append(
            (
                "staking",
                "edit_validator",
                (("validator", msg.validator), ("commission_rate", str(msg.rate))),
            )
        )

    def _withdraw_commission(self, sender: str, msg: WithdrawCommission) -> int:
        self._operator_account(sender, msg.validator)
        return self._staking.withdraw_validator_commission(msg.validator)

    def _record_liveness(self, sender: str, msg: RecordLiveness) -> None:
        self._chain_itself(sender)
        self._staking.record_liveness(msg.validator, msg.signed)

    def _force_downtime(self, sender: str, msg: ForceDowntime) -> int:
        self._chain_itself(sender)
        burned = self._staking.force_downtime(msg.validator)
        self._events.append(
            (
                "slashing",
                "slash",
                (
                    ("validator", msg.validator),
                    ("reason", "downtime"),
                    ("burned", str(burned)),
                ),
            )
        )
        return burned

    def _submit_equivocation(self, sender: str, msg: SubmitEquivocation) -> int | None:
        self._chain_itself(sender)
        burned = self._staking.submit_equivocation(
            msg.consensus_address, msg.infraction_height, msg.infraction_time, msg.power
        )
        if burned is not None:
            self._events.append(
                (
                    "slashing",
                    "slash",
                    (
                        ("consensus_address", msg.consensus_address),
                        ("reason", "double_sign"),
                        ("burned", str(burned)),
                    ),
                )
            )
        return burned

    def _mint(self, sender: str, msg: Mint) -> None:
        self._chain_itself(sender)
        recipient = self._validate(msg.to_address)
        for coin in msg.amount:
            if coin.amount:
                self._bank.mint(recipient, coin.denom, coin.amount, source="gov")
        self._events.append(
            ("bank", "mint", (("recipient", recipient), ("amount", coins_text(msg.amount))))
        )
