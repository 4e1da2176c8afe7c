"""Durable chain state: one chain's `Store` in an embedded SQLite database, one SQLite
transaction per block.

**What is written, and when.** `DurableStore.commit` runs at every block boundary (the host
calls it after the next block has begun: the ended block's end-block and the new block's
begin-block hooks have run, no transaction yet). It writes, in ONE SQLite transaction, every
key the store's maps wrote since the previous commit (`Store.take_changes`: the value the map
holds *now*, or the row's deletion, so a write later rolled back ends as the restored value
or as nothing at all), the maps created since, and the block record (height, block time,
whether a block is open, how many units ran in it, the app hash, and the wall-clock time of
the commit). So a block is on disk whole or not at all: a crash inside the transaction
leaves the previous block, which SQLite's write-ahead log rolls back to on the next open.

**Resuming.** `DurableStore.attach` on a file holding a committed block loads it into the
executor: every map's contents (maps the file has and the running chain does not yet are
created, sorted or not as recorded; a contract's storage adopts them when its core first
asks), the block record, and then each module's `StateLoadedObserver.on_state_loaded` runs to
rebuild what it keeps beside the store (the IBC module: its Merkle tree, cached headers, and
a notice so that the gateway spawns the channel actors and relayers look again). On a new
file it writes the executor's current state as the base. Loading reads and checks everything
before it touches the executor: a file that is not a chain store, is damaged, or whose rows do
not hash to the recorded app hash raises `StoreCorrupt`; another chain's file
`ForeignStore`; a newer schema `StoreVersionMismatch`; the executor is then unchanged.

**Encoding.** Row values (and keys) are stored with `pickle`: the store's values are
arbitrary immutable Python objects (ints, strings, tuples, frozensets, frozen pydantic models
and dataclasses), pickle round-trips all of them exactly, and the file is one this process
(or an earlier run of it) wrote, on the local disk: never open a store file from an untrusted
source, since unpickling can run code. Pickle bytes are not canonical (memo references,
set order), so rows are keyed, and the app hash computed, over `canonical_bytes`: a
type-tagged encoding with sets and dicts sorted by their encoded members, pydantic models and
dataclasses by declared field order, independent of ``PYTHONHASHSEED`` and insertion order.

**App hash.** An incremental multiset hash (AdHash): the sum, modulo 2**256, of
``BLAKE2b-256(len(map) ‖ map ‖ len(key) ‖ key ‖ value)`` over every entry, with key and value
in canonical bytes, then ``app_hash = SHA-256(domain ‖ chain id ‖ height ‖ time ‖ block open ‖
units in block ‖ sum)``. A commit updates the sum in O(changed entries) (the entry digests
are kept in memory). Equal states give equal hashes on any machine and run; it detects
corruption, a torn or mixed-up load, and divergence between two runs, with the collision
resistance of a 256-bit AdHash (ample against accidents; it is not a defence against an
adversary who can craft store contents, who could also just edit the file).

**Durability.** WAL mode with ``synchronous`` as given (`DEFAULT_SYNCHRONOUS` = ``"NORMAL"``):
in WAL mode NORMAL syncs only at checkpoints, so a committed block survives a crash or
``kill -9`` of the process (the WAL is in the OS's page cache) but the last blocks before a
power loss or OS crash may be lost (the database itself stays consistent: it rolls back to
an earlier whole block). ``"FULL"`` syncs the WAL at every commit and survives power loss, at
the cost of an fsync per block. ``"OFF"`` survives process crashes too but an OS crash may
corrupt the file; ``"EXTRA"`` is FULL plus a directory sync.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import io
import os
import pickle
import sqlite3
import struct
import time
from collections.abc import Callable, Hashable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, cast, runtime_checkable

import msgspec
import msgspec.structs
from pydantic import BaseModel

from chains.contract._store import JournaledMap, SortedJournaledMap
from chains.host._errors import (
    ForeignStore,
    NestedUnit,
    StoreAttached,
    StoreCorrupt,
    StoreError,
    StoreVersionMismatch,
    UnknownSynchronousMode,
)

if TYPE_CHECKING:
    from chains.host._blocks import BlockLifecycle

__all__ = [
    "DEFAULT_SYNCHRONOUS",
    "SCHEMA_VERSION",
    "SYNCHRONOUS_MODES",
    "DurableStore",
    "StateLoadedObserver",
    "attach_store",
    "canonical_bytes",
    "state_app_hash",
]

SCHEMA_VERSION: Final = 1
"""The layout version this code writes; a file with a higher one is refused."""
SYNCHRONOUS_MODES: Final = ("OFF", "NORMAL", "FULL", "EXTRA")
DEFAULT_SYNCHRONOUS: Final = "NORMAL"
"""Survives a process crash (``kill -9``); use ``"FULL"`` to survive power loss."""

_MAGIC: Final = b"mesh-actors/chain-store"
_DOMAIN: Final = b"mesh-actors/app-hash/v1"
_MOD: Final = 1 << 256
_PICKLE: Final = pickle.HIGHEST_PROTOCOL
_ABSENT: Final[Any] = object()

_SCHEMA: Final = (
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL)",
    "CREATE TABLE maps (name TEXT PRIMARY KEY, ordered INTEGER NOT NULL)",
    # ``k`` is the key's canonical bytes (the row's identity); ``key`` / ``value`` pickles
    "CREATE TABLE entries (map TEXT NOT NULL, k BLOB NOT NULL, key BLOB NOT NULL,"
    " value BLOB NOT NULL, PRIMARY KEY (map, k)) WITHOUT ROWID",
    "CREATE TABLE block (id INTEGER PRIMARY KEY CHECK (id = 0), height INTEGER NOT NULL,"
    " time INTEGER NOT NULL, open INTEGER NOT NULL, tx_index INTEGER NOT NULL,"
    " app_hash BLOB NOT NULL, wall REAL NOT NULL)",
)


@runtime_checkable
class StateLoadedObserver(Protocol):
    """Optional module method: rebuild what the module keeps outside the store (caches,
    derived trees, actors to tell) after a durable store loaded the chain's state.

    Runs in the host's task, with no block hook or unit running; it must not write the
    store (the loaded state is the committed one). An exception is a bug: it propagates
    out of the attach.
    """

    def on_state_loaded(self) -> None: ...


# -- canonical encoding ------------------------------------------------------------------------


_U32 = struct.Struct(">I").pack
_Encoder = Callable[[Any, list[bytes]], None]


def _length(data: bytes) -> bytes:
    return _U32(len(data))


def _encode(value: Any, out: list[bytes]) -> None:
    # Type-tagged and length-prefixed, so no two values share an encoding; containers
    # without an order are sorted by the encoded bytes of their members, so nothing depends
    # on hash seeds or insertion order. The common key and value types are inline; any
    # other class is encoded by a plan built once per class (`_plan`).
    kind = type(value)
    if kind is str:
        data = value.encode("utf-8", "surrogatepass")
        out.append(b"s" + _U32(len(data)) + data)
    elif kind is int:
        text = b"%d" % value
        out.append(b"i" + _U32(len(text)) + text)
    elif kind is tuple:
        out.append(b"t" + _U32(len(value)))
        for item in value:
            _encode(item, out)
    elif kind is bytes:
        out.append(b"b" + _U32(len(value)) + value)
    elif value is None:
        out.append(b"N")
    elif kind is bool:
        out.append(b"T" if value else b"F")
    else:
        # (a class is hashable; mypy does not know ``type[Any]`` is)
        _plan(cast(Hashable, kind))(value, out)


def _header(tag: bytes, kind: type[Any]) -> bytes:
    name = f"{kind.__module__}.{kind.__qualname__}".encode()
    return tag + _U32(len(name)) + name


def _fields_encoder(header: bytes, names: tuple[str, ...], model: bool) -> _Encoder:
    labels = tuple(b"s" + _U32(len(n.encode())) + n.encode() for n in names)
    pairs = tuple(zip(names, labels, strict=True))
    count = b"i" + _length(str(len(names)).encode()) + str(len(names)).encode()

    def encode(value: Any, out: list[bytes]) -> None:
        extra = value.__pydantic_extra__ if model else None
        if extra:
            everything = names + tuple(sorted(extra))
            out.append(header)
            _encode(len(everything), out)
            for name in everything:
                _encode(name, out)
                _encode(getattr(value, name), out)
            return
        out.append(header)
        out.append(count)
        for name, label in pairs:
            out.append(label)
            _encode(getattr(value, name), out)

    return encode


class _Unpickler(pickle.Unpickler):
    """Loads rows as `pickle.loads` does, except that a record class that is now a
    `msgspec.Struct` also loads from the pickles an earlier version wrote when it was a named
    tuple (``AckRecord``, and the tx results and events of issue 16): those pickles build
    the value as ``cls.__new__(cls, *fields)``, which a struct refuses, so such a class
    resolves to a loader that builds the struct from the same fields. The struct's own
    pickles (``cls(*fields)``) load through the same loader unchanged."""

    def find_class(self, module: str, name: str) -> Any:
        found = super().find_class(module, name)
        if isinstance(found, type) and issubclass(found, msgspec.Struct):
            return _struct_loader(found)
        return found


@functools.cache
def _struct_loader(kind: type[msgspec.Struct]) -> type:
    """A stand-in class for ``kind`` whose construction, by either pickle opcode, returns a
    ``kind`` built from the pickled fields (cached: record classes are few and fixed)."""

    def build(cls: type, *fields: Any) -> Any:
        return kind(*fields)

    return type(f"_Load{kind.__name__}", (), {"__new__": build})


def _loads(data: bytes) -> Any:
    """One row's key or value from its pickle bytes (`_Unpickler`)."""
    return _Unpickler(io.BytesIO(data)).load()


