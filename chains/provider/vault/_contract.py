"""The vault contract core: collateral, liens, pending remote stakes, slashing (provider §3).

Users bond collateral in one denom and lend it as **liens** to lien holders: the local staking
contract (which receives the tokens) and any number of external staking contracts (which
receive a promise). The vault keeps, per user, ``max_lien`` and the incremental
``total_slashable`` so that collateral always covers the worst case (P-18), reserves remote
stakes as value ranges until the consumer answers (P-26, P-28, P-29), frees liens when lien
holders release stake (P-30, P-31), and applies slashes reported by lien holders,
propagating any deficit to the user's other liens (P-36..P-42).

Atomicity (P-2) is the chain host's job (option (a)): a failing call to a lien holder made
from the vault (``receive_stake``, ``receive_virtual_stake``) fails the whole transaction, so
no compensation is coded here. Burns sent after a slash are the exception (P-42 [rec]):
they run as sub-messages whose failure is caught and reported as a ``BurnFailed`` event.
"""

from __future__ import annotations

from typing import Any, ClassVar

from chains.contract._coin import Coin, must_pay, nonpayable
from chains.contract._contract import (
    BankSend,
    Contract,
    Env,
    Event,
    MessageInfo,
    Reply,
    ReplyOn,
    Response,
    SubMsg,
    WasmExecute,
    WasmInstantiate,
)
from chains.contract._errors import InvalidAmount, Overflow, UnsupportedMessage
from chains.provider._errors import NoInstantiateData, WrongTypeTx
from chains.provider._lien_holder import (
    BurnStake,
    BurnVirtualStake,
    MaxSlash,
    MaxSlashResponse,
    ReceiveStake,
    ReceiveVirtualStake,
)
from chains.provider._pagination import page_limit
from chains.provider._pending_tx import VAULT_FIRST_TX_ID, InFlightStaking, PendingTxBook
from chains.provider._value_range import ValueRange, max_range
from chains.provider.vault._errors import (
    ClaimsLocked,
    InsufficientBalance,
    InsufficientLien,
    NoClaim,
    NoLocalStaking,
    UnexpectedDenom,
    UnknownLienholder,
    WrongContractTx,
)
from chains.provider.vault._msgs import (
    ActiveExternalStakingQuery,
    ActiveExternalStakingResponse,
    CommitTx,
    CrossSlash,
    ExistingLocalStaking,
    LienResponse,
    LocalSlash,
    NewLocalStaking,
    ReleaseCrossStake,
    ReleaseLocalStake,
    RollbackTx,
    SlashInfo,
    StakeLocal,
    StakeRemote,
    VaultAccountClaimsQuery,
    VaultAccountClaimsResponse,
    VaultAccountDetailsQuery,
    VaultAccountDetailsResponse,
    VaultAccountQuery,
    VaultAccountResponse,
    VaultAllAccountsItem,
    VaultAllAccountsQuery,
    VaultAllAccountsResponse,
    VaultAllPendingTxsDescQuery,
    VaultBond,
    VaultClaimQuery,
    VaultConfigQuery,
    VaultConfigResponse,
    VaultInstantiate,
    VaultPendingTxQuery,
    VaultUnbond,
)
from chains.provider.vault._slashing import SlashOutcome, apply_slash
from chains.provider.vault._state import Lien, LocalStakingInfo, UserInfo, VaultConfig, VaultState
from mesh_actors import Message

__all__ = ["Vault", "instantiated_address"]

# reply ids: 1 is the creation of a new local staking contract; burns after a slash get
# ids from BURN_REPLY_BASE upward, each mapped in storage to what it burned (P-42)
_INSTANTIATE_LOCAL_STAKING = 1
_BURN_REPLY_BASE = 1_000


