"""Read-only chain queries for contract cores (``deps.querier``), enforced read-only.

Queries run synchronously on the chain's current state (inside a transaction: including the
transaction's own writes so far, as in CosmWasm) and can never write (provider.md P-4,
consumer.md C-7). That is enforced, not trusted: every query runs in a savepoint of the
chain's `Store`; if the journal grew, something wrote, so the writes are rolled back and the
query fails with `QueryWrite`. Checking costs O(1) (a journal length), and a savepoint is an
integer mark, so reads stay cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from chains.contract._coin import Coin
from chains.contract._store import Store
from chains.host._errors import QueryWrite
from chains.modules._bank import Bank
from chains.modules._staking import Delegation, Validator
from chains.modules._staking_module import StakingModule

__all__ = ["ChainQuerier", "QueryBackend", "ReadOnlyHandle", "run_read_only"]

T = TypeVar("T")


def run_read_only(store: Store, target: str, read: Callable[[], T]) -> T:
    """Run ``read()`` and return its result, guaranteeing it changed nothing in ``store``.

    Raises `QueryWrite(target)` (after rolling the writes back) if ``read`` wrote, and
    re-raises whatever ``read`` raised (its writes rolled back too).
    """
    point = store.savepoint()
    try:
        result = read()
    except BaseException:
        store.rollback_to(point)
        raise
    wrote = store.journal_length != point.mark
    store.rollback_to(point)
    if wrote:
        raise QueryWrite(target)
    return result


class ReadOnlyHandle:
    """A proxy on a native module (bank, staking, a `ChainModule`) for queries.

    Every method called through it runs under `run_read_only`, so a query helper that
    happens to write raises `QueryWrite` instead of changing state. Attributes that are
    themselves store-backed objects (``staking.distribution``) come wrapped too.
    """

    __slots__ = ("_name", "_store", "_target")

    def __init__(self, target: object, store: Store, name: str) -> None:
        self._target = target
        self._store = store
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        value = getattr(self._target, attr)
        if isinstance(value, type):
            return value
        if callable(value):
            method = value
            store, name = self._store, self._name

            def guarded(*args: Any, **kwargs: Any) -> Any:
                return run_read_only(store, name, lambda: method(*args, **kwargs))

            return guarded
        if isinstance(getattr(value, "store", None), Store):
            return ReadOnlyHandle(value, self._store, f"{self._name}.{attr}")
        return value

    def __repr__(self) -> str:
        return f"ReadOnlyHandle({self._name})"


class QueryBackend(Protocol):
    """What `ChainQuerier` reads from (the `TxExecutor` implements it)."""

    @property
    def store(self) -> Store: ...

    @property
    def bank(self) -> Bank: ...

    @property
    def staking(self) -> StakingModule: ...

    def query_contract(self, address: str, msg: Any) -> Any:
        """A contract's ``query`` entry point, read-only."""
        ...

    def query_module(self, name: str, msg: Any) -> Any:
        """A module's ``query``, read-only."""
        ...

    def module_object(self, name: str) -> object:
        """The module named ``name`` (``"bank"``, ``"staking"`` or a plugged-in module)."""
        ...


class ChainQuerier:
    """The `Querier` a chain gives its contracts (C-11 standard queries, P-4).

    Raises `ContractNotFound`, `UnknownModule`, `QueryWrite`, or what the queried contract
    or module raises.
    """

    __slots__ = ("_backend",)

    def __init__(self, backend: QueryBackend) -> None:
        self._backend = backend

    def balance(self, address: str, denom: str) -> int:
        """The bank balance of ``address`` in ``denom``."""
        return self._backend.bank.balance(address, denom)

    def all_balances(self, address: str) -> tuple[Coin, ...]:
        """Every non-zero balance of ``address``, by denom."""
        return self._backend.bank.all_balances(address)

    def smart(self, contract_addr: str, msg: Any) -> Any:
        """Another contract's ``query`` entry point, on current state, read-only."""
        return self._backend.query_contract(contract_addr, msg)

    def bonded_denom(self) -> str:
        """The staking denom (C-11)."""
        return self._backend.staking.params.bond_denom

    def custom(self, module: str, msg: Any) -> Any:
        """A module's custom query (C-11, e.g. ``virtual_stake`` bond_status)."""
        return self._backend.query_module(module, msg)

    def module(self, name: str) -> Any:
        """A read-only handle on a native module (``"bank"``, ``"staking"``, or a plugged-in
        module by name); every method call through it is checked read-only."""
        backend = self._backend
        return ReadOnlyHandle(backend.module_object(name), backend.store, f"module:{name}")

    def all_validators(self) -> tuple[Validator, ...]:
        """The currently **bonded** validators only (C-11 "all validators")."""
        return self._backend.staking.bonded_validators()

    def validator(self, operator: str) -> Validator | None:
        """One validator record (any status), or ``None``."""
        return self._backend.staking.validator(operator)

    def delegation(self, delegator: str, validator: str) -> Delegation | None:
        """The delegation record, or ``None``."""
        return self._backend.staking.delegation(delegator, validator)

    def delegation_value(self, delegator: str, validator: str) -> int:
        """The token value of a delegation, truncated (C-18); 0 if none."""
        return self._backend.staking.delegation_value(delegator, validator)