@functools.cache
def _plan(hashable: Hashable) -> _Encoder:
    """The encoder of values of class ``kind`` (classes are few and fixed: cached)."""
    kind = cast(type[Any], hashable)
    if issubclass(kind, enum.Enum):
        header = _header(b"e", kind)

        def encode_enum(value: Any, out: list[bytes]) -> None:
            out.append(header)
            _encode(value.value, out)

        return encode_enum
    if issubclass(kind, BaseModel):
        return _fields_encoder(_header(b"m", kind), tuple(kind.model_fields), model=True)
    if dataclasses.is_dataclass(kind):
        names = tuple(field.name for field in dataclasses.fields(kind))
        return _fields_encoder(_header(b"c", kind), names, model=False)
    if issubclass(kind, tuple):  # a named tuple (a plain tuple is inline)
        header = _header(b"n", kind)

        def encode_named(value: Any, out: list[bytes]) -> None:
            out.append(header)
            _encode(tuple(value), out)

        return encode_named
    if issubclass(kind, msgspec.Struct):
        # a record (`ChainEvent`, `TxResult`): encoded as the named tuple it once was
        header = _header(b"n", kind)

        def encode_struct(value: Any, out: list[bytes]) -> None:
            out.append(header)
            _encode(msgspec.structs.astuple(value), out)

        return encode_struct
    if issubclass(kind, list):
        return _encode_list
    if issubclass(kind, frozenset | set):
        return _encode_set
    if issubclass(kind, dict):
        return _encode_dict
    if issubclass(kind, int | str):  # a subclass that is not an enum
        header = _header(b"I" if issubclass(kind, int) else b"U", kind)
        base: type[Any] = int if issubclass(kind, int) else str

        def encode_subclass(value: Any, out: list[bytes]) -> None:
            out.append(header)
            _encode(base(value), out)

        return encode_subclass
    if kind is float:
        return _encode_float
    if kind is Decimal:
        return _encode_decimal
    return _encode_reduced


