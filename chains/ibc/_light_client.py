"""A verifying light client (ICS-2 with ICS-7's verification rules, simplified).

What this protects against (issue 13): a relayer (or anyone who can reach a chain) that
submits a made-up header and then "proves" a packet never committed, an ack never written or
the absence of a receipt that exists; and a header far in the future that would make every
later packet look expired. Here a header is accepted only if:

- it is for the tracked chain, at a height above the trusted one and with a later time;
- its time is at most ``max_clock_drift_ns`` past the verifier's clock (`HeaderFromFuture`:
  a header 10^15 ns ahead is refused) and the trusted state it builds on is still within the
  trusting period (`HeaderExpired`);
- its validator sets match the hashes it carries, and, for the next height, its signers are
  the set the trusted header announced;
- its commit is well formed (every signer a member of the header's set, none twice:
  `InvalidHeader`), and its signatures are checked as CometBFT's light client checks them
  (`VerifyAdjacent` / `VerifyNonAdjacent`): for the next height, valid signatures of more
  than 2/3 of the set's power (``VerifyCommitLight``); for a header that skips heights,
  valid signatures of more than the trust level, 1/3, of the trusted set's power
  (``VerifyCommitLightTrusting``) and of more than 2/3 of the header's own set's. Each check
  verifies votes in order of power and stops once the threshold is passed: the light-client
  specification says a verifier "may not check all signatures" (a vote beyond the threshold
  is not looked at, so a commit with enough good signatures and a bad one past them is
  accepted, as CometBFT accepts it), while a bad signature met before the threshold is
  refused (`InvalidSignature`) and too little valid power is `InsufficientVotingPower`. A
  signature is verified at most once per update, and a memo of verified
  ``(key, message, signature)`` triples (a pure function) spares a header relayed to several
  clients a second check. A commit a chain of this process made for exactly the header
  verified (`deferred_commit`, signed only when read: issue 16) counts by construction:
  its votes are its own keys' signatures of that header's bytes; any other commit, that
  one moved onto another header included, is verified vote by vote.

Two valid headers for one height with different contents are misbehaviour (ICS-2): the client
freezes, every later update or proof raises `ClientFrozen`, and `status` says ``FROZEN``. A
conflicting header submitted as an update freezes the client and the update returns
`UpdateOutcome.MISBEHAVIOUR` rather than raising, so that the freeze is not rolled back with
the transaction that carried it; `submit_misbehaviour` does the same for a pair of headers.

Proofs (`verify_membership`, `verify_non_membership`) are checked against the app hash of
the header at the proof's height (the root of the counterparty's IBC store, see
`chains.ibc.MerkleTree`): `IbcConsensusNotFound` if the client has no header there (I-2),
`InvalidProof` if the proof fails.

Wiring (for the lead): each chain signs its block headers (`Header.sign_bytes` signed by each
validator's `KeyPair` into a `Commit`), with the app hash set to the Merkle root of its IBC
store at the end of the block. The IBC module keeps one `LightClient` per client id: created
from a trusted header at connection setup (`LightClient.create`), it replaces today's
unverified ``UpdateClient`` by `update(ClientUpdate, now_ns)`, and each ``MsgRecvPacket``,
``MsgAcknowledgement``, ``MsgTimeout`` and handshake step carries a proof and its height,
checked with `verify_membership` / `verify_non_membership` before any state changes. Keep the
client's state and consensus states in the module's journaled store (pass `JournaledMap`s
as ``states`` and ``consensus_states``) so a rolled-back update leaves nothing behind; but
process a ``MsgUpdateClient`` in its own savepoint, so that a freeze is kept even when later
messages of the same batch fail.
"""

from __future__ import annotations

import enum
import hashlib
import itertools
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Annotated, Any, Final, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from chains.contract._errors import ChainError
from chains.contract._keys import KeyPair, PublicKey
from chains.ibc._errors import IbcBadHeader, IbcConsensusNotFound, IbcUnknownClient
from chains.ibc._merkle import (
    MembershipProof,
    NonMembershipProof,
    WireBytes,
    as_tuple,
    verify_membership,
    verify_non_membership,
)
from mesh_actors import construct_trusted

__all__ = [
    "ClientExpired",
    "ClientFrozen",
    "ClientStatus",
    "ClientUpdate",
    "Commit",
    "CommitSignature",
    "ConsensusState",
    "ConsensusValidator",
    "ConsensusValidatorSet",
    "HEADER_SIGN_DOMAIN",
    "Header",
    "HeaderExpired",
    "HeaderFromFuture",
    "InsufficientVotingPower",
    "InvalidHeader",
    "InvalidMisbehaviour",
    "LightClient",
    "LightClientState",
    "Misbehaviour",
    "UpdateOutcome",
]

