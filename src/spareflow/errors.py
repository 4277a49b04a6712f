"""The errors users can cause, each carrying what went wrong and where.

Tree::

    SpareflowError
     +-- InputError        bad data: one or more Fault lines naming file, row, column, value
     +-- ParameterError    a bad option or argument (method name, horizon, alpha ...)
     +-- NotFound          a named file, table or id that does not exist
     +-- Conflict          the request clashes with the current state (duplicate id, ...)
     |    +-- IllegalTransition   an order or work order cannot go from its status to that one
     |    +-- InsufficientStock   a move or reservation would take stock below zero
     +-- Forbidden         the user's role or sites do not allow this

Edges (CLI, API) turn these into exit code 2 with one line per fault, or RFC 9457
problem details; they are never shown as tracebacks.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Fault:
    """One problem in the input: where it is and what is wrong.

    ``row`` is the line number in the file as a spreadsheet shows it (the header is row 1,
    the first data row is row 2); ``None`` when the fault concerns the whole file or column.
    """

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        text = f"{where}: {self.message}"
        if self.value is not None:
            text += f" (got {self.value!r})"
        return text


class SpareflowError(Exception):
    """Root of every error a user can cause."""

    def lines(self) -> list[str]:
        """One human line per fault, for the CLI and logs."""
        return [str(self)]


class InputError(SpareflowError):
    """Input data is invalid; carries every fault found (up to a cap)."""

    def __init__(self, faults: list[Fault], truncated: int = 0) -> None:
        self.faults = list(faults)
        self.truncated = truncated
        super().__init__("; ".join(str(f) for f in self.faults[:3]))

    def lines(self) -> list[str]:
        out = [str(f) for f in self.faults]
        if self.truncated:
            out.append(f"... and {self.truncated} more faults not shown")
        return out


class ParameterError(SpareflowError):
    """An option or argument is out of range or unknown."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(f"{name}: {message}")


class NotFound(SpareflowError):
    """A named file, table or id does not exist."""


class Conflict(SpareflowError):
    """The request clashes with the state of the store (a duplicate id, a reversed move ...).

    ``field`` names the input field at fault where there is one, for API problem details.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class IllegalTransition(Conflict):
    """An order or work order cannot take this step from its current status."""

    def __init__(self, what: str, status: str, action: str, allowed: list[str]) -> None:
        self.status = status
        self.action = action
        options = ", ".join(allowed) if allowed else "none (it is final)"
        super().__init__(
            f"{what} is {status}: cannot {action}; allowed from {status}: {options}",
            field="status",
        )


class InsufficientStock(Conflict):
    """A move or reservation would take available stock below zero."""

    def __init__(self, item_id: str, location_id: str, wanted: str, available: str) -> None:
        self.item_id = item_id
        self.location_id = location_id
        super().__init__(
            f"item {item_id} at {location_id}: {wanted} wanted, only {available} available",
            field="quantity",
        )


class Forbidden(SpareflowError):
    """The user's role or site scope does not allow this action."""
