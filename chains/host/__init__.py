"""The chain host: one chain's serial executor, its actor and the embedder's handle.

`TxExecutor` runs one unit at a time: a depth-first cascade of messages with sub-message
savepoints and replies, rolled back as a whole on failure (P-2, P-3). `ChainHost` is the
actor that sequences transactions and blocks on the clock; `Chain` is the handle an
embedder starts, transacts through and queries."""

from __future__ import annotations

from chains.host._auth import (
    AccountSequences,
    authenticate_tx,
)
from chains.host._blocks import (
    SudoResultObserver,
)
from chains.host._chain import (
    Chain,
)
from chains.host._chain_state import (
    ContractInfo,
    MessageFilter,
)
from chains.host._config import (
    ChainConfig,
    GenesisAccount,
    GenesisValidator,
    account_key,
    seeded_secret,
)
from chains.host._contract_actor import (
    ContractActor,
    ContractMsg,
    ExecuteContract,
    QueryContract,
)
from chains.host._durable import (
    DEFAULT_SYNCHRONOUS,
    SCHEMA_VERSION,
    SYNCHRONOUS_MODES,
    DurableStore,
    StateLoadedObserver,
    attach_store,
    canonical_bytes,
    state_app_hash,
)
from chains.host._errors import (
    ChainHalted,
    ChainNotRunning,
    CodeExists,
    CodeNotFound,
    ContractNotFound,
    ContractPanic,
    ForeignStore,
    InternalError,
    InvalidComponent,
    ModuleExists,
    ModulePanic,
    NestedUnit,
    NoIbcModule,
    QueryWrite,
    StoreAttached,
    StoreCorrupt,
    StoreError,
    StoreVersionMismatch,
    UndecodableMessage,
    UnknownModule,
    UnknownSynchronousMode,
)
from chains.host._events import (
    BlockPhase,
    ChainEvent,
)
from chains.host._executor import (
    TxExecutor,
)
from chains.host._governance import (
    governance_module,
)
from chains.host._host import (
    BlockClock,
    ChainHost,
)
from chains.host._msgs import (
    AddModule,
    AttachStore,
    BlockTick,
    ExecuteTx,
    GovExecuteTx,
    GovSudoTx,
    HostMsg,
    HostTx,
    InstantiateTx,
    ProduceBlocks,
    ReadState,
    RegisterCode,
    RunUnit,
    SpawnComponent,
    SubmitTx,
    SudoTx,
    TxBatch,
)
from chains.host._querier import (
    ChainQuerier,
    QueryBackend,
    ReadOnlyHandle,
    run_read_only,
)
from chains.host._signed import (
    LOCAL_ONLY_MESSAGES,
    SignedBody,
    decode_proposal_message,
    decode_signed_body,
    signed_host_tx,
)
from chains.host._tx_result import (
    BlockResult,
    QueryResult,
    RemoteTxResult,
    TxResult,
)

__all__ = [
    "AccountSequences",
    "AddModule",
    "AttachStore",
    "BlockClock",
    "BlockPhase",
    "BlockResult",
    "BlockTick",
    "Chain",
    "ChainConfig",
    "ChainEvent",
    "ChainHalted",
    "ChainHost",
    "ChainNotRunning",
    "ChainQuerier",
    "CodeExists",
    "CodeNotFound",
    "ContractActor",
    "ContractInfo",
    "ContractMsg",
    "ContractNotFound",
    "ContractPanic",
    "DEFAULT_SYNCHRONOUS",
    "DurableStore",
    "ExecuteContract",
    "ExecuteTx",
    "ForeignStore",
    "GenesisAccount",
    "GenesisValidator",
    "GovExecuteTx",
    "GovSudoTx",
    "HostMsg",
    "HostTx",
    "InstantiateTx",
    "InternalError",
    "InvalidComponent",
    "LOCAL_ONLY_MESSAGES",
    "MessageFilter",
    "ModuleExists",
    "ModulePanic",
    "NestedUnit",
    "NoIbcModule",
    "ProduceBlocks",
    "QueryBackend",
    "QueryContract",
    "QueryResult",
    "QueryWrite",
    "ReadOnlyHandle",
    "ReadState",
    "RegisterCode",
    "RemoteTxResult",
    "RunUnit",
    "SCHEMA_VERSION",
    "SYNCHRONOUS_MODES",
    "SignedBody",
    "SpawnComponent",
    "StateLoadedObserver",
    "StoreAttached",
    "StoreCorrupt",
    "StoreError",
    "StoreVersionMismatch",
    "SubmitTx",
    "SudoResultObserver",
    "SudoTx",
    "TxBatch",
    "TxExecutor",
    "TxResult",
    "UndecodableMessage",
    "UnknownModule",
    "UnknownSynchronousMode",
    "account_key",
    "attach_store",
    "authenticate_tx",
    "canonical_bytes",
    "decode_proposal_message",
    "decode_signed_body",
    "governance_module",
    "run_read_only",
    "seeded_secret",
    "signed_host_tx",
    "state_app_hash",
]
