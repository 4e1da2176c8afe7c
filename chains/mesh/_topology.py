"""Mesh topologies: which chains run, who provides security to whom, who relays.

A topology is a frozen pydantic model, usually loaded from a TOML file (`load_topology`)::

    name = "one provider, one consumer"

    [[chains]]
    id = "osmosis"
    prefix = "osmo"
    denom = "uosmo"
    block_time = 5
    validators = [{ name = "val1", tokens = 10_000_000, commission = "0.05" }]
    accounts = [{ name = "alice", balance = 1_000_000_000 }]

    [[chains]]
    id = "juno"
    ...

    [[pairings]]                  # osmosis provides security to juno
    provider = "osmosis"
    consumer = "juno"
    discount = "0.1"
    max_cap = 10_000_000_000      # consumer tokens (C-43)
    unbonding_period = 1_814_400  # seconds, external staking (I-49 step 3)
    price_feed = { kind = "simple", price = "0.5" }   # juno per osmo

    [[relayers]]
    chains = ["osmosis", "juno"]
    count = 1
    faults = { drop = 0.05, delay = { uniform = [0.1, 2.0] } }

Decimals (discount, price, commission, slash ratios) are strings, amounts whole numbers of
base units, times seconds. Every chain pair that has a pairing (or a remote price feed) gets
one IBC connection; its relayers come from the ``[[relayers]]`` entry naming the pair, or
one relayer with default settings if none does (``count = 0`` means nobody relays).

Validation errors are `TopologyError`\\ s listing every problem with its key path and, when
loaded from a file, its line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from chains.contract._decimal import Decimal18, SdkDec
from chains.contract._errors import ChainError
from chains.mesh._config_file import MAX_AMOUNT, load_toml_model
from chains.mesh._errors import UnknownChain, UnknownPairing
from chains.mesh._topology_errors import ConfigIssue, TopologyError
from chains.modules._bank import check_denom
from transport import Exponential, Fixed, LinkFaults, Uniform

__all__ = [
    "AccountSpec",
    "ChainSpec",
    "DelaySpec",
    "FaultPlan",
    "NetworkSpec",
    "PairingSpec",
    "PriceFeedSpec",
    "RelayerSpec",
    "RemotePriceFeedSpec",
    "SimplePriceFeedSpec",
    "Topology",
    "ValidatorSpec",
    "load_topology",
    "parse_topology",
]

Amount = Annotated[int, Field(strict=True, ge=0, le=MAX_AMOUNT)]
PositiveAmount = Annotated[int, Field(strict=True, gt=0, le=MAX_AMOUNT)]
Seconds = Annotated[int, Field(strict=True, gt=0)]
Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]+$", min_length=1, max_length=64)]
Rate = Annotated[float, Field(ge=0.0, le=1.0)]
# "host:port" where a chain's process listens (TCP); port 1-65535
HostPort = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.\-]+:[0-9]{1,5}$")]

_ONE = Decimal18.one()


def _plain(value: Decimal18 | SdkDec) -> str:
    # a decimal as a file writes it: "-1", "1.5", not "-1.000000000000000000"
    text = str(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


class _Spec(BaseModel):
    # inf and nan are valid TOML floats, and no time or rate of a topology means either
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class ValidatorSpec(_Spec):
    """A genesis validator: its operator account is derived from ``name`` (C-13, C-34)."""

    name: Name
    tokens: PositiveAmount
    commission: SdkDec = SdkDec.zero()

    @field_validator("commission")
    @classmethod
    def _commission_at_most_one(cls, value: SdkDec) -> SdkDec:
        if value < SdkDec.zero() or value > SdkDec.one():
            raise ValueError(f"commission must be between 0 and 1, got {_plain(value)}")
        return value


class AccountSpec(_Spec):
    """A user account funded at genesis with ``balance`` of the chain's denom."""

    name: Name
    balance: Amount