HEADER_SIGN_DOMAIN = b"mesh-actors/header/v1\x00"
_VALSET_DOMAIN = b"mesh-actors/valset/v1\x00"
_HEADER_HASH_DOMAIN = b"mesh-actors/header-hash/v2\x00"


# -- errors -----------------------------------------------------------------------------------


class InvalidHeader(IbcBadHeader):
    """A client update the client cannot accept (``reason`` says why). A kind of
    `IbcBadHeader`; its subclasses name the specific refusals."""


class HeaderFromFuture(InvalidHeader):
    """The header's time is beyond the verifier's clock plus the allowed drift."""

    fields = ("client_id", "header_time_ns", "now_ns", "max_clock_drift_ns")  # type: ignore[assignment]
    header_time_ns: int
    now_ns: int
    max_clock_drift_ns: int

    def __init__(
        self, client_id: str, header_time_ns: int, now_ns: int, max_clock_drift_ns: int
    ) -> None:
        ChainError.__init__(self, client_id, header_time_ns, now_ns, max_clock_drift_ns)


class HeaderExpired(InvalidHeader):
    """The trusted header an update builds on (``height``, ``time_ns``) is older than the
    trusting period at ``now_ns``: its validators may since have unbonded, so their
    signatures no longer bind them (a long-range attack)."""

    fields = ("client_id", "height", "time_ns", "now_ns")  # type: ignore[assignment]
    height: int
    time_ns: int
    now_ns: int

    def __init__(self, client_id: str, height: int, time_ns: int, now_ns: int) -> None:
        ChainError.__init__(self, client_id, height, time_ns, now_ns)


class InsufficientVotingPower(InvalidHeader):
    """The commit's valid signatures hold no more than 2/3 of ``validator_set``'s power
    (``"trusted"``: the set the client trusts; ``"header"``: the header's own set)."""

    fields = ("client_id", "validator_set", "signed", "total")  # type: ignore[assignment]
    validator_set: str
    signed: int
    total: int

    def __init__(self, client_id: str, validator_set: str, signed: int, total: int) -> None:
        ChainError.__init__(self, client_id, validator_set, signed, total)


class ClientFrozen(ChainError):
    """The client saw misbehaviour at ``frozen_height`` (two valid, different headers for
    one height) and refuses every update and proof from now on (ICS-2)."""

    fields = ("client_id", "frozen_height")
    client_id: str
    frozen_height: int

    def __init__(self, client_id: str, frozen_height: int) -> None:
        super().__init__(client_id, frozen_height)


class ClientExpired(ChainError):
    """The client's latest header is older than the trusting period: it can verify nothing
    until governance recovers it (ICS-2's ``Expired`` status)."""

    fields = ("client_id", "latest_height", "now_ns")
    client_id: str
    latest_height: int
    now_ns: int

    def __init__(self, client_id: str, latest_height: int, now_ns: int) -> None:
        super().__init__(client_id, latest_height, now_ns)


class InvalidMisbehaviour(ChainError):
    """Submitted evidence that is not misbehaviour (same header twice, different heights)."""

    fields = ("client_id", "reason")
    client_id: str
    reason: str

    def __init__(self, client_id: str, reason: str) -> None:
        super().__init__(client_id, reason)


# -- values -----------------------------------------------------------------------------------

_WIRE = ConfigDict(
    frozen=True, extra="forbid", strict=True, ser_json_bytes="base64", val_json_bytes="base64"
)
# PublicKey validates itself (from hex in JSON), so these models are not strict about it.
_WIRE_KEYS = ConfigDict(
    frozen=True, extra="forbid", ser_json_bytes="base64", val_json_bytes="base64"
)


class ConsensusValidator(BaseModel):
    """A validator as the light client sees it: its consensus key and voting power."""

    model_config = _WIRE_KEYS
    public_key: PublicKey
    power: int = Field(gt=0, strict=True)


