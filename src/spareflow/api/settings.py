"""API settings, read from the environment once, at the edge (never at import)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from spareflow.errors import ParameterError
from spareflow.store.session import database_url


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ParameterError(name, f"an integer, got {raw!r}") from exc
    if not low <= value <= high:
        raise ParameterError(name, f"between {low} and {high}, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    """What the API needs to run; ``from_env`` reads ``SPAREFLOW_*`` variables."""

    database_url: str = field(default_factory=database_url)
    token_minutes: int = 60
    max_page_size: int = 500
    max_body_bytes: int = 1_048_576
    max_bulk_body_bytes: int = 33_554_432  # POST /moves/bulk: up to 50,000 moves
    secret_key: str | None = None  # None: generated once and kept in the store
    login_failures_allowed: int = 5  # per username per 5 minutes
    tariff_path: str | None = None  # LTL class-rate tariff (JSON); None: the SAMPLE tariff

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            database_url=database_url(),
            token_minutes=_int("SPAREFLOW_TOKEN_MINUTES", 60, 1, 24 * 60),
            max_page_size=_int("SPAREFLOW_MAX_PAGE_SIZE", 500, 1, 10_000),
            max_body_bytes=_int("SPAREFLOW_MAX_BODY_BYTES", 1_048_576, 1024, 1 << 30),
            max_bulk_body_bytes=_int("SPAREFLOW_MAX_BULK_BODY_BYTES", 33_554_432, 1024, 1 << 31),
            secret_key=os.environ.get("SPAREFLOW_SECRET_KEY") or None,
            tariff_path=os.environ.get("SPAREFLOW_TARIFF") or None,
        )
