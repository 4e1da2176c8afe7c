"""Messages: immutable pydantic models with a stable type name, and the registry codecs use."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

__all__ = ["Message", "MessageRegistry", "Terminated", "construct_trusted"]

M = TypeVar("M", bound=BaseModel)
# the setters of the four per-instance slots every pydantic model has (``__dict__`` and the
# three ``__pydantic_*__`` ones), taken from BaseModel itself: calling a slot's setter is a
# third cheaper than ``object.__setattr__``, which looks the descriptor up on each call
_new = object.__new__
_set_dict = BaseModel.__dict__["__dict__"].__set__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def construct_trusted(cls: type[M], values: dict[str, Any], fields: set[str]) -> M:
    """``cls(**values)`` without validation, for hot paths whose values are already of their
    fields' exact types (what pydantic's ``model_construct`` does, at a fraction of its cost,
    and without copying). ``values`` must name every field and ``fields`` be a fresh set of
    their names: the result then equals the validated construction, fields set included.
    Callers check the types first and take the validating constructor otherwise."""
    model = _new(cls)
    _set_dict(model, values)
    _set_fields_set(model, fields)
    _set_extra(model, None)
    _set_private(model, None)
    return model


class Message(BaseModel):
    """Base class of every message an actor accepts.

    Messages are frozen pydantic models (``extra="forbid"``), so a message cannot change after
    it was sent and a codec can always rebuild it from its fields. Each subclass has a stable
    ``type_name`` that names it on the wire; it defaults to ``module.QualName`` and should be
    set explicitly for anything that crosses processes, so that renaming a class or moving it
    between modules does not break peers::

        class Deposit(Message):
            type_name = "bank.deposit"
            account: str
            amount: int
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)

    type_name: ClassVar[str] = "mesh_actors.Message"

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "type_name" not in cls.__dict__:
            cls.type_name = f"{cls.__module__}.{cls.__qualname__}"


class Terminated(Message):
    """Delivered to every watcher when a watched actor stops (see ``ActorContext.watch``)."""

    type_name = "mesh_actors.Terminated"
    address: str


class MessageRegistry:
    """Maps stable type names to message classes, for codecs.

    A registry is an explicit object the embedder builds (no global registration at import
    time), typically from the message classes of the packages in use::

        registry = MessageRegistry.from_subclasses(Message)
    """

    def __init__(self, classes: Iterable[type[Message]] = ()) -> None:
        self._by_name: dict[str, type[Message]] = {}
        for cls in classes:
            self.register(cls)

    @classmethod
    def from_subclasses(cls, base: type[Message] = Message) -> MessageRegistry:
        """A registry of every concrete subclass of ``base`` defined so far (recursively).

        Classes whose ``type_name`` collides raise ``ValueError``.
        """
        registry = cls()
        stack = list(base.__subclasses__())
        seen: set[type[Message]] = set()
        while stack:
            sub = stack.pop()
            if sub in seen:
                continue
            seen.add(sub)
            stack.extend(sub.__subclasses__())
            # Generic pydantic parametrisations (Foo[int]) share the origin's name; skip them.
            if sub.__pydantic_generic_metadata__.get("origin") is None:
                registry.register(sub)
        return registry

    def register(self, cls: type[Message]) -> type[Message]:
        """Add ``cls``; raise ``ValueError`` if another class already uses its type name."""
        name = cls.type_name
        existing = self._by_name.get(name)
        if existing is not None and existing is not cls:
            raise ValueError(f"type name {name!r} is used by {existing!r} and {cls!r}")
        self._by_name[name] = cls
        return cls

    def get(self, name: str) -> type[Message] | None:
        """The class registered under ``name``, or ``None``."""
        return self._by_name.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)
