"""How ``auto`` compares, out of sample, with the best single method chosen in hindsight,
on the real spare-parts demand of ../shared/data/intermittent (oil monthly, man weekly).

For each dataset, horizon and hold-out origin: fit on the periods before the origin,
forecast ``horizon`` periods, and score mean RMSSE over the series with demand in the
fitting window (scale: in-sample one-step naive MSE, as in M5). ``auto`` backtests its
candidates on the fitting window only. A window is won when ``auto``'s mean RMSSE is at
or below every single candidate's. Also shown, for comparison: picking per series the one
method with the lowest backtest MSE.

    .venv/bin/python benchmarks/auto_on_real_data.py [--data ../shared/data/intermittent]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import polars as pl

from spareflow.data.periods import Period, demand_matrix
from spareflow.demand.auto import AUTO_ORIGINS, AUTO_STEP, choose, combine, pick
from spareflow.demand.backtest import backtest
from spareflow.demand.methods import AUTO_CANDIDATES, MethodParams, point_forecasts
from spareflow.demand.metrics import naive_scale

# dataset, period, horizon, hold-out origins (index of the first forecast period)
CASES: list[tuple[str, Period, int, list[int]]] = [
    ("oil", "month", 3, [41, 44, 47, 53]),
    ("oil", "month", 6, [38, 42, 46, 50]),
    ("oil", "month", 12, [32, 36, 40, 44]),
    ("man", "week", 4, [120, 130, 140, 146]),
    ("man", "week", 13, [113, 121, 129, 137]),
    ("man", "week", 26, [100, 108, 116, 124]),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/intermittent"))
    args = parser.parse_args()
    schema = {"item_id": pl.String, "date": pl.Date, "quantity": pl.Float64}
    wins = {"auto": 0, "best-per-series": 0}
    gaps: dict[str, list[float]] = {"auto": [], "best-per-series": []}
    print(f"{'case':<16}{'origin':>7}  {'best single':<18}{'auto':>10}{'per-series':>12}")
    for name, period, horizon, origins in CASES:
        path = args.data / f"{name}.csv"
        if not path.exists():
            print(f"skipped: real data not found at {path} (pass --data)", file=sys.stderr)
            return 0
        y = demand_matrix(pl.read_csv(path, schema=schema), period).values
        for origin in origins:
            train, test = y[:, :origin], y[:, origin : origin + horizon]
            forecasts = point_forecasts(train, AUTO_CANDIDATES, MethodParams())
            scale = naive_scale(train)
            keep = np.isfinite(scale) & (np.nan_to_num(train) > 0).any(axis=1)

            def score(f: np.ndarray, keep: np.ndarray = keep, test: np.ndarray = test,
                      scale: np.ndarray = scale) -> float:  # fmt: skip
                err = (f[keep, None] - test[keep]) ** 2
                return float(np.mean(np.sqrt(err.mean(axis=1) / scale[keep])))

            singles = {m: score(f) for m, f in forecasts.items()}
            best = min(singles, key=lambda m: singles[m])
            bt = backtest(train, AUTO_CANDIDATES, horizon, origins=AUTO_ORIGINS, step=AUTO_STEP)
            choice = choose(bt)
            got = {
                "auto": score(combine(forecasts, choice)),
                "best-per-series": score(pick(forecasts, choice.first)),
            }
            for k, v in got.items():
                wins[k] += v <= singles[best]
                gaps[k].append(v / singles[best] - 1.0)
            print(
                f"{name} H{horizon:<12}{origin:>7}  {best:<7}{singles[best]:>11.5f}"
                f"{got['auto'] / singles[best] - 1:>+10.2%}"
                f"{got['best-per-series'] / singles[best] - 1:>+12.2%}"
            )
    n = len(gaps["auto"])
    for k in ("auto", "best-per-series"):
        g = np.asarray(gaps[k])
        print(
            f"{k}: at or below the best single method in {wins[k]} of {n} windows; "
            f"mean {g.mean():+.2%}, worst {g.max():+.2%}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
