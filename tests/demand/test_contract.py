"""The contract every forecasting method keeps, and the long forecast table.

For every name in ``METHODS``: (series,) float64 output, finite, non-negative on
non-negative input, exactly 0 for a series without demand, unchanged by leading NaN
columns, and the matrix forecast equals forecasting each row alone.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from numpy.typing import NDArray

from spareflow.data.periods import DemandMatrix, period_index
from spareflow.demand.aggregation import imapa
from spareflow.demand.croston import croston, sba
from spareflow.demand.forecast import forecast_blocks, run_forecast
from spareflow.demand.methods import AUTO_CANDIDATES, METHODS, MethodParams, point_forecasts
from spareflow.demand.simple import naive
from spareflow.demand.tsb import tsb
from spareflow.errors import ParameterError

F64 = NDArray[np.float64]
NAN = np.nan
NAMES = sorted(METHODS)
PARAMS = [
    pytest.param(MethodParams(), id="default"),
    pytest.param(MethodParams(alpha_d=0.3, alpha_p=0.15, window=5), id="a0.3-p0.15-w5"),
]


def _panel() -> tuple[F64, list[int]]:
    """Random intermittent series of mixed density and start, plus edge cases.

    Returns the matrix and the rows that never have demand."""
    rng = np.random.default_rng(11)
    n, t = 60, 40
    p = rng.choice([0.05, 0.15, 0.4, 0.8, 1.0], size=(n, 1))
    y = np.where(rng.random((n, t)) < p, np.ceil(rng.lognormal(1.0, 1.0, (n, t))), 0.0)
    start = rng.integers(0, t - 1, n)
    start[:20] = 0
    y[np.arange(t)[None, :] < start[:, None]] = NAN
    extra = np.full((9, t), NAN)
    extra[0] = 0.0  # no demand, whole span
    extra[1, 25:] = 0.0  # no demand, starts late
    extra[2, -1] = 0.0  # one observed period, no demand
    extra[3, -1] = 4.0  # one observed period, with demand
    extra[4, -2:] = [0.0, 3.0]
    extra[5] = 2.5  # constant
    extra[6, 10:] = 0.0
    extra[6, 10] = 9.0  # one demand then a long zero stretch
    extra[7, -3:] = [1e9, 0.0, 2e9]  # large
    extra[8] = np.where(np.arange(t) % 7 == 3, 0.125, 0.0)  # fractional, regular
    return np.vstack([y, extra]), [n, n + 1, n + 2]


Y, ZERO_ROWS = _panel()


def test_panel_is_what_the_contract_needs() -> None:
    assert np.isnan(Y[:, 0]).sum() > 20
    assert not np.isnan(Y[:, -1]).any()
    assert all(not np.nan_to_num(Y[i]).any() for i in ZERO_ROWS)
    nonzero = [i for i in range(Y.shape[0]) if np.nan_to_num(Y[i]).any()]
    assert len(nonzero) + len(ZERO_ROWS) >= Y.shape[0] - 10


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("name", NAMES)
def test_method_contract(name: str, params: MethodParams) -> None:
    f = METHODS[name](Y, params)
    assert isinstance(f, np.ndarray)
    assert f.dtype == np.float64
    assert f.shape == (Y.shape[0],)
    assert np.isfinite(f).all(), f"{name}: non-finite at rows {np.flatnonzero(~np.isfinite(f))}"
    assert (f >= 0.0).all(), f"{name}: negative at rows {np.flatnonzero(f < 0)}"
    np.testing.assert_array_equal(f[ZERO_ROWS], 0.0)
    # a series with demand never forecasts more than its largest demand per period
    peak = np.nanmax(Y, axis=1)
    assert (f <= peak * (1 + 1e-12)).all()


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("name", NAMES)
def test_leading_nan_columns_change_nothing(name: str, params: MethodParams) -> None:
    padded = np.hstack([np.full((Y.shape[0], 13), NAN), Y])
    np.testing.assert_allclose(
        METHODS[name](padded, params), METHODS[name](Y, params), rtol=1e-12, atol=0
    )


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("name", NAMES)
def test_matrix_equals_each_row_alone(name: str, params: MethodParams) -> None:
    together = METHODS[name](Y, params)
    alone = np.array([METHODS[name](Y[i : i + 1], params)[0] for i in range(Y.shape[0])])
    np.testing.assert_allclose(together, alone, rtol=1e-12, atol=0)
    # and alone without its leading NaN (the series as it would be passed on its own)
    trimmed = []
    for row in Y:
        k = int(np.argmax(~np.isnan(row)))
        trimmed.append(METHODS[name](row[None, k:], params)[0])
    np.testing.assert_allclose(together, trimmed, rtol=1e-12, atol=0)


def test_all_zero_matrix_forecasts_zero_for_every_method() -> None:
    z = np.zeros((3, 15))
    z[1, :5] = NAN
    for name in NAMES:
        np.testing.assert_array_equal(METHODS[name](z, MethodParams()), 0.0, err_msg=name)


def test_point_forecasts_shared_passes_equal_the_single_methods() -> None:
    """point_forecasts computes croston+sba and adida+imapa in shared passes."""
    p = MethodParams(alpha_d=0.2)
    together = point_forecasts(Y, NAMES, p)
    assert list(together) == NAMES
    for name in NAMES:
        np.testing.assert_allclose(
            together[name], METHODS[name](Y, p), rtol=1e-12, atol=0, err_msg=name
        )
    np.testing.assert_allclose(
        together["combo"], (sba(Y, 0.2) + tsb(Y, 0.2, 0.1) + imapa(Y)) / 3.0, rtol=1e-12
    )
    np.testing.assert_allclose(together["sba"], 0.95 * croston(Y, 0.2), rtol=1e-15)


def test_method_params_validation() -> None:
    for kwargs in ({"alpha_d": 0.0}, {"alpha_d": 1.5}, {"alpha_p": -0.1}, {"window": 0}):
        with pytest.raises(ParameterError):
            MethodParams(**kwargs)
    MethodParams(alpha_d=1.0, alpha_p=1.0, window=1)


# --------------------------------------------------------------------------- long table


def _monthly_demand() -> pl.DataFrame:
    """Three items, Jan 2023 .. Dec 2024 (24 months); rows only where there is demand."""
    rng = np.random.default_rng(3)
    rows = []
    for item, p in (("P-100", 0.6), ("P-200", 0.25), ("P-300", 0.1)):
        for k in range(24):
            if rng.random() < p or (item == "P-300" and k in (4, 17)):
                rows.append(
                    (
                        item,
                        date(2023 + k // 12, k % 12 + 1, 1 + int(rng.integers(0, 27))),
                        float(rng.integers(1, 6)),
                    )
                )
    rows.append(("P-100", date(2024, 12, 31), 2.0))  # last day of the last month
    return pl.DataFrame(
        rows, schema={"item_id": pl.String, "date": pl.Date, "quantity": pl.Float64}, orient="row"
    )


NEXT_MONTHS = [
    date(2025, 1, 1),
    date(2025, 2, 1),
    date(2025, 3, 1),
    date(2025, 4, 1),
    date(2025, 5, 1),
]


def test_table_long_format() -> None:
    demand = _monthly_demand()
    methods = ["sba", "tsb", "naive"]
    h = 5
    res = run_forecast(demand, methods, horizon=h, period="month")
    t = res.table()
    assert t.columns == ["item_id", "step", "date", "method", "forecast"]
    assert t.height == 3 * len(methods) * h
    assert t["item_id"].dtype == pl.String
    assert t["date"].dtype == pl.Date
    # dates are the months after the last one (Dec 2024), first of month, step k -> month k
    assert sorted(set(t["date"].to_list())) == NEXT_MONTHS
    for step, day in zip(t["step"].to_list(), t["date"].to_list(), strict=True):
        assert day == NEXT_MONTHS[step - 1]
    # one row per series x method x step
    assert t.select("item_id", "method", "step").n_unique() == t.height
    assert sorted(set(t["method"].cast(pl.String).to_list())) == sorted(methods)
    # the forecast is the kernel's, the same at every step
    y = res.matrix.values
    assert y.shape == (3, 24)
    expected = {"sba": sba(y), "tsb": tsb(y), "naive": naive(y)}
    items = res.matrix.keys["item_id"].to_list()
    assert items == ["P-100", "P-200", "P-300"]
    for row in t.iter_rows(named=True):
        i = items.index(row["item_id"])
        assert row["forecast"] == pytest.approx(expected[str(row["method"])][i], rel=1e-15, abs=0)


def test_table_with_uncertainty_and_quantiles() -> None:
    demand = _monthly_demand()
    t_var = run_forecast(demand, ["sba", "imapa"], horizon=2, uncertainty=True).table()
    assert t_var.columns == ["item_id", "step", "date", "method", "forecast", "variance"]
    assert t_var.height == 3 * 2 * 2
    assert (t_var["variance"] >= 0).all()
    assert (t_var["variance"] > 0).any()

    t_q = run_forecast(demand, ["sba", "imapa"], horizon=2, levels=[0.5, 0.9, 0.975]).table()
    assert t_q.columns == [
        "item_id",
        "step",
        "date",
        "method",
        "forecast",
        "variance",
        "q50",
        "q90",
        "q97.5",
    ]
    q = t_q.select("q50", "q90", "q97.5").to_numpy()
    assert (q >= 0).all()
    assert (np.diff(q, axis=1) >= 0).all()
    assert (q[:, -1] > 0).any()
    # whole-unit demand gives whole-unit quantiles
    np.testing.assert_array_equal(q, np.ceil(q))


def _check_auto_table(methods: list[str]) -> None:
    demand = _monthly_demand()
    h = 3
    res = run_forecast(demand, methods, horizon=h)
    t = res.table()
    assert t.columns == ["item_id", "step", "date", "method", "forecast", "auto_method"]
    assert t.height == 3 * len(methods) * h
    assert t["auto_method"].dtype == pl.String
    auto_rows = t.filter(pl.col("method").cast(pl.String) == "auto")
    other = t.filter(pl.col("method").cast(pl.String) != "auto")
    assert auto_rows.height == 3 * h
    assert other["auto_method"].null_count() == other.height
    assert auto_rows["auto_method"].null_count() == 0
    for label in auto_rows["auto_method"].to_list():
        assert set(label.split("+")) <= set(AUTO_CANDIDATES)
    # the auto forecast lies between the forecasts of the (one or two) methods it names
    y = res.matrix.values
    every = point_forecasts(y, AUTO_CANDIDATES, MethodParams())
    items = res.matrix.keys["item_id"].to_list()
    assert res.auto_method is not None
    for row in auto_rows.iter_rows(named=True):
        i = items.index(row["item_id"])
        parts = [every[m][i] for m in row["auto_method"].split("+")]
        assert min(parts) * (1 - 1e-12) <= row["forecast"] <= max(parts) * (1 + 1e-12)
        assert row["auto_method"] == res.auto_method[i]


def test_table_auto_adds_auto_method() -> None:
    _check_auto_table(["auto", "sba"])


def test_table_auto_after_another_method() -> None:
    # the README's own example order: sd.forecast(m, ["sba", "tsb", "auto"]).table()
    _check_auto_table(["sba", "tsb", "auto"])


def test_table_weekly_dates_and_two_keys() -> None:
    first_monday = date(2024, 1, 1)
    values = np.array(
        [[0, 1, 0, 0, 2, 0, 0, 1, 0, 3], [NAN, NAN, NAN, 1, 1, 0, 2, 0, 1, 1]], dtype=np.float64
    )
    m = DemandMatrix(
        keys=pl.DataFrame({"item_id": ["A", "A"], "site_id": ["S1", "S2"]}),
        values=values,
        period="week",
        first=period_index(first_monday, "week"),
    )
    t = run_forecast(m, ["croston", "ma"], horizon=4, period="week").table()
    assert t.columns == ["item_id", "site_id", "step", "date", "method", "forecast"]
    assert t.height == 2 * 2 * 4
    # 10 weeks from Mon 2024-01-01: the last is Mon 2024-03-04, the next Mon 2024-03-11
    expected = [date(2024, 3, 11) + timedelta(weeks=k) for k in range(4)]
    assert sorted(set(t["date"].to_list())) == expected
    assert all(d.weekday() == 0 for d in t["date"].to_list())
    ma = t.filter((pl.col("method").cast(pl.String) == "ma") & (pl.col("site_id") == "S2"))[
        "forecast"
    ]
    # moving average, window 12 > 7 observed weeks: (1+1+0+2+0+1+1)/7
    np.testing.assert_allclose(ma.to_numpy(), 6 / 7, rtol=1e-15)


@pytest.mark.parametrize("levels", [(), (0.5, 0.9)])
def test_forecast_blocks_equal_one_run(levels: tuple[float, ...]) -> None:
    y, _ = _panel()
    keys = pl.DataFrame({"item_id": [f"P{i}" for i in range(y.shape[0])]})
    matrix = DemandMatrix(
        keys=keys, values=y, period="month", first=period_index(date(2023, 1, 1), "month")
    )
    methods = ["croston", "sba", "tsb", "adida", "imapa", "ma"]
    whole = run_forecast(matrix, methods, 4, levels=levels).table()
    blocks = list(forecast_blocks(matrix, methods, 4, levels=levels, series_per_block=13))
    assert len(blocks) == -(-y.shape[0] // 13)
    parts = [part for b in blocks for part in b.table_parts(rows_per_part=50)]
    assert len(parts) > len(blocks)
    assert pl.concat(parts).equals(whole)
    categorical = pl.concat([p for b in blocks for p in b.table_parts(categorical=True)])
    assert categorical.with_columns(pl.col("item_id").cast(pl.String)).equals(whole)


def test_forecast_blocks_with_auto_is_one_block() -> None:
    y, _ = _panel()
    keys = pl.DataFrame({"item_id": [f"P{i}" for i in range(y.shape[0])]})
    matrix = DemandMatrix(
        keys=keys, values=y, period="month", first=period_index(date(2023, 1, 1), "month")
    )
    blocks = list(forecast_blocks(matrix, ["sba", "auto"], 3, series_per_block=10))
    assert len(blocks) == 1
    assert blocks[0].table().equals(run_forecast(matrix, ["sba", "auto"], 3).table())