def _encode_list(value: Any, out: list[bytes]) -> None:
    out.append(b"l" + _U32(len(value)))
    for item in value:
        _encode(item, out)


def _encode_set(value: Any, out: list[bytes]) -> None:
    members = sorted(canonical_bytes(item) for item in value)
    out.append(b"S" + _U32(len(members)))
    out.extend(_length(m) + m for m in members)


def _encode_dict(value: Any, out: list[bytes]) -> None:
    pairs = sorted((canonical_bytes(k), canonical_bytes(v)) for k, v in value.items())
    out.append(b"D" + _U32(len(pairs)))
    out.extend(_length(k) + k + _length(v) + v for k, v in pairs)


def _encode_float(value: Any, out: list[bytes]) -> None:
    text = value.hex().encode()
    out.append(b"f" + _length(text) + text)


def _encode_decimal(value: Any, out: list[bytes]) -> None:
    text = str(value).encode()
    out.append(b"d" + _length(text) + text)


def _encode_reduced(value: Any, out: list[bytes]) -> None:
    # anything else by its pickle reduction (class and state), not by its pickle bytes
    reduced = value.__reduce_ex__(_PICKLE)
    if isinstance(reduced, str):  # a global singleton
        out.append(_header(b"g", type(value)))
        _encode(reduced, out)
        return
    out.append(_header(b"r", type(value)))
    _encode(tuple(reduced[1:3]), out)


