"""Settling external staking's pending txs: commit or roll back (P-65, P-66, P-68, P-69,
P-75, P-16).

Used by the ack and timeout handlers and by the channel close (P-83 step 1). Every path is
total: the saturating value-range forms absorb any slash that moved a range since the
packet was sent (P-79), so settling never fails (P-16, I-18).
"""

from __future__ import annotations

from dataclasses import replace

from chains.contract._contract import CosmosMsg, Env, Event, ReplyOn, SubMsg, WasmExecute
from chains.provider._pending_tx import (
    InFlightRemoteStaking,
    InFlightRemoteUnstaking,
    InFlightTransferFunds,
    PendingTx,
    PendingTxBook,
)
from chains.provider.external_staking._crdt import ValidatorSet, ValidatorState
from chains.provider.external_staking._state import ExternalState, PendingUnbond
from chains.provider.vault._msgs import CommitTx, RollbackTx
from mesh_actors import Message

__all__ = ["VAULT_CALLBACK_REPLY", "TxSettlement"]

# the vault's commit_tx / rollback_tx run as caught sub-messages (P-97): a failure there is
# an internal-consistency alarm, never a failed ack
VAULT_CALLBACK_REPLY = 1


def _event(kind: str, *attributes: tuple[str, object]) -> Event:
    return Event(type=kind, attributes=tuple((k, str(v)) for k, v in attributes))


class TxSettlement:
    """Commits or rolls back external staking's pending txs."""

    __slots__ = ("state", "txs", "valset")

    def __init__(self, state: ExternalState, valset: ValidatorSet, txs: PendingTxBook) -> None:
        self.state = state
        self.valset = valset
        self.txs = txs

    def resolve(
        self, tx: PendingTx, *, success: bool, env: Env
    ) -> tuple[list[CosmosMsg | SubMsg], list[Event]]:
        """Commit or roll back one pending tx; total (saturating forms, P-16, P-79)."""
        config = self.state.config()
        self.txs.remove(tx)
        if isinstance(tx, InFlightRemoteStaking):
            stake = self.state.stake(tx.user, tx.validator)
            if success:
                # P-65
                stake = replace(stake, stake=stake.stake.commit_add_saturating(tx.amount))
                stake = self.state.change_weight(tx.validator, stake, tx.amount)
                callback: Message = CommitTx(tx_id=tx.id)
            else:
                # P-66
                stake = replace(stake, stake=stake.stake.rollback_add_saturating(tx.amount))
                callback = RollbackTx(tx_id=tx.id)
            self.state.save_stake(tx.user, tx.validator, stake)
            vault_call = SubMsg(
                id=VAULT_CALLBACK_REPLY,
                msg=WasmExecute(contract_addr=config.vault, msg=callback),
                reply_on=ReplyOn.ERROR,
            )
            kind = "stake_committed" if success else "stake_rolled_back"
            return [vault_call], [_event(kind, ("tx_id", tx.id), ("amount", tx.amount))]
        if isinstance(tx, InFlightRemoteUnstaking):
            stake = self.state.stake(tx.user, tx.validator)
            if success:
                # P-68: the unbonding clock starts now, at the ack
                amount = min(tx.amount, stake.stake.high)
                state = self.valset.state(tx.validator)
                immediate = state in (ValidatorState.UNBONDED, ValidatorState.TOMBSTONED)
                now = env.block.time_s
                release_at = now if immediate else now + config.unbonding_period
                stake = replace(
                    stake,
                    stake=stake.stake.commit_sub_saturating(amount),
                    pending_unbonds=(*stake.pending_unbonds, PendingUnbond(amount, release_at)),
                )
                stake = self.state.change_weight(tx.validator, stake, -amount)
                event = _event(
                    "unstake_committed",
                    ("tx_id", tx.id),
                    ("amount", amount),
                    ("release_at", release_at),
                )
            else:
                # P-69
                stake = replace(stake, stake=stake.stake.rollback_sub_saturating(tx.amount))
                event = _event("unstake_rolled_back", ("tx_id", tx.id), ("amount", tx.amount))
            self.state.save_stake(tx.user, tx.validator, stake)
            return [], [event]
        if isinstance(tx, InFlightTransferFunds):
            stake = self.state.stake(tx.staker, tx.validator)
            withdrawing = max(stake.withdrawing - tx.amount, 0)
            withdrawn = stake.withdrawn_funds + (tx.amount if success else 0)
            self.state.save_stake(
                tx.staker,
                tx.validator,
                replace(stake, withdrawing=withdrawing, withdrawn_funds=withdrawn),
            )
            kind = "rewards_transferred" if success else "rewards_transfer_failed"
            return [], [_event(kind, ("tx_id", tx.id), ("amount", tx.amount))]
        # the vault's InFlightStaking is never stored here
        return [], [_event("TxNotPending", ("tx_id", tx.id))]