class ChainSpec(_Spec):
    """One chain.

    ``block_provision`` tokens are minted as block rewards every block (0: no rewards);
    ``epoch_blocks`` is the virtual-staking epoch of a consumer chain (the mesh-security
    module's ``epoch_length``, C-40); its default, 1,000 blocks, is the reference
    deployment's (mesh-security-sdk's default ``EpochLength``): frequent epochs are a stress
    profile, set explicitly (``examples/topologies/stress.toml``). ``unbonding_time`` and the
    slash fractions are the native staking parameters (C-13).
    """

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:\-]+$", min_length=1)]
    prefix: Annotated[str, Field(pattern=r"^[a-z][a-z0-9]*$", max_length=16)]
    denom: str
    block_time: Annotated[float, Field(gt=0)] = 5.0
    validators: Annotated[tuple[ValidatorSpec, ...], Field(min_length=1)]
    accounts: tuple[AccountSpec, ...] = ()
    block_provision: Amount = 0
    community_tax: SdkDec = SdkDec.parse("0.02")
    unbonding_time: Annotated[int, Field(strict=True, ge=0)] = 1_814_400
    max_validators: PositiveAmount = 100
    slash_fraction_double_sign: SdkDec = SdkDec.parse("0.05")
    slash_fraction_downtime: SdkDec = SdkDec.parse("0.01")
    epoch_blocks: PositiveAmount = 1_000
    address: HostPort | None = None

    @field_validator("denom")
    @classmethod
    def _valid_denom(cls, value: str) -> str:
        try:
            check_denom(value)
        except ChainError as exc:
            raise ValueError(f"invalid denom {value!r}: {exc}") from None
        return value

    @field_validator("community_tax", "slash_fraction_double_sign", "slash_fraction_downtime")
    @classmethod
    def _fraction(cls, value: SdkDec) -> SdkDec:
        if value < SdkDec.zero() or value > SdkDec.one():
            raise ValueError(f"must be between 0 and 1, got {_plain(value)}")
        return value


class SimplePriceFeedSpec(_Spec):
    """An admin-set price on the consumer (C-60): ``price`` consumer tokens per provider
    token; `Mesh.move_price` updates it."""

    kind: Literal["simple"]
    price: Decimal18

    @field_validator("price")
    @classmethod
    def _positive(cls, value: Decimal18) -> Decimal18:
        if value.is_zero():
            raise ValueError("price must be above 0")
        return value


class RemotePriceFeedSpec(_Spec):
    """A remote TWAP feed (C-62, C-63, I-96): the consumer's feed queries the price host
    contract on chain ``host`` over an ``icq-1`` channel every ``epoch_secs``; prices expire
    after ``ttl_secs``. ``price`` is the host's initial TWAP for ``pool_id``."""

    kind: Literal["remote"]
    host: str
    price: Decimal18
    pool_id: Amount = 1
    epoch_secs: Seconds = 600
    ttl_secs: Seconds = 86_400

    @field_validator("price")
    @classmethod
    def _positive(cls, value: Decimal18) -> Decimal18:
        if value.is_zero():
            raise ValueError("price must be above 0")
        return value


PriceFeedSpec = Annotated[SimplePriceFeedSpec | RemotePriceFeedSpec, Field(discriminator="kind")]


class PairingSpec(_Spec):
    """``provider`` secures ``consumer`` (one control channel, I-30).

    ``discount`` and the feed's price set the conversion (C-69); ``max_cap`` (consumer
    tokens) is authorized by the consumer's governance at start (C-43, I-49 step 5);
    ``unbonding_period`` (seconds) and the slash ratios configure external staking (I-49
    step 3).
    """

    provider: str
    consumer: str
    discount: Decimal18
    max_cap: Amount
    unbonding_period: Annotated[int, Field(strict=True, ge=0)] = 1_814_400
    price_feed: PriceFeedSpec
    slash_ratio_double_sign: Decimal18 = Decimal18.parse("0.05")
    slash_ratio_offline: Decimal18 = Decimal18.parse("0.01")
    tombstoned_unbond_enable: bool = False
    max_retrieve: PositiveAmount = 100

    @field_validator("discount")
    @classmethod
    def _discount_below_one(cls, value: Decimal18) -> Decimal18:
        if value >= _ONE:
            raise ValueError(f"discount must be below 1, got {_plain(value)} (C-67)")
        return value

    @field_validator("slash_ratio_double_sign", "slash_ratio_offline")
    @classmethod
    def _ratio_at_most_one(cls, value: Decimal18) -> Decimal18:
        if value > _ONE:
            raise ValueError(
                f"slash ratio must be at most 1, got {_plain(value)} (InvalidSlashRatio)"
            )
        return value

    @property
    def key(self) -> tuple[str, str]:
        """``(provider, consumer)``: a pairing's identity."""
        return (self.provider, self.consumer)