def canonical_bytes(value: Any) -> bytes:
    """A canonical, type-tagged byte encoding of a store key or value (see the module
    docstring): equal values of the same types give equal bytes on every run and machine,
    whatever ``PYTHONHASHSEED`` and insertion orders were. Not decodable (rows keep a
    pickle beside it). Raises ``TypeError`` for a value Python cannot reduce."""
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


def _entry_digest(map_name: bytes, key: bytes, value: bytes) -> int:
    digest = hashlib.blake2b(digest_size=32)
    digest.update(_length(map_name))
    digest.update(map_name)
    digest.update(_length(key))
    digest.update(key)
    digest.update(value)
    return int.from_bytes(digest.digest(), "big")


def _app_hash(
    chain_id: str, height: int, time_s: int, is_open: bool, units: int, acc: int
) -> bytes:
    digest = hashlib.sha256(_DOMAIN)
    for part in (chain_id.encode(), str(height).encode(), str(time_s).encode()):
        digest.update(_length(part))
        digest.update(part)
    digest.update(b"\x01" if is_open else b"\x00")
    digest.update(units.to_bytes(8, "big"))
    digest.update(acc.to_bytes(32, "big"))
    return digest.digest()


def state_app_hash(executor: BlockLifecycle) -> bytes:
    """The app hash of ``executor``'s state as it is now (the hash a `DurableStore` would
    commit here), computed over the whole state: O(state), for chains without a store and
    for tests."""
    acc = 0
    for journaled in executor.store.maps():
        name = journaled.name.encode()
        for key, value in journaled.raw_items():
            acc += _entry_digest(name, canonical_bytes(key), canonical_bytes(value))
    return _app_hash(
        executor.chain_id,
        executor.height,
        executor.time_s,
        executor.block_open,
        executor.tx_index,
        acc % _MOD,
    )


# -- the store ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Loaded:
    maps: dict[str, bool]
    contents: dict[str, dict[Any, Any]]
    digests: dict[tuple[str, bytes], int]
    acc: int
    height: int
    time_s: int
    is_open: bool
    tx_index: int
    app_hash: bytes
    wall: float


