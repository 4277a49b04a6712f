"""Reports: self-contained HTML with plotly charts."""

from spareflow.report.html import demand_report

__all__ = ["demand_report"]