class DelaySpec(_Spec):
    """Transit time of an envelope: exactly one of ``fixed`` (seconds), ``uniform``
    (``[low, high]``) or ``exponential`` (mean)."""

    fixed: Annotated[float, Field(ge=0)] | None = None
    uniform: tuple[Annotated[float, Field(ge=0)], Annotated[float, Field(ge=0)]] | None = None
    exponential: Annotated[float, Field(ge=0)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> DelaySpec:
        given = [n for n in ("fixed", "uniform", "exponential") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of fixed, uniform or exponential")
        if self.uniform is not None and self.uniform[0] > self.uniform[1]:
            raise ValueError(f"uniform needs low <= high, got {list(self.uniform)}")
        return self

    def to_delay(self) -> Fixed | Uniform | Exponential:
        """The transport's delay distribution."""
        if self.fixed is not None:
            return Fixed(self.fixed)
        if self.uniform is not None:
            return Uniform(*self.uniform)
        assert self.exponential is not None
        return Exponential(self.exponential)


class FaultPlan(_Spec):
    """What goes wrong between a relayer and the chains it relays (I-22).

    Transport faults (the transport's `LinkFaults`, applied to every message between the
    relayer and either chain, both ways): ``drop``, ``duplicate``, ``reorder`` rates,
    ``reorder_delay`` and ``delay`` (a number means fixed seconds). Relayer faults:
    ``drop_packets`` (probability that the relayer never delivers a given packet, which then
    times out) and ``duplicate_batches`` (probability of submitting a batch twice).
    """

    drop: Rate = 0.0
    duplicate: Rate = 0.0
    reorder: Rate = 0.0
    reorder_delay: Annotated[float, Field(gt=0)] = 0.1
    delay: DelaySpec | None = None
    drop_packets: Rate = 0.0
    duplicate_batches: Rate = 0.0

    @field_validator("delay", mode="before")
    @classmethod
    def _number_is_fixed(cls, value: object) -> object:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"fixed": value}
        return value

    @property
    def link_faults(self) -> LinkFaults:
        """The transport-level part."""
        return LinkFaults(
            drop=self.drop,
            duplicate=self.duplicate,
            delay=None if self.delay is None else self.delay.to_delay(),
            reorder=self.reorder,
            reorder_delay=self.reorder_delay,
        )


class RelayerSpec(_Spec):
    """The relayers of one chain pair: ``count`` identical relayers (0: nobody relays),
    batching (``max_batch`` operations per batch, ``batch_delay`` seconds to collect), the
    clearing period, and the fault plan.

    The clearing period (how often pending packets are looked for, beside the event
    subscription) is ``clear_interval`` seconds if given, else ``clear_blocks`` blocks of the
    pair's faster chain: Hermes' default is 100 blocks (its ``clear_interval``), and clears
    every few seconds are a stress profile, set explicitly. Hermes clears each direction
    every ``clear_blocks`` blocks of its source chain; one relayer tick serves both
    directions here, so it follows the faster chain and no direction is cleared later than
    Hermes would. `Topology.relayers_of` gives the spec with ``clear_interval`` resolved.
    """

    chains: tuple[str, str]
    count: Annotated[int, Field(strict=True, ge=0, le=16)] = 1
    max_batch: PositiveAmount = 100
    batch_delay: Annotated[float, Field(ge=0)] = 0.0
    clear_interval: Annotated[float, Field(gt=0)] | None = None
    clear_blocks: PositiveAmount = 100
    faults: FaultPlan = FaultPlan()

    def clear_seconds(self, block_time: float) -> float:
        """The clearing period in seconds, for chains whose faster one makes a block every
        ``block_time`` seconds: ``clear_interval`` if given, else ``clear_blocks`` blocks."""
        if self.clear_interval is not None:
            return self.clear_interval
        return self.clear_blocks * block_time

    @property
    def clear_period(self) -> float:
        """The resolved clearing period in seconds (a spec from `Topology.relayers_of`).
        Raises ``ValueError`` for a spec whose ``clear_interval`` was not resolved."""
        if self.clear_interval is None:
            raise ValueError("clear period unresolved: take the spec from Topology.relayers_of")
        return self.clear_interval


class NetworkSpec(_Spec):
    """How the mesh's actor systems reach each other (the ``[network]`` section)::

        [network]
        transport = "tcp"                 # "memory" (default), "tcp" or "nats"
        secret_env = "MESH_SECRET"        # the shared secret (TCP) from this variable ...
        secret_file = "secret.key"        # ... or this file (relative to the topology file)
        host = "127.0.0.1"                # interface relayers and clients listen on (TCP)
        nats_url = "nats://127.0.0.1:4222"
        subject_prefix = "mesh"
        tls_cert = "node.pem"             # TLS (TCP: both sides; NATS: client certificate)
        tls_key = "node.key"
        tls_ca = "ca.pem"

    Each chain's TCP listening address is its ``address`` (``"127.0.0.1:7101"``). The secret
    itself is never in the file: a file that carries one is refused. Socket transports run
    on a real clock only.
    """

    transport: Literal["memory", "tcp", "nats"] = "memory"
    secret_env: str | None = None
    secret_file: str | None = None
    host: str = "127.0.0.1"
    nats_url: str = "nats://127.0.0.1:4222"
    subject_prefix: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]+$")] = "mesh"
    tls_cert: str | None = None
    tls_key: str | None = None
    tls_ca: str | None = None

    @property
    def sockets(self) -> bool:
        """Whether envelopes cross real sockets (TCP or NATS)."""
        return self.transport != "memory"