class DurableStore:
    """One chain's state on disk (see the module docstring).

    Build one with `open`; then `attach` it to the chain's executor once (loading the file
    or writing the base), and `commit` at every block boundary; `close` at the end. Not
    thread-safe; used from the chain host's task only.

    ``pause`` is a test hook: when set, it is called between the row writes of each commit,
    inside the SQLite transaction (crash tests kill a writer there).
    """

    def __init__(self, connection: sqlite3.Connection, path: Path, chain_id: str) -> None:
        self._db: sqlite3.Connection | None = connection
        self.path = path
        self.chain_id = chain_id
        self.pause: Callable[[], None] | None = None
        self._digests: dict[tuple[str, bytes], int] = {}
        self._acc = 0
        self._maps: set[str] = set()
        self._app_hash: bytes | None = None
        self._height: int | None = None
        self._wall: float | None = None

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        chain_id: str,
        *,
        synchronous: str = DEFAULT_SYNCHRONOUS,
    ) -> DurableStore:
        """Open (or create) the store file of ``chain_id`` at ``path``, in WAL mode with
        ``synchronous`` (one of `SYNCHRONOUS_MODES`, case-insensitive).

        Checks the file's identity before changing anything in it. Raises
        `UnknownSynchronousMode` for an unknown ``synchronous``; `StoreCorrupt` (not a chain
        store, or damaged), `ForeignStore` (another chain's), `StoreVersionMismatch` (a
        newer schema), or ``sqlite3.OperationalError`` if the file cannot be opened at all
        (no such folder, no permission; `Chain.attach_store` reports that as
        `StoreCorrupt`).
        """
        mode = synchronous.upper()
        if mode not in SYNCHRONOUS_MODES:
            raise UnknownSynchronousMode(synchronous, SYNCHRONOUS_MODES)
        where = Path(path)
        # autocommit mode: transactions are begun and ended explicitly below
        db = sqlite3.connect(where, isolation_level=None, check_same_thread=False)
        try:
            store = cls(db, where, chain_id)
            store._check_identity()
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(f"PRAGMA synchronous={mode}")
            except sqlite3.DatabaseError as exc:
                raise StoreCorrupt(str(where), f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            db.close()
            raise
        return store

    def _check_identity(self) -> None:
        db = self._connection()
        try:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
            if not tables:
                return  # a new (or empty) file: the base is written by `attach`
            if "meta" not in tables:
                raise StoreCorrupt(str(self.path), "not a chain store (no meta table)")
            meta = dict(db.execute("SELECT name, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise StoreCorrupt(str(self.path), f"{type(exc).__name__}: {exc}") from exc
        if meta.get("magic") != _MAGIC:
            raise StoreCorrupt(str(self.path), "not a chain store (bad magic)")
        try:
            version = int(meta["schema"])
            found_chain = bytes(meta["chain_id"]).decode()
        except (KeyError, ValueError, TypeError) as exc:
            raise StoreCorrupt(str(self.path), f"bad meta table: {exc!r}") from exc
        if version > SCHEMA_VERSION:
            raise StoreVersionMismatch(str(self.path), version, SCHEMA_VERSION)
        if version < 1 or not {"maps", "entries", "block"} <= tables:
            raise StoreCorrupt(str(self.path), f"schema {version} tables incomplete")
        if found_chain != self.chain_id:
            raise ForeignStore(str(self.path), self.chain_id, found_chain)

    def _connection(self) -> sqlite3.Connection:
        db = self._db
        if db is None:
            raise StoreCorrupt(str(self.path), "the store is closed")
        return db

    # -- attaching -----------------------------------------------------------------------

    @property
    def app_hash(self) -> bytes | None:
        """The app hash of the last committed block (``None`` before `attach`)."""
        return self._app_hash

    @property
    def height(self) -> int | None:
        """The height of the last committed block record (``None`` before `attach`)."""
        return self._height

    @property
    def committed_wall_time(self) -> float | None:
        """The wall-clock time (UNIX seconds) of the last commit (after `attach`, the one
        it loaded or wrote), or ``None`` before."""
        return self._wall

    def downtime(self) -> float:
        """Wall-clock seconds since the last commit (0 before `attach`, never negative):
        after a resume, how long the chain was down."""
        if self._wall is None:
            return 0.0
        return max(0.0, time.time() - self._wall)

    def attach(self, executor: BlockLifecycle) -> int | None:
        """Load the committed state into ``executor`` and return its height, or, on a new
        file, write the executor's state as the base and return ``None``. From then on the
        executor's store tracks changes for `commit`.

        Call between units (`NestedUnit` otherwise). Raises `StoreCorrupt` if the rows,
        the block record or the app hash do not agree (nothing in ``executor`` changed then).
        """
        db = self._connection()
        store = executor.store
        if store.depth:  # a programming error: the host attaches between units
            raise NestedUnit()
        try:
            has_block = db.execute("SELECT count(*) FROM sqlite_master WHERE name='block'")
            fresh = has_block.fetchone()[0] == 0
        except sqlite3.DatabaseError as exc:
            raise StoreCorrupt(str(self.path), f"{type(exc).__name__}: {exc}") from exc
        if fresh:
            self._write_base(executor)
            return None
        loaded = self._read()
        for name, ordered in loaded.maps.items():
            existing = store.find(name)
            if existing is not None and existing.ordered != ordered:
                raise StoreCorrupt(
                    str(self.path), f"map {name!r} is {'' if ordered else 'un'}sorted on disk"
                )
        # everything is read and checked: from here on nothing can fail on the file's account
        for name, ordered in loaded.maps.items():
            if store.find(name) is None:
                (SortedJournaledMap if ordered else JournaledMap)(store, name)
        for journaled in store.maps():
            journaled.replace_contents(loaded.contents.get(journaled.name, {}))
        self._digests = loaded.digests
        self._acc = loaded.acc
        self._maps = set(store.names())
        self._app_hash = loaded.app_hash
        self._height = loaded.height
        self._wall = loaded.wall
        store.track_changes()
        # (observers rebuild their caches here; a map one creates joins the next commit)
        executor.restore_block(loaded.height, loaded.time_s, loaded.is_open, loaded.tx_index)
        return loaded.height

    def _read(self) -> _Loaded:
        db = self._connection()
        where = str(self.path)
        try:
            block = db.execute(
                "SELECT height, time, open, tx_index, app_hash, wall FROM block WHERE id = 0"
            ).fetchone()
            maps = {str(name): bool(ordered) for name, ordered in db.execute("SELECT * FROM maps")}
            rows = db.execute("SELECT map, k, key, value FROM entries").fetchall()
        except sqlite3.DatabaseError as exc:
            raise StoreCorrupt(where, f"{type(exc).__name__}: {exc}") from exc
        if block is None:
            raise StoreCorrupt(where, "no committed block")
        contents: dict[str, dict[Any, Any]] = {name: {} for name in maps}
        digests: dict[tuple[str, bytes], int] = {}
        acc = 0
        try:
            for map_name, k, key_data, value_data in rows:
                target = contents.get(map_name)
                if target is None:
                    raise StoreCorrupt(where, f"a row of unknown map {map_name!r}")
                key = _loads(key_data)
                if canonical_bytes(key) != k:
                    raise StoreCorrupt(where, f"a key of {map_name!r} does not match its row")
                value = _loads(value_data)
                digest = _entry_digest(map_name.encode(), k, canonical_bytes(value))
                digests[(map_name, bytes(k))] = digest
                acc += digest
                target[key] = value
            height, time_s, is_open, tx_index, app_hash, wall = block
            acc %= _MOD
            expected = _app_hash(self.chain_id, height, time_s, bool(is_open), tx_index, acc)
        except StoreCorrupt:
            raise
        except Exception as exc:  # unpickling damaged bytes may raise nearly anything
            raise StoreCorrupt(where, f"undecodable row: {type(exc).__name__}: {exc}") from exc
        if expected != app_hash:
            raise StoreCorrupt(where, "app hash mismatch: the rows are not the committed state")
        return _Loaded(
            maps=maps,
            contents=contents,
            digests=digests,
            acc=acc,
            height=int(height),
            time_s=int(time_s),
            is_open=bool(is_open),
            tx_index=int(tx_index),
            app_hash=bytes(app_hash),
            wall=float(wall),
        )

    def _write_base(self, executor: BlockLifecycle) -> None:
        db = self._connection()
        store = executor.store
        digests: dict[tuple[str, bytes], int] = {}
        rows: list[tuple[str, bytes, bytes, bytes]] = []
        acc = 0
        for journaled in store.maps():
            name = journaled.name
            encoded_name = name.encode()
            for key, value in journaled.raw_items():
                k = canonical_bytes(key)
                digest = _entry_digest(encoded_name, k, canonical_bytes(value))
                digests[(name, k)] = digest
                acc += digest
                rows.append((name, k, pickle.dumps(key, _PICKLE), pickle.dumps(value, _PICKLE)))
        acc %= _MOD
        app_hash = _app_hash(
            self.chain_id,
            executor.height,
            executor.time_s,
            executor.block_open,
            executor.tx_index,
            acc,
        )
        wall = time.time()
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _SCHEMA:
                db.execute(statement)
            db.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [
                    ("magic", _MAGIC),
                    ("schema", SCHEMA_VERSION),
                    ("chain_id", self.chain_id.encode()),
                ],
            )
            db.executemany(
                "INSERT INTO maps VALUES (?, ?)",
                [(m.name, int(m.ordered)) for m in store.maps()],
            )
            db.executemany("INSERT INTO entries VALUES (?, ?, ?, ?)", rows)
            db.execute(
                "INSERT INTO block VALUES (0, ?, ?, ?, ?, ?, ?)",
                (
                    executor.height,
                    executor.time_s,
                    executor.block_open,
                    executor.tx_index,
                    app_hash,
                    wall,
                ),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._digests = digests
        self._acc = acc
        self._maps = set(store.names())
        self._app_hash = app_hash
        self._height = executor.height
        self._wall = wall
        store.track_changes()

    # -- committing ----------------------------------------------------------------------

    def commit(self, executor: BlockLifecycle) -> bytes:
        """Write what changed since the last commit, with the block record, in one SQLite
        transaction; return the new app hash.

        Raises ``sqlite3.Error`` / ``OSError`` if the write fails: the transaction is rolled
        back, the noted changes are kept for the next attempt, and the store's idea of the
        committed state is unchanged.
        """
        db = self._connection()
        store = executor.store
        changes = store.take_changes()
        digests = self._digests
        acc = self._acc
        updates: dict[tuple[str, bytes], int | None] = {}
        upserts: list[tuple[str, bytes, bytes, bytes]] = []
        deletes: list[tuple[str, bytes]] = []
        for journaled, keys in changes:
            name = journaled.name
            encoded_name = name.encode()
            get = journaled.get
            for key in keys:
                k = canonical_bytes(key)
                slot = (name, k)
                old = digests.get(slot)
                value = get(key, _ABSENT)
                if value is _ABSENT:
                    if old is None:
                        continue  # written and rolled back (or deleted) since: nothing
                    acc -= old
                    updates[slot] = None
                    deletes.append(slot)
                    continue
                digest = _entry_digest(encoded_name, k, canonical_bytes(value))
                if digest == old:
                    continue  # the same value as committed: nothing to write
                if old is not None:
                    acc -= old
                acc += digest
                updates[slot] = digest
                upserts.append((name, k, pickle.dumps(key, _PICKLE), pickle.dumps(value, _PICKLE)))
        acc %= _MOD
        new_maps: list[tuple[str, int]] = []
        if len(store.names()) != len(self._maps):
            new_maps = [(m.name, int(m.ordered)) for m in store.maps() if m.name not in self._maps]
        height, time_s = executor.height, executor.time_s
        app_hash = _app_hash(
            self.chain_id, height, time_s, executor.block_open, executor.tx_index, acc
        )
        wall = time.time()
        pause = self.pause
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                if new_maps:
                    db.executemany("INSERT INTO maps VALUES (?, ?)", new_maps)
                if pause is None:
                    db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)", upserts)
                    db.executemany("DELETE FROM entries WHERE map = ? AND k = ?", deletes)
                else:
                    for row in upserts:
                        db.execute("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)", row)
                        pause()
                    for slot in deletes:
                        db.execute("DELETE FROM entries WHERE map = ? AND k = ?", slot)
                        pause()
                db.execute(
                    "UPDATE block SET height = ?, time = ?, open = ?, tx_index = ?,"
                    " app_hash = ?, wall = ? WHERE id = 0",
                    (height, time_s, executor.block_open, executor.tx_index, app_hash, wall),
                )
                if pause is not None:
                    pause()
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        except BaseException:
            # keep the noted keys for the next attempt (the maps hold their values)
            store.note_changes(changes)
            raise
        for slot, fresh in updates.items():
            if fresh is None:
                del digests[slot]
            else:
                digests[slot] = fresh
        self._acc = acc
        self._maps.update(name for name, _ in new_maps)
        self._app_hash = app_hash
        self._height = height
        self._wall = wall
        return app_hash

    def close(self) -> None:
        """Close the database (idempotent). Committed blocks stay on disk; a later `commit`
        raises `StoreCorrupt` ("closed")."""
        db, self._db = self._db, None
        if db is not None:
            db.close()


def attach_store(
    executor: BlockLifecycle, path: str | os.PathLike[str], synchronous: str
) -> tuple[DurableStore, int | None]:
    """Open the store at ``path`` for ``executor``'s chain and attach it (`DurableStore.open`
    then `DurableStore.attach`); on success the executor's ``durable`` is the store.
    Returns it with the resumed height (``None``: a new file, the base written).

    Raises only `StoreError`s, the executor then unchanged: `StoreAttached` if it has a
    store already, and what ``open`` / ``attach`` raise, with a file that cannot be opened
    at all (``sqlite3`` or ``OS`` errors) as `StoreCorrupt`. ``ValueError`` for an unknown
    ``synchronous``.
    """
    current = executor.durable
    if current is not None:
        raise StoreAttached(str(current.path))
    where = os.fspath(path)
    try:
        durable = DurableStore.open(path, executor.chain_id, synchronous=synchronous)
    except (StoreError, ValueError):
        raise
    except (sqlite3.Error, OSError) as exc:
        raise StoreCorrupt(where, f"{type(exc).__name__}: {exc}") from exc
    try:
        height = durable.attach(executor)
    except StoreError:
        durable.close()
        raise
    except (sqlite3.Error, OSError) as exc:
        durable.close()
        raise StoreCorrupt(where, f"{type(exc).__name__}: {exc}") from exc
    executor.durable = durable
    return durable, height