def instantiated_address(reply: Reply) -> tuple[str, Any]:
    """``(address, data)`` of a successful ``WasmInstantiate`` sub-message reply.

    Accepts the host's reply data as the new address itself, a mapping with an
    ``address``/``contract_address`` key (and optional ``data``), or an object with such
    attributes. Raises ``NoInstantiateData`` if no address can be found.
    """
    data = reply.data
    if isinstance(data, str) and data:
        return data, None
    for key in ("contract_address", "address"):
        value = data.get(key) if isinstance(data, dict) else getattr(data, key, None)
        if isinstance(value, str) and value:
            inner = data.get("data") if isinstance(data, dict) else getattr(data, "data", None)
            return value, inner
    raise NoInstantiateData()


def _event(kind: str, **attributes: object) -> Event:
    return Event(type=kind, attributes=tuple((k, str(v)) for k, v in attributes.items()))


class Vault(Contract):
    """The vault contract core (provider §3). See the module docstring."""

    code: ClassVar[str] = "mesh-vault"

    def __init__(self, deps: Any) -> None:
        super().__init__(deps)
        self.state = VaultState(deps.storage)
        self.txs = PendingTxBook(deps.storage, first_id=VAULT_FIRST_TX_ID, index_by_owner=True)
        self._burn_seq = deps.storage.item("burn_reply_seq")
        self._burn_replies = deps.storage.map("burn_replies")

    # -- entry points -------------------------------------------------------------------------

    def instantiate(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        """P-22: store the denom and the local staking contract (existing or created now).

        Raises ``NonPayable``; a failing ``max_slash`` query fails the instantiation.
        """
        if not isinstance(msg, VaultInstantiate):
            raise UnsupportedMessage("instantiate", type(msg).__name__)
        nonpayable(info.funds)
        local = msg.local_staking
        if isinstance(local, ExistingLocalStaking):
            address = self.deps.validate_address(local.address)
            info_ = LocalStakingInfo(address, self._query_max_slash(address).slash_ratio_dsign)
            self.state.save_config(VaultConfig(msg.denom, info_))
            return Response()
        self.state.save_config(VaultConfig(msg.denom, None))
        if isinstance(local, NewLocalStaking):
            create = WasmInstantiate(
                code=local.code, msg=local.init_msg, label=local.label, admin=local.admin
            )
            return Response.of(
                SubMsg(id=_INSTANTIATE_LOCAL_STAKING, msg=create, reply_on=ReplyOn.SUCCESS)
            )
        return Response()

    def execute(self, env: Env, info: MessageInfo, msg: Message) -> Response:
        """Dispatch the execute messages of §3.4; each handler documents its errors."""
        match msg:
            case VaultBond():
                return self._bond(info)
            case VaultUnbond():
                return self._unbond(info, msg)
            case StakeLocal():
                return self._stake_local(info, msg)
            case StakeRemote():
                return self._stake_remote(info, msg)
            case CommitTx():
                return self._commit_tx(info, msg.tx_id)
            case RollbackTx():
                return self._rollback_tx(info, msg.tx_id)
            case ReleaseCrossStake():
                return self._release_cross_stake(info, msg)
            case ReleaseLocalStake():
                return self._release_local_stake(info, msg)
            case LocalSlash() | CrossSlash():
                nonpayable(info.funds)
                return self._slash(info.sender, msg.slashes, msg.validator)
        raise UnsupportedMessage("execute", type(msg).__name__)

    def reply(self, env: Env, reply: Reply) -> Response:
        """Learn a newly created local staking contract (P-22) or report a burn (P-42)."""
        if reply.id == _INSTANTIATE_LOCAL_STAKING:
            address, _ = instantiated_address(reply)
            config = self.state.config()
            max_slash = self._query_max_slash(address).slash_ratio_dsign
            self.state.save_config(VaultConfig(config.denom, LocalStakingInfo(address, max_slash)))
            return Response(events=(_event("local_staking_created", address=address),))
        record = self._burn_replies.pop(reply.id, None)
        if record is None:
            raise UnsupportedMessage("reply", str(reply.id))
        holder, user, amount = record
        if reply.ok:
            return Response()
        error = reply.error.name if reply.error is not None else "unknown"
        return Response(
            events=(_event("BurnFailed", holder=holder, user=user, amount=amount, error=error),)
        )

    def query(self, env: Env, msg: Message) -> Any:
        """Answer the queries of P-34 (unknown users yield zeros)."""
        config = self.state.config()
        match msg:
            case VaultConfigQuery():
                local = config.local_staking
                return VaultConfigResponse(
                    denom=config.denom, local_staking=local.address if local else None
                )
            case VaultAccountQuery():
                user = self.state.user(msg.account)
                return VaultAccountResponse(
                    denom=config.denom, bonded=user.collateral, free=user.free
                )
            case VaultAccountDetailsQuery():
                user = self.state.user(msg.account)
                return VaultAccountDetailsResponse(
                    denom=config.denom,
                    bonded=user.collateral,
                    free=user.free,
                    max_lien=user.max_lien,
                    total_slashable=user.total_slashable,
                )
            case VaultClaimQuery():
                lien = self.state.lien(msg.owner, msg.lienholder)
                if lien is None:
                    raise NoClaim()
                return LienResponse(
                    lienholder=msg.lienholder, amount=lien.amount, slashable=lien.slashable
                )
            case VaultAccountClaimsQuery():
                liens = self.state.liens_of(msg.account)
                holders = [h for h in liens if msg.start_after is None or h > msg.start_after]
                return VaultAccountClaimsResponse(
                    claims=tuple(
                        LienResponse(
                            lienholder=h, amount=liens[h].amount, slashable=liens[h].slashable
                        )
                        for h in holders[: page_limit(msg.limit)]
                    )
                )
            case VaultAllAccountsQuery():
                return self._all_accounts(config.denom, msg)
            case ActiveExternalStakingQuery():
                return ActiveExternalStakingResponse(contracts=self.state.active_external())
            case VaultPendingTxQuery():
                return self.txs.load(msg.tx_id)
            case VaultAllPendingTxsDescQuery():
                return tuple(self.txs.desc(msg.start_after, msg.limit))
        raise UnsupportedMessage("query", type(msg).__name__)

    # -- helpers ------------------------------------------------------------------------------

    def _query_max_slash(self, contract: str) -> MaxSlashResponse:
        answer = self.deps.querier.smart(contract, MaxSlash())
        if not isinstance(answer, MaxSlashResponse):
            answer = MaxSlashResponse.model_validate(answer)
        return answer

    def _check_denom(self, coin: Coin) -> int:
        denom = self.state.config().denom
        if coin.denom != denom:
            raise UnexpectedDenom(denom)
        return coin.amount

    def _all_accounts(self, denom: str, msg: VaultAllAccountsQuery) -> VaultAllAccountsResponse:
        limit = page_limit(msg.limit)
        items: list[VaultAllAccountsItem] = []
        for user in self.state.users_after(msg.start_after):
            if len(items) >= limit:
                break
            info = self.state.user(user)
            if msg.with_collateral and info.collateral == 0:
                continue
            account = VaultAccountResponse(denom=denom, bonded=info.collateral, free=info.free)
            items.append(VaultAllAccountsItem(user=user, account=account))
        return VaultAllAccountsResponse(accounts=tuple(items))

    # -- collateral (P-23, P-24) --------------------------------------------------------------

    def _bond(self, info: MessageInfo) -> Response:
        """P-23: ``collateral += amount`` of the one attached coin. Payment errors (P-5)."""
        denom = self.state.config().denom
        amount = must_pay(info.funds, denom)
        user = self.state.user(info.sender)
        self.state.save_user(
            info.sender,
            UserInfo(user.collateral + amount, user.max_lien, user.total_slashable),
        )
        return Response(events=(_event("bond", sender=info.sender, amount=amount),))

    def _unbond(self, info: MessageInfo, msg: VaultUnbond) -> Response:
        """P-24: withdraw up to ``free.low``.

        Raises ``NonPayable``, ``UnexpectedDenom``, ``InvalidAmount`` (zero) or
        ``ClaimsLocked(free)``.
        """
        nonpayable(info.funds)
        amount = self._check_denom(msg.amount)
        if amount == 0:
            raise InvalidAmount(0)
        user = self.state.user(info.sender)
        free = user.free
        if amount > user.collateral - user.used.high:
            raise ClaimsLocked.of(free)
        self.state.save_user(
            info.sender,
            UserInfo(user.collateral - amount, user.max_lien, user.total_slashable),
        )
        return Response.of(
            BankSend(to_address=info.sender, amount=(msg.amount,)),
            events=(_event("unbond", sender=info.sender, amount=amount),),
        )

    # -- liens (P-25, P-26, P-28, P-29) -------------------------------------------------------

    def _reserve_lien(
        self, owner: str, holder: str, amount: int, ratio: Any, *, prepare: bool
    ) -> Lien:
        """Add (``prepare=False``) or prepare-add a lien and its slashable share, or raise
        ``InsufficientBalance`` (P-25, P-26). Returns the stored lien."""
        user = self.state.user(owner)
        lien = self.state.lien(owner, holder) or Lien(ValueRange(0, 0), ratio)
        collateral = user.collateral
        try:
            if prepare:
                new_amount = lien.amount.prepare_add(amount, collateral)
                slashable = user.total_slashable.prepare_add(
                    lien.slashable.mul_floor(amount), collateral
                )
            else:
                new_amount = lien.amount.add(amount, collateral)
                slashable = user.total_slashable.add(lien.slashable.mul_floor(amount), collateral)
        except Overflow:
            raise InsufficientBalance() from None
        new_lien = Lien(new_amount, lien.slashable)
        new_user = UserInfo(collateral, max_range(user.max_lien, new_amount), slashable)
        if new_user.used.high > collateral:
            raise InsufficientBalance()
        self.state.save_lien(owner, holder, new_lien)
        self.state.save_user(owner, new_user)
        return new_lien

    def _stake_local(self, info: MessageInfo, msg: StakeLocal) -> Response:
        """P-25: lien to local staking at once and send it the tokens with ``receive_stake``.

        Raises ``NonPayable``, ``NoLocalStaking``, ``UnexpectedDenom``, ``InvalidAmount``
        (zero) or ``InsufficientBalance``.
        """
        nonpayable(info.funds)
        local = self.state.config().local_staking
        if local is None:
            raise NoLocalStaking()
        amount = self._check_denom(msg.amount)
        if amount == 0:
            raise InvalidAmount(0)
        self._reserve_lien(info.sender, local.address, amount, local.max_slash, prepare=False)
        return Response.of(
            WasmExecute(
                contract_addr=local.address,
                msg=ReceiveStake(owner=info.sender, msg=msg.msg),
                funds=(msg.amount,),
            ),
            events=(_event("stake_local", owner=info.sender, amount=amount),),
        )

    def _stake_remote(self, info: MessageInfo, msg: StakeRemote) -> Response:
        """P-26: prepare a lien to ``contract``, record ``InFlightStaking`` and call its
        ``receive_virtual_stake``.

        Raises ``NonPayable``, ``UnexpectedDenom``, ``InvalidAmount`` (zero),
        ``InsufficientBalance``, or whatever the ``max_slash`` query raises.
        """
        nonpayable(info.funds)
        amount = self._check_denom(msg.amount)
        if amount == 0:
            raise InvalidAmount(0)
        contract = self.deps.validate_address(msg.contract)
        ratio = self._query_max_slash(contract).slash_ratio_dsign
        lien = self._reserve_lien(info.sender, contract, amount, ratio, prepare=True)
        tx_id = self.txs.allocate_id()
        self.txs.add(InFlightStaking(tx_id, amount, lien.slashable, info.sender, contract))
        self.state.add_active_external(contract)
        return Response.of(
            WasmExecute(
                contract_addr=contract,
                msg=ReceiveVirtualStake(
                    owner=info.sender, amount=msg.amount, tx_id=tx_id, msg=msg.msg
                ),
            ),
            events=(
                _event(
                    "stake_remote", owner=info.sender, contract=contract, amount=amount, tx_id=tx_id
                ),
            ),
        )

    def _load_own_tx(self, info: MessageInfo, tx_id: int) -> InFlightStaking:
        nonpayable(info.funds)
        tx = self.txs.load(tx_id)
        if not isinstance(tx, InFlightStaking):
            raise WrongTypeTx(tx_id, type(tx).__name__)
        if tx.lienholder != info.sender:
            raise WrongContractTx(tx_id, info.sender)
        return tx

    def _commit_tx(self, info: MessageInfo, tx_id: int) -> Response:
        """P-28 with the [rec] saturating forms. Raises ``NotFound``, ``WrongTypeTx``,
        ``WrongContractTx``."""
        tx = self._load_own_tx(info, tx_id)
        user = self.state.user(tx.user)
        lien = self.state.lien(tx.user, tx.lienholder) or Lien(ValueRange(0, 0), tx.slashable)
        amount = lien.amount.commit_add_saturating(tx.amount)
        self.state.save_lien(tx.user, tx.lienholder, Lien(amount, lien.slashable))
        slashable = user.total_slashable.commit_add_saturating(lien.slashable.mul_floor(tx.amount))
        self.state.save_user(
            tx.user, UserInfo(user.collateral, max_range(user.max_lien, amount), slashable)
        )
        self.txs.remove(tx)
        return Response(events=(_event("commit_tx", tx_id=tx_id),))

    def _rollback_tx(self, info: MessageInfo, tx_id: int) -> Response:
        """P-29 with the [rec] saturating forms; the tx's own ratio is used for
        ``total_slashable``. Raises ``NotFound``, ``WrongTypeTx``, ``WrongContractTx``."""
        tx = self._load_own_tx(info, tx_id)
        user = self.state.user(tx.user)
        lien = self.state.lien(tx.user, tx.lienholder)
        if lien is not None:
            amount = lien.amount.rollback_add_saturating(tx.amount)
            if amount.high == 0:
                self.state.delete_lien(tx.user, tx.lienholder)
            else:
                self.state.save_lien(tx.user, tx.lienholder, Lien(amount, lien.slashable))
        slashable = user.total_slashable.rollback_add_saturating(tx.slashable.mul_floor(tx.amount))
        self.state.save_user(
            tx.user, UserInfo(user.collateral, self.state.max_lien(tx.user), slashable)
        )
        self.txs.remove(tx)
        return Response(events=(_event("rollback_tx", tx_id=tx_id),))

    # -- releases (P-30, P-31) ----------------------------------------------------------------

    def _release(self, owner: str, holder: str, amount: int) -> None:
        """Free ``amount`` of the (owner, holder) lien; the collateral stays (P-30).

        Raises ``UnknownLienholder`` or ``InsufficientLien``.
        """
        lien = self.state.lien(owner, holder)
        if lien is None:
            raise UnknownLienholder(owner, holder)
        if lien.amount.low < amount:
            raise InsufficientLien(lien.amount.low, amount)
        new_amount = lien.amount.sub(amount, 0)
        if new_amount.high == 0:
            self.state.delete_lien(owner, holder)
        else:
            self.state.save_lien(owner, holder, Lien(new_amount, lien.slashable))
        user = self.state.user(owner)
        # [rec] saturate: incremental flooring can make this exceed what was added (P-30)
        slashable = user.total_slashable.sub_saturating(lien.slashable.mul_floor(amount))
        self.state.save_user(
            owner, UserInfo(user.collateral, self.state.max_lien(owner), slashable)
        )

    def _release_cross_stake(self, info: MessageInfo, msg: ReleaseCrossStake) -> Response:
        """P-30. Raises ``NonPayable``, ``UnexpectedDenom``, ``UnknownLienholder``,
        ``InsufficientLien``."""
        nonpayable(info.funds)
        amount = self._check_denom(msg.amount)
        self._release(msg.owner, info.sender, amount)
        return Response(
            events=(
                _event("release_cross_stake", owner=msg.owner, holder=info.sender, amount=amount),
            )
        )

    def _release_local_stake(self, info: MessageInfo, msg: ReleaseLocalStake) -> Response:
        """P-31: the attached tokens come back; the caller is only used as the lien-holder
        key **[ref-quirk]** (a caller can only reduce its own liens). Raises payment errors,
        ``UnknownLienholder``, ``InsufficientLien``."""
        amount = must_pay(info.funds, self.state.config().denom)
        self._release(msg.owner, info.sender, amount)
        return Response(
            events=(
                _event("release_local_stake", owner=msg.owner, holder=info.sender, amount=amount),
            )
        )

    # -- slashing (P-32..P-42) ----------------------------------------------------------------

    def _slash(self, holder: str, slashes: tuple[SlashInfo, ...], validator: str) -> Response:
        """Apply ``slashes`` reported by ``holder`` (P-36..P-41); never raises for a missing
        lien or an oversized slash (P-36 [rec], P-100). Burns are caught sub-messages (P-42)."""
        config = self.state.config()
        local = config.local_staking.address if config.local_staking else None
        events: list[Event] = []
        messages: list[SubMsg] = []
        for entry in slashes:
            lien = self.state.lien(entry.user, holder)
            if lien is None:
                events.append(
                    _event("SlashSkipped", user=entry.user, holder=holder, slash=entry.slash)
                )
                continue
            outcome = apply_slash(
                self.state.user(entry.user), self.state.liens_of(entry.user), holder, entry.slash
            )
            self._store_outcome(entry.user, outcome)
            if outcome.applied != outcome.requested:
                events.append(
                    _event(
                        "SlashClamped",
                        user=entry.user,
                        holder=holder,
                        requested=outcome.requested,
                        applied=outcome.applied,
                    )
                )
            events.append(
                _event(
                    "slash",
                    user=entry.user,
                    holder=holder,
                    validator=validator,
                    amount=outcome.applied,
                    collateral=outcome.account.collateral,
                    mode=outcome.mode or "none",
                    rounds=outcome.rounds,
                    drift_cleared=outcome.drift_cleared,
                )
            )
            for burn in outcome.burns:
                target = validator if burn.holder == holder else None
                coin = Coin(denom=config.denom, amount=burn.amount)
                burn_msg: Message
                if burn.holder == local:
                    burn_msg = BurnStake(owner=entry.user, amount=coin, validator=target)
                else:
                    burn_msg = BurnVirtualStake(owner=entry.user, amount=coin, validator=target)
                reply_id = self._next_burn_reply_id()
                self._burn_replies[reply_id] = (burn.holder, entry.user, burn.amount)
                messages.append(
                    SubMsg(
                        id=reply_id,
                        msg=WasmExecute(contract_addr=burn.holder, msg=burn_msg),
                        reply_on=ReplyOn.ALWAYS,
                    )
                )
        return Response(messages=tuple(messages), events=tuple(events))

    def _store_outcome(self, user: str, outcome: SlashOutcome) -> None:
        for holder, lien in outcome.liens.items():
            self.state.save_lien(user, holder, lien)
        self.state.save_user(user, outcome.account)

    def _next_burn_reply_id(self) -> int:
        seq: int = self._burn_seq.may_load() or 0
        self._burn_seq.save(seq + 1)
        return _BURN_REPLY_BASE + seq
