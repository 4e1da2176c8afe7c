"""Errors of the `Mesh` embedder API (not of any chain: those are the chains' own errors,
returned in `TxResult`\\ s)."""

from __future__ import annotations

from chains.contract._errors import ChainError

__all__ = [
    "InvalidArgument",
    "MeshError",
    "MeshNotRunning",
    "MeshSetupFailed",
    "UnknownChain",
    "UnknownPairing",
    "UnknownValidator",
]


class MeshError(ChainError):
    """Base of the mesh API's own errors."""


class UnknownChain(MeshError):
    """No chain of the topology has this id."""

    fields = ("chain_id",)
    chain_id: str

    def __init__(self, chain_id: str) -> None:
        super().__init__(chain_id)


class UnknownPairing(MeshError):
    """The topology has no pairing ``provider → consumer``."""

    fields = ("provider", "consumer")
    provider: str
    consumer: str

    def __init__(self, provider: str, consumer: str) -> None:
        super().__init__(provider, consumer)


class UnknownValidator(MeshError):
    """``chain_id`` has no validator of that name (or operator address)."""

    fields = ("chain_id", "validator")
    chain_id: str
    validator: str

    def __init__(self, chain_id: str, validator: str) -> None:
        super().__init__(chain_id, validator)


class MeshNotRunning(MeshError):
    """The mesh was used before ``async with`` entered it, or after it closed."""


class MeshSetupFailed(MeshError):
    """Starting the mesh failed at ``step`` (deployment, channel opening, authorization);
    ``detail`` says why. Everything started so far has been shut down."""

    fields = ("step", "detail")
    step: str
    detail: str

    def __init__(self, step: str, detail: str) -> None:
        super().__init__(step, detail)


class InvalidArgument(MeshError, ValueError):
    """An argument of a `Mesh` method is not a valid value (a negative or non-integer
    amount, a malformed price, an unknown misbehaviour kind): nothing was submitted.
    ``operation`` is the method, ``detail`` what is wrong; the validation error that found
    it (pydantic's, or a decimal parse error) is chained as ``__cause__``. Also a
    ``ValueError``, so code that caught the builtin keeps working."""

    fields = ("operation", "detail")
    operation: str
    detail: str

    def __init__(self, operation: str, detail: str) -> None:
        super().__init__(operation, detail)
