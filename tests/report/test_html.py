"""The report stays light for large plans: the ADI/CV² scatter draws a seeded sample."""

from __future__ import annotations

import numpy as np
import polars as pl

from spareflow.report.html import SCATTER_POINTS, _adi_cv2_chart


def _classes(n: int) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    cls = rng.choice(["smooth", "erratic", "intermittent", "lumpy", "none"], n)
    return pl.DataFrame(
        {
            "item_id": [f"P{i}" for i in range(n)],
            "site_id": "S1",
            "adi": rng.uniform(1, 5, n),
            "cv2": rng.uniform(0, 2, n),
            "demand_class": cls,
        }
    )


def test_scatter_draws_a_sample_but_counts_everything() -> None:
    classes = _classes(SCATTER_POINTS * 2)
    fig = _adi_cv2_chart(classes)
    drawn = sum(len(t.x) for t in fig.data)
    assert drawn == SCATTER_POINTS
    counted = sum(int(t.name.split("(")[1].rstrip(")").replace(",", "")) for t in fig.data)
    assert counted == int((classes["demand_class"] != "none").sum())
    assert "random 20,000 of" in fig.layout.title.text
    # the same sample every time
    again = _adi_cv2_chart(classes)
    assert list(again.data[0].x) == list(fig.data[0].x)


def test_small_scatter_draws_every_series() -> None:
    classes = _classes(500)
    fig = _adi_cv2_chart(classes)
    assert sum(len(t.x) for t in fig.data) == int((classes["demand_class"] != "none").sum())
    assert "random" not in fig.layout.title.text
