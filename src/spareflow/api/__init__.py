"""The REST API (FastAPI): master data, moves, orders, work orders, KPIs and plan runs."""

from spareflow.api.app import create_app
from spareflow.api.settings import Settings

__all__ = ["Settings", "create_app"]
