"""Clients (ibc-go's 02-client): this chain's light clients of its counterparties.

A client (I-2) holds the counterparty headers a relayer has proven to this chain, as
consensus states ``(client_id, height) -> time``: ``CreateClient`` starts one from a header,
``UpdateClient`` adds a header (a newer one moves the client's latest height; an older one
must fit between its neighbours in time; the same height twice must be the same header).
Anything proven about the counterparty is proven *at a height*, and is accepted only if the
client holds the header of exactly that height (`consensus_time`; `IbcConsensusNotFound` is
light-client lag: the relayer must update the client first). The oldest consensus states are
pruned beyond ``max_consensus_states``.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import TYPE_CHECKING, Final

from chains.contract._store import SortedJournaledMap
from chains.ibc._errors import IbcBadHeader, IbcConsensusNotFound, IbcUnknownClient
from chains.ibc._events import IbcEventType
from chains.ibc._light_client import (
    ClientStatus,
    ClientUpdate,
    ConsensusState,
    InvalidHeader,
    LightClient,
    UpdateOutcome,
)
from chains.ibc._merkle import (
    InvalidProof,
    MembershipProof,
    NonMembershipProof,
    verify_membership,
)
from chains.ibc._msgs import CreateClient, IbcHeader, OpResult, SignedHeader, UpdateClient
from chains.ibc._state import ClientState, IbcStore
from mesh_actors import construct_trusted

if TYPE_CHECKING:
    from chains.host._executor import TxExecutor

__all__: list[str] = []

_OK_RESULT: Final = OpResult(status="ok")
_NOOP_RESULT: Final = OpResult(status="noop")
# roots whose proven nodes are kept: proofs arrive at the latest few heights
_PROVEN_ROOTS: Final = 8
_CREATE_CLIENT: Final = IbcEventType.CREATE_CLIENT.value
_UPDATE_CLIENT: Final = IbcEventType.UPDATE_CLIENT.value
_CLIENT_MISBEHAVIOUR: Final = "client_misbehaviour"
_UPDATE_FIELDS: Final = frozenset(ClientUpdate.model_fields)


def _signed_of(client_id: str, header: IbcHeader) -> SignedHeader:
    """The signed header ``header`` carries, consistent with it; raises `InvalidHeader`."""
    signed = header.signed
    if signed is None:
        raise InvalidHeader(client_id, "the header is not signed")
    raw = signed.header
    if (raw.chain_id, raw.height, raw.time_ns) != (header.chain_id, header.height, header.time_ns):
        raise InvalidHeader(client_id, "the signed header is not the header given")
    return signed


class _ClientHeights(MutableMapping[int, ConsensusState]):
    """One client's consensus states by height, over the module's journaled map keyed by
    ``(client_id, height)`` (what `LightClient` reads and writes)."""

    def __init__(
        self, heights: SortedJournaledMap[tuple[str, int], ConsensusState], client_id: str
    ) -> None:
        self._heights = heights
        self._client_id = client_id

    def __getitem__(self, height: int) -> ConsensusState:
        return self._heights[(self._client_id, height)]

    def __setitem__(self, height: int, value: ConsensusState) -> None:
        self._heights[(self._client_id, height)] = value

    def __delitem__(self, height: int) -> None:
        del self._heights[(self._client_id, height)]

    def __iter__(self) -> Iterator[int]:
        keys = self._heights.keys_between((self._client_id, 0), (self._client_id, 1 << 62))
        return iter([height for _, height in keys])

    def __len__(self) -> int:
        return sum(1 for _ in self)


class Clients:
    """The client layer of one chain's IBC module: the ``CreateClient`` and ``UpdateClient``
    operations and the consensus-state lookup every proof goes through.

    Shares the module's `IbcStore` and executor; the operations run *in a unit* of that
    executor (inside the module's `run_ops`).
    """

    def __init__(
        self,
        executor: TxExecutor,
        state: IbcStore,
        max_consensus_states: int,
        *,
        verify: bool = False,
        trusting_period_ns: int = 365 * 86_400 * 10**9,
        max_clock_drift_ns: int = 3_600 * 10**9,
    ) -> None:
        self._executor = executor
        self._state = state
        self._max_consensus_states = max_consensus_states
        # root -> node hashes proven under it (see `verify_membership`)
        self._proven: dict[bytes, set[bytes]] = {}
        self.verify = verify
        self._trusting_period_ns = trusting_period_ns
        self._max_clock_drift_ns = max_clock_drift_ns

    # -- verification (issue 13) --

    def light_client(self, client_id: str) -> LightClient:
        """The verifying client ``client_id``; raises `IbcUnknownClient`."""
        return LightClient(
            client_id,
            self._state.light_states,
            _ClientHeights(self._state.light_consensus, client_id),
        )

    def _now_ns(self) -> int:
        return self._executor.block_env.time_ns

    def client_status(self, client_id: str) -> ClientStatus:
        """ICS-2 status of a verifying client (``FROZEN`` after misbehaviour); raises
        `IbcUnknownClient` (also for a client of an unverified chain)."""
        return self.light_client(client_id).status(self._now_ns())

    def verify_membership(
        self, client_id: str, height: int, key: bytes, value: bytes, proof: object
    ) -> None:
        """Check that the counterparty's IBC store held ``key = value`` at ``height``.

        Raises `InvalidProof` (also for a missing or misshapen proof), `ClientFrozen`,
        `ClientExpired`, `IbcConsensusNotFound` or `IbcUnknownClient`.
        """
        if not isinstance(proof, MembershipProof):
            raise InvalidProof("a membership proof is required")
        client = self.light_client(client_id)
        root = client.root_at(height, self._now_ns())
        known = self._proven.get(root)
        if known is None:
            # node hashes proven under this root (a memo of verification, not state: a root
            # a header signed never changes); a relay batch's proofs share their upper paths
            known = self._proven[root] = {root}
            if len(self._proven) > _PROVEN_ROOTS:
                del self._proven[next(iter(self._proven))]
        verify_membership(root, key, value, proof, known)

    def verify_non_membership(self, client_id: str, height: int, key: bytes, proof: object) -> None:
        """Check that the counterparty's IBC store had no ``key`` at ``height``; raises
        as `verify_membership`."""
        if not isinstance(proof, NonMembershipProof):
            raise InvalidProof("a non-membership proof is required")
        self.light_client(client_id).verify_non_membership(height, key, proof, self._now_ns())

    def create_client(self, op: CreateClient, signer: str) -> OpResult:
        """A new client of ``op.header``'s chain, trusting that header (I-2); the result's
        value is the client id (``07-tendermint-N``)."""
        state = self._state
        header = op.header
        client_id = f"07-tendermint-{state.next_id('client')}"
        if self.verify:
            # the root of trust: the header the creator chose (as MsgCreateClient's), but
            # it must at least be a consistent signed header
            signed = _signed_of(client_id, header)
            LightClient.create(
                client_id,
                signed.header,
                signed.next_validators or signed.validators,
                trusting_period_ns=self._trusting_period_ns,
                max_clock_drift_ns=self._max_clock_drift_ns,
                states=state.light_states,
                consensus_states=_ClientHeights(state.light_consensus, client_id),
            )
        state.clients[client_id] = ClientState(
            client_id, header.chain_id, header.height, header.time_ns, 1
        )
        state.consensus[(client_id, header.height)] = header.time_ns
        self._executor.emit_raw(
            "ibc",
            _CREATE_CLIENT,
            (
                ("client_id", client_id),
                ("chain_id", header.chain_id),
                ("height", str(header.height)),
            ),
        )
        return OpResult(status="ok", value=client_id)

    def update_client(self, op: UpdateClient, signer: str) -> OpResult:
        """Add ``op.header`` to the client (I-2); ``noop`` if it already holds it.

        Raises `IbcUnknownClient`, or `IbcBadHeader` for a header of another chain, one
        that conflicts with the header held at its height, or one whose time does not
        increase with height against its neighbours.
        """
        state = self._state
        client_id = op.client_id
        client = state.clients.get(client_id)
        if client is None:
            raise IbcUnknownClient(client_id)
        header = op.header
        if header.chain_id != client.chain_id:
            raise IbcBadHeader(client_id, f"header of {header.chain_id}, not {client.chain_id}")
        height, time_ns = header.height, header.time_ns
        if self.verify:
            refused = self._verify_update(client_id, header)
            if refused is not None:
                return refused
        consensus = state.consensus
        known = consensus.get((client_id, height))
        if known is not None:
            if known != time_ns:
                raise IbcBadHeader(client_id, f"conflicting header at height {height}")
            return _NOOP_RESULT
        if height > client.latest_height:
            if time_ns <= client.latest_time_ns:
                raise IbcBadHeader(client_id, "time does not increase with height")
            client = ClientState(client_id, client.chain_id, height, time_ns, client.count + 1)
        else:
            # an older header: it must fit between its neighbours
            keys = state.consensus_keys(client_id)
            below = [consensus[k] for k in keys if k[1] < height]
            above = [consensus[k] for k in keys if k[1] > height]
            if (below and below[-1] >= time_ns) or (above and above[0] <= time_ns):
                raise IbcBadHeader(client_id, "time does not increase with height")
            client = ClientState(
                client_id,
                client.chain_id,
                client.latest_height,
                client.latest_time_ns,
                client.count + 1,
            )
        consensus[(client_id, height)] = time_ns
        limit = self._max_consensus_states
        if client.count > limit + limit // 4:
            # prune in chunks, so the scan is paid once per limit/4 updates
            keys = state.consensus_keys(client_id)
            drop = len(keys) - limit
            for key in keys[:drop]:
                if key[1] != client.latest_height:
                    del consensus[key]
                    state.light_consensus.pop(key, None)
            client = ClientState(
                client_id,
                client.chain_id,
                client.latest_height,
                client.latest_time_ns,
                len(keys) - drop,
            )
        state.clients[client_id] = client
        self._executor.emit_raw(
            "ibc", _UPDATE_CLIENT, (("client_id", client_id), ("height", str(height)))
        )
        return _OK_RESULT

    def _verify_update(self, client_id: str, header: IbcHeader) -> OpResult | None:
        """Verify a signed header before the update is recorded (issue 13), storing its
        consensus state (root) in the light client; ``None`` to go on recording it, or the
        result to return at once (a header held already, or misbehaviour: the client is
        frozen and that must not be rolled back, so it is a result, not an exception).

        Raises `InvalidHeader` and its kinds, `InvalidSignature`, `ClientFrozen` or
        `IbcConsensusNotFound`.
        """
        signed = _signed_of(client_id, header)
        client = self.light_client(client_id)
        heights = self._state.light_consensus
        held = heights.get((client_id, header.height))
        if (
            held is not None
            and not client.state.frozen_height
            and held.header_hash == signed.header.hash()
        ):
            # the very header this client verified and holds (a relayer sends a block's
            # header with each channel's batch of that block): nothing to learn from its
            # commit, so no signature is checked again; a different header at a held
            # height still goes through verification, to misbehaviour (issue 16)
            return _NOOP_RESULT
        # first the validator-set changes this client has not seen (oldest first): each is
        # verified against the trust it has then, and its announced set trusted after it
        for step in signed.bridge:
            if step.header.height <= client.state.latest_height:
                continue
            if step.header.height >= header.height:
                break
            # above the latest height: stored, never a conflict with a held header
            client.update(
                ClientUpdate(
                    header=step.header,
                    commit=step.commit,
                    validators=step.validators,
                    next_validators=step.next_validators or step.validators,
                    trusted_height=client.state.latest_height,
                ),
                self._now_ns(),
            )
        # trust the highest held header below this one: its announced next set must hold
        # more than 2/3 of the signatures (adjacent: be the signers), and the header's own
        # next set is trusted from then on (ICS-07)
        latest = client.state.latest_height
        if header.height > latest:
            # the latest header is held (never pruned) and nothing is held above it
            trusted_height = latest
        else:
            below = heights.keys_between((client_id, 0), (client_id, header.height))
            if not below:
                raise InvalidHeader(client_id, "no trusted header below this height")
            trusted_height = below[-1][1]
        # built from the validated parts of the signed header (a held height is above 0):
        # nothing for the model to check again
        update = construct_trusted(
            ClientUpdate,
            {
                "header": signed.header,
                "commit": signed.commit,
                "validators": signed.validators,
                "next_validators": signed.next_validators or signed.validators,
                "trusted_height": trusted_height,
            },
            set(_UPDATE_FIELDS),
        )
        now_ns = self._now_ns()
        if header.height > latest:
            outcome = client.update(update, now_ns)
        else:
            # an older header (relayers race): verified, then slotted in below the latest
            client.verify_update(update, now_ns)
            held = client.consensus_state(header.height)
            if held is None:
                heights[(client_id, header.height)] = ConsensusState(
                    time_ns=signed.header.time_ns,
                    root=signed.header.app_hash,
                    next_validators=signed.next_validators or signed.validators,
                    header_hash=signed.header.hash(),
                )
                outcome = UpdateOutcome.ACCEPTED
            elif held.header_hash == signed.header.hash():
                outcome = UpdateOutcome.DUPLICATE
            else:
                client.freeze(header.height)
                outcome = UpdateOutcome.MISBEHAVIOUR
        if outcome is UpdateOutcome.MISBEHAVIOUR:
            self._executor.emit_raw(
                "ibc",
                _CLIENT_MISBEHAVIOUR,
                (("client_id", client_id), ("height", str(header.height))),
            )
            return OpResult(
                status="error",
                error="ClientFrozen",
                detail=f"{client_id} frozen: conflicting header at height {header.height}",
            )
        if outcome is UpdateOutcome.DUPLICATE:
            return _NOOP_RESULT
        return None

    def consensus_time(self, client_id: str, height: int) -> int:
        """The time of the counterparty header at ``height`` that the client holds: what a
        proof at ``height`` is checked against (I-2).

        Raises `IbcUnknownClient`, or `IbcConsensusNotFound` if the client does not hold
        that height (not yet updated to it, or pruned).
        """
        state = self._state
        time_ns = state.consensus.get((client_id, height))
        if time_ns is None:
            client = state.clients.get(client_id)
            if client is None:
                raise IbcUnknownClient(client_id)
            raise IbcConsensusNotFound(client_id, height, client.latest_height)
        return time_ns
