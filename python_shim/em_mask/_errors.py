"""Exceptions raised by em_mask."""

from __future__ import annotations

__all__ = ["EmMaskError", "DotnetUnavailableError", "CancelledError"]


class EmMaskError(RuntimeError):
    """A failure reported by the EM Mask core, with the core's one-line message.

    Attributes
    ----------
    kind : str
        ``"argument"`` (a bad parameter or input), ``"format"`` (unreadable data),
        ``"cancelled"``, ``"unavailable"`` (the .NET core or a model is missing) or
        ``"internal"`` (a bug; ``details`` holds the .NET stack trace).
    details : str
        Full .NET exception text for bug reports (may be empty).
    """

    def __init__(self, message: str, kind: str = "internal", details: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.details = details


class DotnetUnavailableError(EmMaskError):
    """The .NET runtime or the built EM Mask core could not be found or started."""

    def __init__(self, message: str, details: str = "") -> None:
        super().__init__(message, "unavailable", details)


class CancelledError(EmMaskError):
    """The call was cancelled through its :class:`~em_mask.CancelToken`."""

    def __init__(self, message: str = "Cancelled.") -> None:
        super().__init__(message, "cancelled")