class ConsensusValidatorSet(BaseModel):
    """A chain's validator set at a height: validators sorted by key, no key twice.

    Raises pydantic's ``ValidationError`` on construction if empty, unsorted or duplicated
    (one canonical form per set, so one hash).
    """

    model_config = _WIRE_KEYS
    validators: Annotated[tuple[ConsensusValidator, ...], BeforeValidator(as_tuple)]

    @model_validator(mode="after")
    def _canonical(self) -> Self:
        keys = [v.public_key.raw for v in self.validators]
        if not keys:
            raise ValueError("a validator set is not empty")
        if any(a >= b for a, b in itertools.pairwise(keys)):
            raise ValueError("validators are sorted by key, each key once")
        return self

    @classmethod
    def of(cls, members: dict[PublicKey, int]) -> ConsensusValidatorSet:
        """The set of ``{key: power}``, sorted as required."""
        return cls(
            validators=tuple(
                ConsensusValidator(public_key=key, power=power)
                for key, power in sorted(members.items(), key=lambda item: item[0].raw)
            )
        )

    def hash(self) -> bytes:
        """The set's hash, which headers carry (``validators_hash``)."""
        digest = hashlib.sha256(_VALSET_DOMAIN)
        for v in self.validators:
            digest.update(v.public_key.raw + v.power.to_bytes(16, "big"))
        return digest.digest()

    def total_power(self) -> int:
        """The sum of the validators' powers."""
        return sum(v.power for v in self.validators)

    def powers(self) -> dict[PublicKey, int]:
        """``{key: power}``."""
        return {v.public_key: v.power for v in self.validators}


class Header(BaseModel):
    """A block header: what the chain's validators sign (ICS-7's header, simplified).

    ``app_hash`` commits to the chain's state after the block (here: the Merkle root of its
    IBC store); ``validators_hash`` names the set that signs this header and
    ``next_validators_hash`` the set that signs the next one.
    """

    model_config = _WIRE
    chain_id: str
    height: int = Field(gt=0)
    time_ns: int = Field(ge=0)
    app_hash: WireBytes
    validators_hash: WireBytes
    next_validators_hash: WireBytes

    def hash(self) -> bytes:
        """The header's identity: two headers for one height conflict iff hashes differ.

        SHA-256 of the fields in a fixed binary layout (each field length-prefixed, the
        integers in as many bytes as they need): every header has one
        encoding and no two headers share it. Built by hand rather than through JSON: each
        block's header is hashed when it is signed and when it is verified."""
        chain_id = self.chain_id.encode()
        return hashlib.sha256(
            b"".join(
                (
                    _HEADER_HASH_DOMAIN,
                    len(chain_id).to_bytes(4, "big"),
                    chain_id,
                    _int_bytes(self.height),
                    _int_bytes(self.time_ns),
                    len(self.app_hash).to_bytes(4, "big"),
                    self.app_hash,
                    len(self.validators_hash).to_bytes(4, "big"),
                    self.validators_hash,
                    len(self.next_validators_hash).to_bytes(4, "big"),
                    self.next_validators_hash,
                )
            )
        ).digest()

    def sign_bytes(self) -> bytes:
        """What each validator signs (domain separated from transactions)."""
        return HEADER_SIGN_DOMAIN + self.hash()


