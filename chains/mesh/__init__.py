"""A whole Mesh Security topology: the `Mesh` API, its files, reports and CLI.

`Mesh` deploys chains, contracts, IBC connections and relayers from a `Topology` and drives
users' actions across them; topology and scenario files load with located errors; snapshots
render as tables; invariants check the mesh as a whole; ``mesh`` is the command line."""

from __future__ import annotations

from chains.mesh._cli import (
    main,
)
from chains.mesh._cross_chain import (
    CrossChainTx,
    Settlement,
)
from chains.mesh._deploy import (
    MeshChain,
    MeshPairing,
)
from chains.mesh._errors import (
    InvalidArgument,
    MeshError,
    MeshNotRunning,
    MeshSetupFailed,
    UnknownChain,
    UnknownPairing,
    UnknownValidator,
)
from chains.mesh._invariants import (
    packet_origin_violations,
)
from chains.mesh._mesh import (
    Mesh,
)
from chains.mesh._relaying import (
    MeshLink,
)
from chains.mesh._report import (
    render_snapshot,
)
from chains.mesh._scenario import (
    BondStep,
    ClaimRewardsStep,
    CloseChannelStep,
    CrossStakeStep,
    MisbehaveStep,
    MovePriceStep,
    Scenario,
    ScenarioStep,
    SetMaxCapStep,
    StakeLocallyStep,
    UnbondStep,
    UnjailStep,
    UnstakeStep,
    WithdrawUnbondedStep,
    check_scenario,
    load_scenario,
    parse_scenario,
)
from chains.mesh._scenario_run import (
    StepOutcome,
    run_scenario,
)
from chains.mesh._state import (
    ChainView,
    ChannelStats,
    MeshSnapshot,
    PairingView,
    RelayerView,
    UserStake,
    ValidatorView,
    VaultView,
)
from chains.mesh._toml_locate import (
    TomlLocator,
)
from chains.mesh._topology import (
    AccountSpec,
    ChainSpec,
    DelaySpec,
    FaultPlan,
    PairingSpec,
    PriceFeedSpec,
    RelayerSpec,
    RemotePriceFeedSpec,
    SimplePriceFeedSpec,
    Topology,
    ValidatorSpec,
    load_topology,
    parse_topology,
)
from chains.mesh._topology_errors import (
    ConfigIssue,
    MeshConfigError,
    ScenarioError,
    TopologyError,
)

__all__ = [
    "AccountSpec",
    "BondStep",
    "ChainSpec",
    "ChainView",
    "ChannelStats",
    "ClaimRewardsStep",
    "CloseChannelStep",
    "ConfigIssue",
    "CrossChainTx",
    "CrossStakeStep",
    "DelaySpec",
    "FaultPlan",
    "InvalidArgument",
    "Mesh",
    "MeshChain",
    "MeshConfigError",
    "MeshError",
    "MeshLink",
    "MeshNotRunning",
    "MeshPairing",
    "MeshSetupFailed",
    "MeshSnapshot",
    "MisbehaveStep",
    "MovePriceStep",
    "PairingSpec",
    "PairingView",
    "PriceFeedSpec",
    "RelayerSpec",
    "RelayerView",
    "RemotePriceFeedSpec",
    "Scenario",
    "ScenarioError",
    "ScenarioStep",
    "SetMaxCapStep",
    "Settlement",
    "SimplePriceFeedSpec",
    "StakeLocallyStep",
    "StepOutcome",
    "TomlLocator",
    "Topology",
    "TopologyError",
    "UnbondStep",
    "UnjailStep",
    "UnknownChain",
    "UnknownPairing",
    "UnknownValidator",
    "UnstakeStep",
    "UserStake",
    "ValidatorSpec",
    "ValidatorView",
    "VaultView",
    "WithdrawUnbondedStep",
    "check_scenario",
    "load_scenario",
    "load_topology",
    "main",
    "packet_origin_violations",
    "parse_scenario",
    "parse_topology",
    "render_snapshot",
    "run_scenario",
]