class Topology(_Spec):
    """A whole mesh (see the module docstring). Raises `TopologyError` when invalid."""

    name: str = ""
    genesis_time: Annotated[int, Field(strict=True, ge=0)] = 1_700_000_000
    chains: Annotated[tuple[ChainSpec, ...], Field(min_length=1)]
    pairings: tuple[PairingSpec, ...] = ()
    relayers: tuple[RelayerSpec, ...] = ()
    verify_proofs: bool = True
    """Issue 13: every chain signs its headers and proves its IBC facts, and every light
    client verifies them (`IbcConfig.verify_proofs`). Off: headers are trusted as given and
    no proof is built or checked (the unverified baseline, for benchmarks)."""
    notice_page: Annotated[int | None, Field(strict=True, ge=1)] = 100
    """Issue 16: at most this many sent packets and written acks in one IBC block notice
    (`IbcConfig.notice_page`; ``None``: a block's whole activity in one notice). What the
    relaying of a busy block holds at once is bounded by a page; the rest goes out in the
    next blocks' notices."""
    network: NetworkSpec = NetworkSpec()

    @model_validator(mode="after")
    def _consistent(self) -> Topology:
        issues = _semantic_issues(self)
        if issues:
            raise TopologyError("", tuple(issues))
        return self

    # -- lookups --

    def chain(self, chain_id: str) -> ChainSpec:
        """The chain ``chain_id``; raises `UnknownChain` for an id the topology lacks."""
        for chain in self.chains:
            if chain.id == chain_id:
                return chain
        raise UnknownChain(chain_id)

    def pairing(self, provider: str, consumer: str) -> PairingSpec:
        """The pairing ``provider → consumer``; raises `UnknownPairing` if there is none."""
        for pairing in self.pairings:
            if pairing.key == (provider, consumer):
                return pairing
        raise UnknownPairing(provider, consumer)

    def providers(self) -> tuple[str, ...]:
        """Chains that provide security to at least one other, in chain order."""
        used = {p.provider for p in self.pairings}
        return tuple(c.id for c in self.chains if c.id in used)

    def consumers(self) -> tuple[str, ...]:
        """Chains that receive security, in chain order."""
        used = {p.consumer for p in self.pairings}
        return tuple(c.id for c in self.chains if c.id in used)

    def links(self) -> tuple[tuple[str, str], ...]:
        """Every chain pair that needs an IBC connection, in first-use order (each pair
        once, in the order its first pairing names it: consumer first)."""
        out: list[tuple[str, str]] = []
        seen: set[frozenset[str]] = set()
        pairs: list[tuple[str, str]] = []
        for p in self.pairings:
            pairs.append((p.consumer, p.provider))
            if isinstance(p.price_feed, RemotePriceFeedSpec):
                pairs.append((p.consumer, p.price_feed.host))
        for a, b in pairs:
            key = frozenset((a, b))
            if key not in seen:
                seen.add(key)
                out.append((a, b))
        return tuple(out)

    def relayers_of(self, a: str, b: str) -> RelayerSpec:
        """The relayer entry of the pair (either order), or the default one relayer, with
        its ``clear_interval`` resolved to seconds (see `RelayerSpec`); raises `UnknownChain`
        for an unknown chain."""
        found = RelayerSpec(chains=(a, b))
        for spec in self.relayers:
            if set(spec.chains) == {a, b}:
                found = spec
                break
        block_time = min(self.chain(a).block_time, self.chain(b).block_time)
        return found.model_copy(update={"clear_interval": found.clear_seconds(block_time)})