def _int_bytes(value: int) -> bytes:
    # length-prefixed and sized to the value: a hostile header's huge integer still hashes
    raw = value.to_bytes((value.bit_length() + 8) // 8, "big", signed=True)
    return len(raw).to_bytes(4, "big") + raw


class CommitSignature(BaseModel):
    """One validator's signature of a header's `Header.sign_bytes`."""

    model_config = _WIRE_KEYS
    validator: PublicKey
    signature: WireBytes


class Commit(BaseModel):
    """The signatures that commit a header."""

    model_config = _WIRE_KEYS
    signatures: Annotated[tuple[CommitSignature, ...], BeforeValidator(as_tuple)]


# the descriptor of a model's real instance dictionary (`_DeferredCommit` shadows the name)
_MODEL_DICT: Final[Any] = BaseModel.__dict__["__dict__"]
_COMMIT_FIELDS: Final = frozenset({"signatures"})
_VOTE_FIELDS: Final = frozenset({"validator", "signature"})


class _DeferredCommit(Commit):
    """A commit this process makes for its own header, signed on first read (issue 16).

    It holds the signers' key pairs and the header's sign bytes instead of signatures, and
    computes its votes (each signer's ed25519 signature of the sign bytes, in the signers'
    order) the first time anything reads them: the field, equality, a copy, a pickle,
    ``model_dump`` / ``model_dump_json`` (the codec's path), a repr. ed25519 (RFC 8032) is
    deterministic, so they are byte-identical to signatures computed at once, and nothing
    outside this module tells the two apart but ``type()``.

    Why: a chain signs every header it hands out (a hundred signatures each), while in one
    process nobody reads them: this process's light clients count the votes of such a
    commit as valid by construction when it is bound to exactly the header they verify
    (see `LightClient.verify_update`), as the signature memo did before
    (`_VerifiedSignatures.remember_signed`). Any other commit, this one moved onto another
    header included, is verified signature by signature.

    How: pydantic (the serializer included) and Python's own protocols read a model's
    fields through its instance dictionary, so the class shadows ``__dict__`` with a
    property that fills the ``signatures`` entry before handing the dictionary out, and
    ``__getattr__`` answers the field before that. A copy or a pickle is a plain `Commit`
    with the same signatures: the private keys never leave the object.
    """

    __slots__ = ("_message", "_signers")
    _message: bytes
    _signers: HeaderSigners

    if not TYPE_CHECKING:
        # hidden from mypy: to it the class is a `Commit` with an ordinary field

        @property
        def __dict__(self) -> dict[str, Any]:
            fields: dict[str, Any] = _MODEL_DICT.__get__(self)
            if "signatures" not in fields:
                fields["signatures"] = self._sign()
            return fields

        def __getattr__(self, name: str) -> Any:
            if name == "signatures":
                return self.__dict__["signatures"]
            return super().__getattr__(name)

    def _sign(self) -> tuple[CommitSignature, ...]:
        """Every signer's vote (what an eager commit would have held)."""
        message = self._message
        votes = []
        for key in self._signers.keys:
            signature = key.sign(message)
            # a commit decoded from this one's JSON in this process (a codec round trip)
            # is verified against the memo instead of again (a memo of a pure function)
            VERIFIED_SIGNATURES.remember_signed(key.public_key, signature, message)
            votes.append(
                construct_trusted(
                    CommitSignature,
                    {"validator": key.public_key, "signature": signature},
                    set(_VOTE_FIELDS),
                )
            )
        return tuple(votes)

    def binds(self, message: bytes) -> bool:
        """Whether this commit's votes are its signers' signatures of ``message``."""
        return self._message == message

    @property
    def voters(self) -> tuple[bytes, ...]:
        """The signers' raw public keys, in the order of their votes (no signing)."""
        return self._signers.voters

    def plain(self) -> Commit:
        """An ordinary `Commit` with the same signatures (signing them if not done yet)."""
        return construct_trusted(Commit, {"signatures": self.signatures}, set(_COMMIT_FIELDS))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _DeferredCommit):
            if self._message == other._message and self.voters == other.voters:
                # the same keys over the same bytes: the same (deterministic) signatures
                return True
            return self.signatures == other.signatures
        if isinstance(other, Commit):
            return self.signatures == other.signatures
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.signatures)

    # a copy is a plain commit (``model_copy`` then updates it as any commit): the key
    # pairs are not copied
    def __copy__(self) -> Commit:  # type: ignore[override]
        return self.plain()

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Commit:  # type: ignore[override]
        return self.plain()

    def __reduce_ex__(self, protocol: Any) -> Any:
        # pickled as the plain commit it equals: the key pairs stay in this process
        return (_plain_commit, (self.signatures,))

    def __repr_name__(self) -> str:
        return "Commit"


def _plain_commit(signatures: tuple[CommitSignature, ...]) -> Commit:
    """The `Commit` of ``signatures`` (what a pickled `_DeferredCommit` loads as)."""
    return construct_trusted(Commit, {"signatures": signatures}, set(_COMMIT_FIELDS))


class HeaderSigners:
    """The key pairs that sign a chain's headers, in vote order, with their raw public
    keys (taken once: one set signs many headers)."""

    __slots__ = ("keys", "voters")

    def __init__(self, keys: tuple[KeyPair, ...]) -> None:
        self.keys = keys
        self.voters = tuple(key.public_key.raw for key in keys)


def deferred_commit(signers: HeaderSigners, message: bytes) -> Commit:
    """The commit of ``signers``' signatures of ``message``, each signed when first read
    (see `_DeferredCommit`): for a chain's own headers only (``message`` a header's
    `Header.sign_bytes`)."""
    commit = _DeferredCommit.__new__(_DeferredCommit)
    _MODEL_DICT.__set__(commit, {})
    set_slot = object.__setattr__
    set_slot(commit, "__pydantic_fields_set__", set(_COMMIT_FIELDS))
    set_slot(commit, "__pydantic_extra__", None)
    set_slot(commit, "__pydantic_private__", None)
    set_slot(commit, "_signers", signers)
    set_slot(commit, "_message", message)
    return commit


class ClientUpdate(BaseModel):
    """What a relayer submits to update a client (ICS-7's ``Header`` message): the signed
    header, the sets it names, and the height of the trusted state it builds on."""

    model_config = _WIRE_KEYS
    header: Header
    commit: Commit
    validators: ConsensusValidatorSet
    next_validators: ConsensusValidatorSet
    trusted_height: int = Field(gt=0)


class Misbehaviour(BaseModel):
    """Evidence: two updates for one height with different headers."""

    model_config = _WIRE_KEYS
    first: ClientUpdate
    second: ClientUpdate


