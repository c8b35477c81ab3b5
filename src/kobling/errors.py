"""The two kinds of trouble a transfer can meet, shared by every layer.

Kobling's promise depends on telling them apart: a *transient* error (the remote is down, slow,
or rate limiting) is retried with back-off and needs nobody; a *permanent* one (a closed period, a
barred product, VAT that does not add up) will fail the same way every time, so the transfer is
held and a person is told the reason and the fix in plain words.
"""

from __future__ import annotations


class TransferProblem(Exception):
    """Base class: a problem with a plain-language reason and, where known, the fix."""

    def __init__(self, reason: str, fix: str = "", *, code: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.fix = fix
        self.code = code

    def __reduce__(self) -> tuple[object, ...]:
        # Keep reason and fix when DBOS pickles the exception into its system database.
        return (self.__class__._rebuild, (self.reason, self.fix, self.code, self._extra()))

    def _extra(self) -> dict[str, object]:
        return {}

    @classmethod
    def _rebuild(
        cls, reason: str, fix: str, code: str, extra: dict[str, object]
    ) -> TransferProblem:
        obj = cls(reason, fix, code=code)
        obj.__dict__.update(extra)
        return obj


class TransientError(TransferProblem):
    """Worth retrying later. ``retry_after`` is the remote's own hint in seconds, if any.

    ``uncertain`` means the request may have been carried out although no answer arrived
    (a timeout or a 5xx after a write): the retry must look the document up before creating it.
    """

    def __init__(
        self,
        reason: str,
        fix: str = "",
        *,
        code: str = "",
        retry_after: float | None = None,
        uncertain: bool = False,
    ) -> None:
        super().__init__(reason, fix, code=code)
        self.retry_after = retry_after
        self.uncertain = uncertain

    def _extra(self) -> dict[str, object]:
        return {"retry_after": self.retry_after, "uncertain": self.uncertain}


class PermanentError(TransferProblem):
    """Retrying will not help: the transfer is held until a person applies the fix."""


class StaleReference(PermanentError):
    """The target no longer knows a record Kobling had bound (a customer deleted or merged).

    The engine forgets the binding, looks the record up (or creates it) again, and retries
    once; only if that fails too is the transfer held.
    """

    def __init__(self, reason: str, fix: str = "", *, code: str = "", kind: str = "") -> None:
        super().__init__(reason, fix, code=code)
        self.kind = kind

    def _extra(self) -> dict[str, object]:
        return {"kind": self.kind}
