"""Messages of the vault contract: instantiate, execute, queries and their answers (§3).

Execute messages the vault *sends* to lien holders are in ``_lien_holder_api``.
"""

from __future__ import annotations

from typing import Any

from chains.contract._coin import Coin
from chains.contract._decimal import Decimal18
from chains.provider._value_range import ValueRange
from mesh_actors import Message

__all__ = [
    "VaultAccountClaimsQuery",
    "VaultAccountClaimsResponse",
    "VaultAccountDetailsQuery",
    "VaultAccountDetailsResponse",
    "VaultAccountQuery",
    "VaultAccountResponse",
    "ActiveExternalStakingQuery",
    "ActiveExternalStakingResponse",
    "VaultAllAccountsItem",
    "VaultAllAccountsQuery",
    "VaultAllAccountsResponse",
    "VaultAllPendingTxsDescQuery",
    "VaultBond",
    "VaultClaimQuery",
    "CommitTx",
    "CrossSlash",
    "ExistingLocalStaking",
    "LienResponse",
    "LocalSlash",
    "NewLocalStaking",
    "VaultPendingTxQuery",
    "ReleaseCrossStake",
    "ReleaseLocalStake",
    "RollbackTx",
    "SlashInfo",
    "StakeLocal",
    "StakeRemote",
    "VaultUnbond",
    "VaultConfigQuery",
    "VaultConfigResponse",
    "VaultInstantiate",
]

# -- instantiate (P-22) -----------------------------------------------------------------------


class ExistingLocalStaking(Message):
    """Use an already deployed local staking contract."""

    type_name = "vault.existing_local_staking"
    address: str


class NewLocalStaking(Message):
    """Create a new local staking contract of ``code``; the vault becomes its creator."""

    type_name = "vault.new_local_staking"
    code: str
    init_msg: Any
    admin: str | None = None
    label: str = "Mesh Security Local Staking"


class VaultInstantiate(Message):
    """``instantiate(denom, local_staking?)`` (P-22). Non-payable."""

    type_name = "vault.instantiate"
    denom: str
    local_staking: ExistingLocalStaking | NewLocalStaking | None = None


# -- execute (P-23..P-33) ---------------------------------------------------------------------


class VaultBond(Message):
    """Add the attached coin (exactly one, of the collateral denom) to the collateral (P-23)."""

    type_name = "vault.bond"


class VaultUnbond(Message):
    """Withdraw free collateral (P-24). Non-payable."""

    type_name = "vault.unbond"
    amount: Coin


class StakeLocal(Message):
    """Lien collateral to local staking and send it the tokens (P-25). Non-payable."""

    type_name = "vault.stake_local"
    amount: Coin
    msg: bytes


class StakeRemote(Message):
    """Lien collateral to an external staking ``contract`` (P-26). Non-payable."""

    type_name = "vault.stake_remote"
    contract: str
    amount: Coin
    msg: bytes


class CommitTx(Message):
    """Lien holder → vault after a success ack (P-28)."""

    type_name = "vault.commit_tx"
    tx_id: int


class RollbackTx(Message):
    """Lien holder → vault after an error ack or timeout (P-29)."""

    type_name = "vault.rollback_tx"
    tx_id: int


class ReleaseCrossStake(Message):
    """External staking → vault after unbonding matured (P-30). Non-payable."""

    type_name = "vault.release_cross_stake"
    owner: str
    amount: Coin


class ReleaseLocalStake(Message):
    """Local staking → vault with the returned tokens attached (P-31)."""

    type_name = "vault.release_local_stake"
    owner: str


class SlashInfo(Message):
    """One user's slash in a ``LocalSlash`` / ``CrossSlash`` (P-32, P-33)."""

    type_name = "vault.slash_info"
    user: str
    slash: int


class LocalSlash(Message):
    """Local staking reports slashes of its users on ``validator`` (P-32)."""

    type_name = "vault.local_slash"
    slashes: tuple[SlashInfo, ...]
    validator: str


class CrossSlash(Message):
    """External staking reports slashes of its users on ``validator`` (P-33)."""

    type_name = "vault.cross_slash"
    slashes: tuple[SlashInfo, ...]
    validator: str


# -- queries (P-34) ---------------------------------------------------------------------------


class VaultConfigQuery(Message):
    type_name = "vault.query.config"


class VaultConfigResponse(Message):
    type_name = "vault.config"
    denom: str
    local_staking: str | None


class VaultAccountQuery(Message):
    type_name = "vault.query.account"
    account: str


class VaultAccountResponse(Message):
    """``bonded`` is the collateral; ``free`` the free range (low end is withdrawable)."""

    type_name = "vault.account"
    denom: str
    bonded: int
    free: ValueRange


class VaultAccountDetailsQuery(Message):
    type_name = "vault.query.account_details"
    account: str


class VaultAccountDetailsResponse(Message):
    type_name = "vault.account_details"
    denom: str
    bonded: int
    free: ValueRange
    max_lien: ValueRange
    total_slashable: ValueRange


class VaultClaimQuery(Message):
    """``claim(U, H)``: the lien, or ``NoClaim``."""

    type_name = "vault.query.claim"
    owner: str
    lienholder: str


class LienResponse(Message):
    type_name = "vault.lien"
    lienholder: str
    amount: ValueRange
    slashable: Decimal18


class VaultAccountClaimsQuery(Message):
    type_name = "vault.query.account_claims"
    account: str
    start_after: str | None = None
    limit: int | None = None


class VaultAccountClaimsResponse(Message):
    type_name = "vault.account_claims"
    claims: tuple[LienResponse, ...]


class VaultAllAccountsQuery(Message):
    type_name = "vault.query.all_accounts"
    with_collateral: bool = False
    start_after: str | None = None
    limit: int | None = None


class VaultAllAccountsItem(Message):
    type_name = "vault.all_accounts_item"
    user: str
    account: VaultAccountResponse


class VaultAllAccountsResponse(Message):
    type_name = "vault.all_accounts"
    accounts: tuple[VaultAllAccountsItem, ...]


class ActiveExternalStakingQuery(Message):
    type_name = "vault.query.active_external_staking"


class ActiveExternalStakingResponse(Message):
    type_name = "vault.active_external_staking"
    contracts: tuple[str, ...]


class VaultPendingTxQuery(Message):
    """``pending_tx(id)`` (P-11): answers the tx record, or ``NotFound``."""

    type_name = "vault.query.pending_tx"
    tx_id: int


class VaultAllPendingTxsDescQuery(Message):
    """``all_pending_txs_desc`` (P-11, P-35): a tuple of tx records, newest first."""

    type_name = "vault.query.all_pending_txs_desc"
    start_after: int | None = None
    limit: int | None = None