class ConsensusState(BaseModel):
    """What the client keeps of an accepted header: its time, its app hash (the root proofs
    are checked against), the validators trusted to sign the next one, and its hash (to
    recognise a conflicting header for the same height)."""

    model_config = _WIRE_KEYS
    time_ns: int
    root: WireBytes
    next_validators: ConsensusValidatorSet
    header_hash: WireBytes


class LightClientState(BaseModel):
    """The client's parameters and progress (ICS-7's ``ClientState``, simplified).

    ``frozen_height`` is 0 while the client is not frozen.
    """

    model_config = _WIRE
    chain_id: str
    trusting_period_ns: int = Field(gt=0)
    max_clock_drift_ns: int = Field(ge=0)
    latest_height: int
    frozen_height: int = 0


class ClientStatus(enum.Enum):
    """ICS-2's client status."""

    ACTIVE = "Active"
    FROZEN = "Frozen"
    EXPIRED = "Expired"


class UpdateOutcome(enum.Enum):
    """What an update did: stored a new header, saw one it already had, or froze the client
    on a conflicting one."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    MISBEHAVIOUR = "misbehaviour"


# -- verifying a commit ----------------------------------------------------------------------

# What must have signed, as a fraction of a set's power, strictly exceeded (integers only):
# more than 2/3 of the set that signs the header (CometBFT's VerifyCommitLight), and, for a
# header that skips heights, more than the trust level of the trusted set (ICS-07's and
# CometBFT's default trust level, 1/3: VerifyCommitLightTrusting).
_TWO_THIRDS: Final = (2, 3)
_TRUST_LEVEL: Final = (1, 3)
_CONSENSUS_FIELDS: Final = frozenset({"time_ns", "root", "next_validators", "header_hash"})


class _SetFacts:
    """What verification reads of a validator set: its hash, its powers by raw key, its
    total, and its members in the order their votes are counted (highest power first; among
    equals the set's order, which is the order of an honest commit)."""

    __slots__ = ("hash", "order", "powers", "total", "vset")

    def __init__(self, vset: ConsensusValidatorSet) -> None:
        # the set itself is kept: the memo below matches by identity, and a kept object's
        # id cannot be reused by another
        self.vset = vset
        self.hash = vset.hash()
        members = vset.validators
        self.powers = {v.public_key.raw: v.power for v in members}
        self.total = sum(self.powers.values())
        ranked = sorted(range(len(members)), key=lambda i: -members[i].power)
        self.order: tuple[tuple[bytes, int], ...] = tuple(
            (members[i].public_key.raw, members[i].power) for i in ranked
        )


# the facts of the last few sets seen (a chain's set rarely changes, and the same set
# object comes back with every header and every stored consensus state)
_SET_MEMO: list[_SetFacts] = []
_SET_MEMO_SIZE: Final = 8


def _facts_of(vset: ConsensusValidatorSet) -> _SetFacts:
    for facts in _SET_MEMO:
        if facts.vset is vset:
            return facts
    facts = _SetFacts(vset)
    _SET_MEMO.append(facts)
    del _SET_MEMO[:-_SET_MEMO_SIZE]
    return facts


class _VerifiedSignatures:
    """A bounded memo of ed25519 signatures known to verify: ``(public key, message,
    signature)`` triples. Verification is a pure function of the triple, so a triple
    verified once verifies forever; only successes are kept (a forged signature is checked,
    and refused, every time). One per process: a header relayed to several clients (a
    consumer's epoch sends its rewards to each of its providers with one header) is checked
    once. The oldest entries are dropped beyond ``size``."""

    __slots__ = ("_known", "_size")

    def __init__(self, size: int) -> None:
        self._known: dict[tuple[bytes, bytes, bytes], None] = {}
        self._size = size

    def verify(self, key: PublicKey, signature: bytes, message: bytes, what: str) -> None:
        """Check ``signature`` of ``message`` under ``key`` unless this triple verified
        before; raises `InvalidSignature` (naming ``what``) if it does not verify."""
        triple = (key.raw, message, signature)
        known = self._known
        if triple in known:
            return
        key.verify(signature, message, what=what)
        known[triple] = None
        if len(known) > self._size:
            del known[next(iter(known))]

    def remember_signed(self, key: PublicKey, signature: bytes, message: bytes) -> None:
        """Note a triple this process has just produced by signing ``message`` with the
        private half of ``key``: an ed25519 signature made by the key verifies under it by
        definition, so a client in the same process need not check it again. Nothing
        received is ever noted here (a forged or altered vote is a different triple, and is
        verified)."""
        known = self._known
        known[(key.raw, message, signature)] = None
        if len(known) > self._size:
            del known[next(iter(known))]

    def clear(self) -> None:
        """Forget every verified triple."""
        self._known.clear()


# room for a few dozen commits of a hundred validators
VERIFIED_SIGNATURES: Final = _VerifiedSignatures(8_192)


class _CommitCheck:
    """The signatures of one commit, checked lazily set by set (CometBFT's light-client
    commit checks): each `require` walks the members of a set in order of power (highest
    first, the set's order among equals: tendermint-rs's order of verification), verifies
    the vote of each member that voted, and stops as soon as the verified power exceeds the
    required fraction. The CometBFT light-client specification allows exactly this: the
    verifier "may not check all signatures" once enough power has signed. A signature is
    verified at most once per check (the second set's walk reuses the first's), and a
    triple verified before by any client is not verified again (`VERIFIED_SIGNATURES`).
    ``verified`` names the voters whose votes hold by construction (a commit this process
    signs for exactly this header, `_DeferredCommit`): they count without a check."""

    __slots__ = ("_client_id", "_header", "_message", "_verified", "_votes")

    def __init__(
        self,
        client_id: str,
        header: Header,
        message: bytes,
        votes: dict[bytes, CommitSignature | None],
        verified: set[bytes],
    ) -> None:
        self._client_id = client_id
        self._header = header
        self._votes = votes
        self._message = message
        self._verified = verified

    def require(self, which: str, facts: _SetFacts, fraction: tuple[int, int]) -> None:
        """Verify the votes of ``facts``'s members until they hold more than ``fraction``
        of its power.

        Raises `InvalidSignature` for a vote that does not verify before the threshold is
        reached (a vote beyond it is not looked at), or `InsufficientVotingPower` (naming
        ``which``) if every member's vote verified and they hold no more than the fraction.
        """
        numerator, denominator = fraction
        bound = numerator * facts.total
        votes = self._votes
        verified = self._verified
        message = self._message
        tally = 0
        for raw, power in facts.order:
            if raw not in votes:
                continue
            if raw not in verified:
                vote = votes[raw]
                assert vote is not None  # only a verified voter comes without its vote
                header = self._header
                VERIFIED_SIGNATURES.verify(
                    vote.validator,
                    vote.signature,
                    message,
                    f"commit of {header.chain_id}@{header.height}",
                )
                verified.add(raw)
            tally += power
            if tally * denominator > bound:
                return
        raise InsufficientVotingPower(self._client_id, which, tally, facts.total)


# -- the client -------------------------------------------------------------------------------


class LightClient:
    """One chain's view of another, verified (see the module docstring). Synchronous and
    pure: the caller passes the time (``now_ns``, the verifying chain's block time)."""

    def __init__(
        self,
        client_id: str,
        states: MutableMapping[str, LightClientState],
        consensus_states: MutableMapping[int, ConsensusState],
    ) -> None:
        """A client over existing storage: ``states[client_id]`` is its `LightClientState`
        and ``consensus_states`` its consensus states by height (journaled maps of the
        module's store, so that a rolled-back transaction rolls the client back too).

        Raises `IbcUnknownClient` if ``states`` has no state for ``client_id``.
        """
        if client_id not in states:
            raise IbcUnknownClient(client_id)
        self.client_id = client_id
        self._states = states
        self._consensus = consensus_states

    @property
    def state(self) -> LightClientState:
        """The client's parameters and progress."""
        return self._states[self.client_id]

    def _set_state(self, **changes: int) -> None:
        self._states[self.client_id] = self.state.model_copy(update=changes)

    @classmethod
    def create(
        cls,
        client_id: str,
        header: Header,
        next_validators: ConsensusValidatorSet,
        *,
        trusting_period_ns: int,
        max_clock_drift_ns: int,
        states: MutableMapping[str, LightClientState] | None = None,
        consensus_states: MutableMapping[int, ConsensusState] | None = None,
    ) -> LightClient:
        """A client trusting ``header`` (and ``next_validators``, which must match its
        ``next_validators_hash``) as its root of trust, as ``MsgCreateClient`` does; its
        state goes into ``states`` and ``consensus_states`` (new dicts if not given).

        Raises `InvalidHeader` if the set does not match the header.
        """
        if next_validators.hash() != header.next_validators_hash:
            raise InvalidHeader(client_id, "next validators do not match the header")
        heights: MutableMapping[int, ConsensusState] = (
            {} if consensus_states is None else consensus_states
        )
        heights[header.height] = ConsensusState(
            time_ns=header.time_ns,
            root=header.app_hash,
            next_validators=next_validators,
            header_hash=header.hash(),
        )
        client_states: MutableMapping[str, LightClientState] = {} if states is None else states
        client_states[client_id] = LightClientState(
            chain_id=header.chain_id,
            trusting_period_ns=trusting_period_ns,
            max_clock_drift_ns=max_clock_drift_ns,
            latest_height=header.height,
        )
        return cls(client_id, client_states, heights)

    # -- reads --

    def consensus_state(self, height: int) -> ConsensusState | None:
        """The consensus state stored for ``height``, if any."""
        return self._consensus.get(height)

    def status(self, now_ns: int) -> ClientStatus:
        """``FROZEN`` after misbehaviour, ``EXPIRED`` when the latest header is older than
        the trusting period at ``now_ns``, else ``ACTIVE``."""
        if self.state.frozen_height:
            return ClientStatus.FROZEN
        latest = self._consensus[self.state.latest_height]
        if latest.time_ns + self.state.trusting_period_ns <= now_ns:
            return ClientStatus.EXPIRED
        return ClientStatus.ACTIVE

    def _require_unfrozen(self) -> None:
        if self.state.frozen_height:
            raise ClientFrozen(self.client_id, self.state.frozen_height)

    def _trusted(self, height: int) -> ConsensusState:
        found = self._consensus.get(height)
        if found is None:
            raise IbcConsensusNotFound(self.client_id, height, self.state.latest_height)
        return found

    # -- updates --

    def verify_update(self, update: ClientUpdate, now_ns: int) -> None:
        """Check ``update`` against the trusted state it names, storing nothing.

        Raises `ClientFrozen`, `IbcConsensusNotFound` (unknown trusted height),
        `InvalidHeader` and its kinds (`HeaderFromFuture`, `HeaderExpired`,
        `InsufficientVotingPower`) or `InvalidSignature`.
        """
        self._verify(update, now_ns)

    def _verify(self, update: ClientUpdate, now_ns: int) -> bytes:
        """`verify_update`, returning the header's hash (what `update` stores)."""
        self._require_unfrozen()
        header, state = update.header, self.state
        if header.chain_id != state.chain_id:
            raise InvalidHeader(self.client_id, f"header of chain {header.chain_id!r}")
        trusted = self._trusted(update.trusted_height)
        period = state.trusting_period_ns
        if trusted.time_ns + period <= now_ns:
            raise HeaderExpired(self.client_id, update.trusted_height, trusted.time_ns, now_ns)
        if header.height <= update.trusted_height:
            raise InvalidHeader(self.client_id, "height not above the trusted height")
        if header.time_ns <= trusted.time_ns:
            raise InvalidHeader(self.client_id, "time not after the trusted header's")
        if header.time_ns > now_ns + state.max_clock_drift_ns:
            raise HeaderFromFuture(self.client_id, header.time_ns, now_ns, state.max_clock_drift_ns)
        # (The header itself cannot be older than the trusting period: it is later than the
        # trusted header, which is not.)
        if _facts_of(update.validators).hash != header.validators_hash:
            raise InvalidHeader(self.client_id, "validators do not match the header")
        if _facts_of(update.next_validators).hash != header.next_validators_hash:
            raise InvalidHeader(self.client_id, "next validators do not match the header")
        trusted_set = trusted.next_validators
        adjacent = header.height == update.trusted_height + 1
        if adjacent and header.validators_hash != _facts_of(trusted_set).hash:
            raise InvalidHeader(self.client_id, "signers are not the announced next set")
        own = _facts_of(update.validators)
        # the commit's shape, over every entry (cheap, no cryptography): a signer twice or
        # a signer outside the header's set makes the whole commit malformed, as CometBFT's
        # ValidateBasic and its lookup of each vote's validator do
        powers = own.powers
        header_hash = header.hash()
        message = HEADER_SIGN_DOMAIN + header_hash  # `Header.sign_bytes`
        commit = update.commit
        votes: dict[bytes, CommitSignature | None] = {}
        verified: set[bytes] = set()
        if type(commit) is _DeferredCommit and commit.binds(message):
            # this process's own signers over exactly this header's bytes: each vote is a
            # valid signature by construction (the keys are the signers' private halves),
            # so it counts unsigned and unverified; the shape is checked as for any commit
            voters = commit.voters
            votes = dict.fromkeys(voters)
            if len(votes) != len(voters):
                raise InvalidHeader(self.client_id, "a validator signed twice")
            if not powers.keys() >= votes.keys():
                raise InvalidHeader(self.client_id, "a signer is not in the validator set")
            verified.update(votes)
        else:
            for vote in commit.signatures:
                raw = vote.validator.raw
                if raw in votes:
                    raise InvalidHeader(self.client_id, "a validator signed twice")
                if raw not in powers:
                    raise InvalidHeader(self.client_id, "a signer is not in the validator set")
                votes[raw] = vote
        check = _CommitCheck(self.client_id, header, message, votes, verified)
        if adjacent:
            # VerifyAdjacent: the header's set is the trusted next set (checked above); more
            # than 2/3 of it must have signed (VerifyCommitLight)
            check.require("trusted", own, _TWO_THIRDS)
        else:
            # VerifyNonAdjacent: more than the trust level (1/3) of the trusted set's power
            # (VerifyCommitLightTrusting), then more than 2/3 of the header's own set
            # (VerifyCommitLight); a signature checked by the first is not checked again
            check.require("trusted", _facts_of(trusted_set), _TRUST_LEVEL)
            check.require("header", own, _TWO_THIRDS)
        return header_hash

    def update(self, update: ClientUpdate, now_ns: int) -> UpdateOutcome:
        """Verify ``update`` (see `verify_update`, which lists what it raises) and apply it.

        A header already held is a `UpdateOutcome.DUPLICATE` (relayers race); a valid header
        conflicting with a held one freezes the client (`UpdateOutcome.MISBEHAVIOUR`,
        nothing raised); otherwise the header must be above the latest height and later than
        the latest header (`InvalidHeader` otherwise) and is stored (``ACCEPTED``).
        """
        header_hash = self._verify(update, now_ns)
        header = update.header
        held = self._consensus.get(header.height)
        if held is not None:
            if held.header_hash == header_hash:
                return UpdateOutcome.DUPLICATE
            self._freeze(header.height)
            return UpdateOutcome.MISBEHAVIOUR
        latest = self._consensus[self.state.latest_height]
        if header.height <= self.state.latest_height:
            raise InvalidHeader(self.client_id, "height not above the latest height")
        if header.time_ns <= latest.time_ns:
            raise InvalidHeader(self.client_id, "time not after the latest header's")
        # of the fields' exact types (a strict `Header`'s, a validated set, a digest):
        # nothing to validate again
        self._consensus[header.height] = construct_trusted(
            ConsensusState,
            {
                "time_ns": header.time_ns,
                "root": header.app_hash,
                "next_validators": update.next_validators,
                "header_hash": header_hash,
            },
            set(_CONSENSUS_FIELDS),
        )
        self._set_state(latest_height=header.height)
        return UpdateOutcome.ACCEPTED

    def submit_misbehaviour(self, evidence: Misbehaviour, now_ns: int) -> None:
        """Freeze the client on two valid updates for one height with different headers.

        Raises `InvalidMisbehaviour` if they are for different heights or the same header,
        and whatever `verify_update` raises if either is not valid.
        """
        first, second = evidence.first.header, evidence.second.header
        if first.height != second.height:
            raise InvalidMisbehaviour(self.client_id, "headers for different heights")
        if first.hash() == second.hash():
            raise InvalidMisbehaviour(self.client_id, "the same header twice")
        self.verify_update(evidence.first, now_ns)
        self.verify_update(evidence.second, now_ns)
        self._freeze(first.height)

    def _freeze(self, height: int) -> None:
        self._set_state(frozen_height=height)

    def freeze(self, height: int) -> None:
        """Freeze the client for misbehaviour seen at ``height`` (a caller that found two
        valid headers for one height by other means than `update`)."""
        self._freeze(height)

    # -- proofs --

    def root_at(self, height: int, now_ns: int) -> bytes:
        """The counterparty's app hash (IBC store root) at ``height``, which proofs at that
        height are checked against. Raises `ClientFrozen`, `ClientExpired` or
        `IbcConsensusNotFound`."""
        return self._root_at(height, now_ns)

    def _root_at(self, height: int, now_ns: int) -> bytes:
        self._require_unfrozen()
        if self.status(now_ns) is ClientStatus.EXPIRED:
            raise ClientExpired(self.client_id, self.state.latest_height, now_ns)
        return self._trusted(height).root

    def verify_membership(
        self, height: int, key: bytes, value: bytes, proof: MembershipProof, now_ns: int
    ) -> None:
        """Check that the counterparty's store held ``key = value`` at ``height``.

        Raises `ClientFrozen`, `ClientExpired`, `IbcConsensusNotFound` (no header at
        ``height``) or `InvalidProof`.
        """
        verify_membership(self._root_at(height, now_ns), key, value, proof)

    def verify_non_membership(
        self, height: int, key: bytes, proof: NonMembershipProof, now_ns: int
    ) -> None:
        """Check that the counterparty's store had no ``key`` at ``height`` (a timeout's
        proof of non-receipt, I-14).

        Raises `ClientFrozen`, `ClientExpired`, `IbcConsensusNotFound` or `InvalidProof`.
        """
        verify_non_membership(self._root_at(height, now_ns), key, proof)
