"""Transaction authentication on the host: account sequences and `authenticate_tx`.

What this protects against (issue 13): a transaction made in another account's name
(`Unauthorized`, `InvalidSignature`), replayed on its own chain (`SequenceMismatch`) or on
another chain (`WrongChain`). It is the host's ante handler, as in the Cosmos SDK's
``SigVerificationDecorator`` and ``IncrementSequenceDecorator``.

Wiring: the executor keeps one `AccountSequences` over its store (``TxExecutor.sequences``;
its map is named ``auth/sequences``, so it is chain state like any other map). The host
(``ChainHost.on_signed``) does what `authenticate_tx` does in two halves, with the check that
the body is in the signer's name between them (so such a refusal leaves the sequence unused),
all *before* opening the transaction's savepoint. Authentication must sit outside the
savepoint: a transaction whose message fails has still used its sequence number, otherwise
the same signed bytes could be replayed later, when the failure has gone away (Cosmos
commits the ante handler's writes for a failing transaction for the same reason).
"""

from __future__ import annotations

from chains.contract._signing import SignedTx, verify_tx
from chains.contract._store import JournaledMap, Store

__all__ = ["AccountSequences", "authenticate_tx"]


class AccountSequences:
    """Each account's next transaction sequence, in the chain's store (starts at 0).

    Raises ``ValueError`` (from the store) if the store already has a map named
    ``auth/sequences``.
    """

    def __init__(self, store: Store) -> None:
        self._next: JournaledMap[str, int] = JournaledMap(store, "auth/sequences")

    def get(self, address: str) -> int:
        """The sequence ``address``'s next transaction must carry."""
        return self._next.get(address, 0)

    def advance(self, address: str) -> int:
        """Consume ``address``'s current sequence; return the new next one."""
        following = self._next.get(address, 0) + 1
        self._next[address] = following
        return following

    def __len__(self) -> int:
        return len(self._next)


def authenticate_tx(
    tx: SignedTx, *, chain_id: str, prefix: str, sequences: AccountSequences
) -> str:
    """Verify ``tx`` for this chain and its sender's next sequence, consume that sequence
    and return the sender's address, which the host then executes the message as.

    Raises (and consumes nothing) `WrongChain`, `Unauthorized`, `SequenceMismatch` or
    `InvalidSignature`, see `chains.contract.verify_tx`.
    """
    verify_tx(tx, chain_id=chain_id, sequence=sequences.get(tx.sender), prefix=prefix)
    sequences.advance(tx.sender)
    return tx.sender