def _semantic_issues(t: Topology) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    ids: dict[str, int] = {}
    prefixes: dict[str, int] = {}
    for i, chain in enumerate(t.chains):
        if chain.id in ids:
            issues.append(
                ConfigIssue(
                    ("chains", i, "id"), f"chain id {chain.id!r} repeats chains[{ids[chain.id]}]"
                )
            )
        ids.setdefault(chain.id, i)
        if chain.prefix in prefixes:
            issues.append(
                ConfigIssue(
                    ("chains", i, "prefix"),
                    f"prefix {chain.prefix!r} is already chains[{prefixes[chain.prefix]}]'s",
                )
            )
        prefixes.setdefault(chain.prefix, i)
        names: dict[str, str] = {}
        for j, v in enumerate(chain.validators):
            if v.name in names:
                issues.append(
                    ConfigIssue(
                        ("chains", i, "validators", j, "name"), f"validator {v.name!r} repeats"
                    )
                )
            names[v.name] = "validator"
        for j, account in enumerate(chain.accounts):
            if account.name in names:
                issues.append(
                    ConfigIssue(
                        ("chains", i, "accounts", j, "name"),
                        f"{account.name!r} is already a {names[account.name]} of this chain",
                    )
                )
            names[account.name] = "account"
        supply = sum(a.balance for a in chain.accounts) + sum(v.tokens for v in chain.validators)
        if supply > MAX_AMOUNT:
            issues.append(
                ConfigIssue(
                    ("chains", i, "accounts"),
                    f"the genesis supply of {chain.id} (balances and validator tokens,"
                    f" {supply}) must be below 2**128",
                )
            )
    known = ", ".join(sorted(ids)) or "none"
    pairs: dict[tuple[str, str], int] = {}
    for i, p in enumerate(t.pairings):
        for side in ("provider", "consumer"):
            name = getattr(p, side)
            if name not in ids:
                issues.append(
                    ConfigIssue(("pairings", i, side), f"unknown chain {name!r} (chains: {known})")
                )
        if p.provider == p.consumer:
            issues.append(
                ConfigIssue(
                    ("pairings", i, "consumer"), "a chain cannot provide security to itself"
                )
            )
        if p.key in pairs:
            issues.append(
                ConfigIssue(
                    ("pairings", i),
                    f"{p.provider} → {p.consumer} is already pairings[{pairs[p.key]}]"
                    " (one control channel per pair, I-30)",
                )
            )
        pairs.setdefault(p.key, i)
        feed = p.price_feed
        if isinstance(feed, RemotePriceFeedSpec):
            if feed.host not in ids:
                issues.append(
                    ConfigIssue(
                        ("pairings", i, "price_feed", "host"),
                        f"unknown chain {feed.host!r} (chains: {known})",
                    )
                )
            elif feed.host == p.consumer:
                issues.append(
                    ConfigIssue(
                        ("pairings", i, "price_feed", "host"),
                        "the price host must be another chain than the consumer",
                    )
                )
    linked = {frozenset(pair) for pair in t.links()}
    relayed: dict[frozenset[str], int] = {}
    for i, r in enumerate(t.relayers):
        a, b = r.chains
        for k, name in enumerate(r.chains):
            if name not in ids:
                issues.append(
                    ConfigIssue(
                        ("relayers", i, "chains", k), f"unknown chain {name!r} (chains: {known})"
                    )
                )
        key = frozenset(r.chains)
        if a == b:
            issues.append(
                ConfigIssue(("relayers", i, "chains"), "a relayer joins two different chains")
            )
        elif a in ids and b in ids and key not in linked:
            issues.append(
                ConfigIssue(
                    ("relayers", i, "chains"),
                    f"no pairing or price feed joins {a} and {b}: nothing to relay",
                )
            )
        if key in relayed:
            issues.append(
                ConfigIssue(
                    ("relayers", i, "chains"),
                    f"{a} and {b} already have relayers[{relayed[key]}] (use count)",
                )
            )
        relayed.setdefault(key, i)
    return issues


def parse_topology(text: str, source: str = "") -> Topology:
    """Validate TOML ``text`` as a topology; raises `TopologyError` naming ``source``."""
    return load_toml_model(Topology, text, source, TopologyError)


def load_topology(path: str | Path) -> Topology:
    """Read and validate a topology file; raises `TopologyError` (also for a file that
    cannot be read)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TopologyError(str(path), (ConfigIssue((), f"cannot read: {exc}"),)) from None
    return parse_topology(text, str(path))
