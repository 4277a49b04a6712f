"""Seeded generator of a realistic spare-parts planning dataset (pure computation, no I/O).

Generative model, in order:

1. Items: a truncated log-normal unit cost (0.30 to 25,000, stratified draws) picks a part
   family (O-ring ... spindle) that sets description, weight and volume; criticality is drawn
   15/35/50 %, repairability rises with cost. A speed score (cheap parts fast) drives where and
   how often parts move.
2. Sites: one central warehouse ``DC01`` resupplying service sites ``S02``...; every item is
   stocked at the warehouse and the fastest 80 % of (item, service site) pairs at the service site.
3. Monthly demand per item-site: a target Syntetos-Boylan-Croston class (by speed rank: smooth,
   erratic; then intermittent, lumpy; a few dead) sets the chance that a month has demand and
   the size spread: ``base + Poisson(mu * trend * season * lognormal(sigma))``. Some smooth
   series are seasonal, all have a mild trend, a few % die out in the last year; new parts start
   at their introduction date, and ~2 % of items are superseded: the successor takes the
   predecessor's demand from a switch date on. Each month's quantity is split into order lines
   on random days. Warehouse demand is its own customers' (replenishments of service sites are
   not demand rows). Stock, sourcing and fill-rate targets are derived from these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl
from scipy.special import ndtr, ndtri

from spareflow.errors import ParameterError

DEMO_END = date(2026, 10, 31)

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]

# family, typical unit cost, typical weight kg, density kg/m3, variants
_FAMILIES: tuple[tuple[str, float, float, float, tuple[str, ...]], ...] = (
    ("O-ring", 0.5, 0.004, 1200, ("20x2 NBR", "32x2.5 NBR", "45x3 FKM", "60x3.5 EPDM")),
    ("Hex bolt", 0.9, 0.03, 7800, ("M8x30 8.8", "M10x40 8.8", "M12x50 10.9", "M16x60 10.9")),
    ("Fuse", 2.0, 0.01, 2000, ("6A gG", "10A gG", "16A aM", "32A gG")),
    ("Gasket", 5.0, 0.05, 1500, ("DN25 PTFE", "DN50 graphite", "DN80 PTFE", "DN100 aramid")),
    ("V-belt", 12.0, 0.3, 1100, ("SPA 1250", "SPZ 1000", "XPB 1600", "SPB 2000")),
    ("Filter cartridge", 20.0, 0.4, 300, ("10 micron", "25 micron", "oil HF-150", "air P-500")),
    ("Bearing", 35.0, 0.25, 7800, ("6204-2RS", "6205-2Z", "6308-2RS", "22212 E", "NU 2210")),
    ("Relay", 45.0, 0.1, 1500, ("24VDC 2CO", "230VAC 4CO", "safety 3NO")),
    ("Proximity sensor", 70.0, 0.08, 2500, ("M12 PNP", "M18 NPN", "M30 PNP")),
    ("Seal kit", 110.0, 0.2, 1200, ("cylinder 50/32", "pump HP-40", "valve DN50")),
    ("Contactor", 160.0, 0.5, 1800, ("9A 24VDC", "25A 230VAC", "65A 230VAC")),
    ("Solenoid valve", 280.0, 0.9, 3000, ("1/4in 24VDC", "1/2in 230VAC", "NG6 24VDC")),
    ("Pressure transmitter", 450.0, 0.3, 3000, ("0-10 bar", "0-250 bar", "0-400 bar")),
    ("PLC module", 800.0, 0.4, 700, ("CPU 1515", "DI 32x24VDC", "AO 8xU/I")),
    ("Control board", 1300.0, 0.6, 600, ("main PCB rev 3", "I/O PCB", "power PCB")),
    ("Electric motor", 1800.0, 25.0, 3500, ("0.75kW IE3", "4kW IE3", "11kW IE4")),
    ("Frequency inverter", 2600.0, 6.0, 800, ("2.2kW", "7.5kW", "22kW")),
    ("Hydraulic pump", 4200.0, 35.0, 4500, ("A10VSO 28", "A10VSO 45", "gear 16cc")),
    ("Gearbox", 7500.0, 120.0, 4000, ("i=20 helical", "i=40 worm", "planetary i=10")),
    ("Compressor", 11000.0, 150.0, 1500, ("screw 7.5kW", "piston 3kW")),
    ("Spindle assembly", 18000.0, 60.0, 5000, ("HSK-A63", "SK40 12k rpm")),
)
_CITIES: tuple[tuple[str, float, float], ...] = (
    ("Central warehouse Venlo", 51.37, 6.17),
    ("Service Hamburg", 53.55, 9.99),
    ("Service Lyon", 45.76, 4.84),
    ("Service Milan", 45.46, 9.19),
    ("Service Madrid", 40.42, -3.70),
    ("Service Warsaw", 52.23, 21.01),
    ("Service Vienna", 48.21, 16.37),
    ("Service Birmingham", 52.49, -1.89),
    ("Service Gothenburg", 57.71, 11.97),
    ("Service Brno", 49.20, 16.61),
    ("Service Porto", 41.15, -8.61),
    ("Service Munich", 48.14, 11.58),
)
_CRITICALITY = ("high", "medium", "low")
# target class shares among item-sites: smooth, erratic, intermittent, lumpy, dead
# per class: ADI range, median / min / max of mu, sigma range; smooth and erratic sizes are
# Poisson(mu * noise), intermittent and lumpy 1 + Poisson(mu * noise), dead never occurs
_CLASS = np.array(
    [
        [1.0, 1.04, 10.0, 5.0, 600.0, 0.1, 0.3],  # smooth
        [1.0, 1.06, 8.0, 4.0, 400.0, 0.9, 1.3],  # erratic
        [1.6, 9.0, 0.3, 0.0, 1.0, 0.1, 0.3],  # intermittent
        [1.6, 7.0, 5.0, 1.0, 100.0, 1.2, 1.7],  # lumpy
        [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0],  # dead
    ]
)
_SHARE_DEAD, _SHARE_FAST, _SHARE_ERRATIC_OF_FAST, _SHARE_LUMPY_OF_SLOW = 0.015, 0.36, 0.42, 0.55


@dataclass(frozen=True, slots=True)
class _Calendar:
    start: Ints  # day number (days since 1970-01-01) of each month's first day, months + 1 entries
    avail: Ints  # days of each month inside the history
    moy: Ints  # month of year 1..12


@dataclass(frozen=True, slots=True)
class _Items:
    logc: Floats
    fam: Ints
    crit: Ints
    repairable: Bools
    speed: Floats  # rank in [0, 1), 1 = fastest
    pred: Ints  # superseded items ...
    succ: Ints  # ... and their successors
    first: Ints  # first month index with demand allowed
    first_day: Ints  # first day of month allowed in that month
    stop: Ints  # month index from which demand stops


def _calendar(end: date, months: int) -> _Calendar:
    last = np.datetime64(end, "M")
    ms = (last - (months - 1) + np.arange(months + 1)).astype("datetime64[D]")
    start = ms.astype(np.int64)
    avail = np.diff(start)
    avail[-1] = min(int(avail[-1]), end.day)
    moy = (ms[:-1].astype("datetime64[M]").astype(np.int64) % 12 + 1).astype(np.int64)
    return _Calendar(start, avail, moy)


def _ids(prefix: str, numbers: Ints, width: int) -> pl.Series:
    s = pl.Series("n", numbers).cast(pl.String).str.zfill(width)
    return pl.select(pl.concat_str(pl.lit(prefix), s)).to_series()


def _pick_day(rng: np.random.Generator, month: Ints, cal: _Calendar) -> Ints:
    span = np.minimum(20, cal.avail[month])
    day: Ints = 1 + np.floor(rng.random(month.size) * span).astype(np.int64)
    return day


def _truncated_normal(
    rng: np.random.Generator, mean: float, sd: float, lo: float, hi: float, n: int
) -> Floats:
    """Stratified draws (one per n-quantile, shuffled): stable percentiles for any seed."""
    u = (rng.permutation(n) + rng.random(n)) / n
    a, b = ndtr((lo - mean) / sd), ndtr((hi - mean) / sd)
    x: Floats = mean + sd * ndtri(a + u * (b - a))
    return x


def _make_items(rng: np.random.Generator, n: int, cal: _Calendar) -> tuple[_Items, pl.DataFrame]:
    months = cal.moy.size
    logc = _truncated_normal(rng, np.log(35.0), 2.3, np.log(0.3), np.log(25000.0), n)
    fam_cost = np.log([f[1] for f in _FAMILIES])
    fam = np.abs(logc[:, None] + rng.normal(0, 0.35, n)[:, None] - fam_cost).argmin(1)
    crit = rng.choice(3, n, p=[0.15, 0.35, 0.50])
    p_rep = 0.85 / (1 + np.exp(-(logc - np.log(600.0)) / 0.8))
    repairable = rng.random(n) < p_rep
    z = -0.75 * (logc - logc.mean()) / max(float(logc.std()), 1e-9) + 0.66 * rng.standard_normal(n)
    speed = np.argsort(np.argsort(z)) / n
    k = round(0.02 * n) if n >= 4 else 0
    perm = rng.permutation(n)
    pred, succ = perm[:k], perm[k : 2 * k]
    k_new = max(round(0.05 * n) - k, 0)
    new = perm[2 * k : 2 * k + k_new]
    # successors are a revision of their predecessor and take over its demand from a switch date
    for a in (fam, crit, repairable, speed):
        a[succ] = a[pred]
    logc[succ] = logc[pred] + np.log(rng.uniform(1.0, 1.25, k))
    first, first_day, stop = np.zeros(n, np.int64), np.ones(n, np.int64), np.full(n, months)
    lo = min(max(1, months // 3), months - 1)
    sw = rng.integers(lo, max(lo, months - 1 - months // 6) + 1, k)
    first[succ], first_day[succ], stop[pred] = sw, _pick_day(rng, sw, cal), sw
    im = rng.integers(months // 6, max(months // 6 + 1, months - 2), k_new)
    first[new], first_day[new] = im, _pick_day(rng, im, cal)
    it = _Items(logc, fam, crit, repairable, speed, pred, succ, first, first_day, stop)
    return it, _items_frame(rng, it, cal, new)


def _items_frame(rng: np.random.Generator, it: _Items, cal: _Calendar, new: Ints) -> pl.DataFrame:
    n = it.logc.size
    cost = np.round(np.exp(it.logc), 2)
    names = [f"{f[0]} {v}" for f in _FAMILIES for v in f[4]]
    nvar = np.array([len(f[4]) for f in _FAMILIES])
    offset = np.concatenate([[0], np.cumsum(nvar)[:-1]])
    var = np.floor(rng.random(n) * nvar[it.fam]).astype(np.int64)
    var[it.succ] = var[it.pred]
    desc = pl.Series("d", names).gather(offset[it.fam] + var)
    desc = desc.scatter(it.succ, desc.gather(it.pred) + " (rev. B)")
    fam_cost, fam_w, dens = (np.array([f[i] for f in _FAMILIES]) for i in (1, 2, 3))
    ratio = np.exp(it.logc) / fam_cost[it.fam]
    weight = fam_w[it.fam] * ratio**0.6 * rng.lognormal(0, 0.3, n)
    volume = weight / dens[it.fam] * rng.lognormal(0, 0.2, n)
    ids = _ids("P", np.arange(1, n + 1), max(6, len(str(n))))
    replaced = pl.Series("r", [None] * n, pl.String).scatter(it.pred, ids.gather(it.succ))
    has = np.concatenate([it.succ, new])
    intro = pl.Series("i", [None] * n, pl.Int32).scatter(
        has, (cal.start[it.first[has]] + it.first_day[has] - 1).astype(np.int32)
    )
    return pl.DataFrame(
        {
            "item_id": ids,
            "unit_cost": cost,
            "description": desc,
            "criticality": pl.Series(_CRITICALITY).gather(it.crit),
            "repairable": it.repairable,
            "unit_weight_kg": np.maximum(np.round(weight, 3), 0.001),
            "unit_volume_m3": np.maximum(np.round(volume, 6), 1e-6),
            "replaced_by": replaced,
            "introduction_date": intro.cast(pl.Date),
        }
    )


def _sites_frame(sites: int) -> pl.DataFrame:
    idx = np.arange(sites)
    city = [_CITIES[0]] + [_CITIES[1 + (i - 1) % (len(_CITIES) - 1)] for i in range(1, sites)]
    rnd = (idx - 1) // (len(_CITIES) - 1)  # cities re-used for large networks: shift a bit
    shift = np.where(idx > 0, 0.15 * rnd, 0.0)
    return pl.DataFrame(
        {
            "site_id": ["DC01"] + [f"S{i + 1:02d}" for i in range(1, sites)],
            "name": [c[0] + (f" {r + 1}" if r > 0 else "") for c, r in zip(city, rnd, strict=True)],
            "kind": ["warehouse"] + ["service"] * (sites - 1),
            "parent_site_id": pl.Series([None] + ["DC01"] * (sites - 1), dtype=pl.String),
            "latitude": np.round([c[1] for c in city] + shift, 4),
            "longitude": np.round([c[2] for c in city] + shift, 4),
        }
    )


def _stocking(
    rng: np.random.Generator, speed: Floats, succ: Ints, pred: Ints, sites: int
) -> tuple[Ints, Ints]:
    """(item, site) index pairs stocked: the warehouse all, service sites the faster 80 %."""
    n = speed.size
    mask = np.zeros((n, sites), bool)
    mask[:, 0] = True
    if sites > 1:
        site_effect = rng.uniform(-0.1, 0.1, sites - 1)
        score = speed[:, None] + 0.5 * rng.random((n, sites - 1)) + site_effect
        keep = round(0.8 * n * (sites - 1))
        flat = np.zeros(score.size, bool)
        flat[np.argsort(-score, axis=None, kind="stable")[:keep]] = True
        mask[:, 1:] = flat.reshape(n, sites - 1)
    mask[succ] = mask[pred]
    item, site = np.nonzero(mask)
    return item.astype(np.int64), site.astype(np.int64)


def _monthly(rng: np.random.Generator, it: _Items, item: Ints, site: Ints, cal: _Calendar) -> Ints:
    """Monthly demand quantities, shape (item-sites, months)."""
    n, months = item.size, cal.moy.size
    s = it.speed[item] + 0.3 * rng.standard_normal(n) + 0.1 * (site == 0)
    rank = np.argsort(np.argsort(-s)) / n
    u = rng.random(n)
    fast = rank < _SHARE_FAST
    cls = np.where(fast, (u < _SHARE_ERRATIC_OF_FAST).astype(int), 2 + (u < _SHARE_LUMPY_OF_SLOW))
    cls[rng.random(n) < _SHARE_DEAD] = 4
    lo_adi, hi_adi, med, lo_mu, hi_mu, lo_sd, hi_sd = _CLASS[cls].T
    p = np.where(cls == 4, 0.0, 1 / rng.uniform(lo_adi, hi_adi))
    cheap = np.clip(np.exp(-0.3 * (it.logc[item] - np.log(40.0))), 0.3, 4.0)
    mu = np.clip(rng.lognormal(np.log(med), 0.6) * cheap, lo_mu, hi_mu)
    sigma = rng.uniform(lo_sd, hi_sd)
    base = (cls >= 2).astype(np.int64)
    amp = np.where((cls == 0) & (rng.random(n) < 0.4), rng.uniform(0.15, 0.4, n), 0.0)
    t = np.arange(months)
    trend = np.exp(np.outer(rng.normal(0, 0.08, n), (t - (months - 1) / 2) / 12))
    season = 1 + amp[:, None] * np.cos(2 * np.pi * (cal.moy - rng.integers(1, 13, n)[:, None]) / 12)
    noise = np.exp(sigma[:, None] * rng.standard_normal((n, months)) - sigma[:, None] ** 2 / 2)
    q = base[:, None] + rng.poisson(mu[:, None] * trend * season * noise)
    occurs = rng.random((n, months)) < np.clip(p[:, None] * trend, 0, 1)
    q = np.where(occurs, np.maximum(q, 1), 0).astype(np.int64)
    # successors continue their predecessor's series at the same site
    row = np.full((it.speed.size, int(site.max()) + 1), -1, np.int64)
    row[item, site] = np.arange(n)
    rs, rp = row[it.succ].ravel(), row[it.pred].ravel()
    ok = (rs >= 0) & (rp >= 0)
    q[rs[ok]] = q[rp[ok]]
    stop = it.stop[item].copy()
    dies = (rng.random(n) < 0.04) & (months >= 13)
    stop[dies] = np.minimum(stop[dies], rng.integers(max(months - 12, 1), months, dies.sum()))
    q[(t < it.first[item][:, None]) | (t >= stop[:, None])] = 0
    return q


def _transactions(
    rng: np.random.Generator, q: Ints, it: _Items, item: Ints, cal: _Calendar
) -> tuple[Ints, Ints, Floats]:
    """Split monthly quantities into order lines: (item-site row, day number, quantity)."""
    n, months = int(q.shape[0]), int(q.shape[1])
    cell = np.flatnonzero(q)
    r, m, qty = cell // months, cell % months, q.ravel()[cell]
    split = rng.uniform(0.05, 0.4, n)[r]
    lines = np.minimum(1 + rng.binomial(qty - 1, split), 25)
    owner = np.repeat(np.arange(cell.size), lines)
    w = rng.exponential(size=owner.size)
    share = w / np.bincount(owner, w, cell.size)[owner]
    part = 1 + np.floor(share * (qty - lines)[owner]).astype(np.int64)
    first = np.cumsum(lines) - lines
    part[first] += qty - np.bincount(owner, part, cell.size).astype(np.int64)
    lo = np.where(m == it.first[item[r]], it.first_day[item[r]], 1)[owner]
    hi = cal.avail[m][owner]
    day = lo + np.floor(rng.random(owner.size) * np.maximum(hi - lo + 1, 1)).astype(np.int64)
    return r[owner], cal.start[m][owner] + day - 1, part.astype(np.float64)


def _stock_and_sourcing(
    rng: np.random.Generator, it: _Items, item: Ints, site: Ints, q: Ints, ids: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame]:
    n = item.size
    dc = site == 0
    cost = np.exp(it.logc[item])
    rate = q[:, -12:].mean(1)
    cover = rng.lognormal(np.log(np.where(dc, 3.0, 1.8)), 0.5, n)
    on_hand = rng.poisson(rate * cover + np.where(dc, 1.2, 0.6) * (rate < 1))
    insurance = (it.crit[item] == 0) & (rng.random(n) < 0.7)
    on_hand = np.where(insurance, np.maximum(on_hand, 1), on_hand)
    on_hand[rng.random(n) < 0.05] = 0
    pack_item = np.where(
        (np.exp(it.logc) < 5) & (rng.random(it.logc.size) < 0.6)
        | (np.exp(it.logc) < 20) & (rng.random(it.logc.size) < 0.15),
        rng.choice([5, 10, 50], it.logc.size, p=[0.5, 0.35, 0.15]),
        1,
    )
    lot = pack_item[item]
    moq = np.where(dc, lot * rng.choice([1, 1, 2, 5], n), lot)
    pending = (rng.random(n) < 0.12 + 0.2 * (rate > 1)) & (rate > 0)
    need = np.maximum(rate * rng.uniform(1, 3, n), moq)
    on_order = np.where(pending, np.ceil(need / lot) * lot, 0)
    backorders = np.where(
        (on_hand == 0) & (rate > 0) & (rng.random(n) < 0.3), 1 + rng.poisson(0.3 * rate), 0
    )
    stock = ids.with_columns(
        on_hand=on_hand.astype(np.float64),
        on_order=on_order.astype(np.float64),
        backorders=backorders.astype(np.float64),
    )
    sup_lt = 14 * (cost / 10) ** 0.25 * np.where(it.repairable[item], 1.4, 1.0)
    sup_lt = np.clip(np.round(sup_lt * rng.lognormal(0, 0.35, n)), 7, 180)
    ship = rng.integers(2, 8, int(site.max()) + 1)[site] + rng.integers(0, 3, n)
    lt = np.where(dc, sup_lt, np.clip(ship, 2, 10)).astype(np.float64)
    supplier = _ids("SUP", it.fam[item] * 3 + rng.integers(1, 4, n), 3)
    site_rate = rng.uniform(0.21, 0.29, int(site.max()) + 1)[site]
    sourcing = ids.with_columns(
        lead_time_days=lt,
        lead_time_sd_days=np.round(lt * rng.uniform(0.1, 0.3, n), 1),
        order_cost=np.round(np.where(dc, rng.uniform(40, 150, n), rng.uniform(25, 60, n)), 2),
        holding_rate=np.round(np.clip(site_rate + rng.normal(0, 0.01, n), 0.2, 0.3), 3),
        moq=moq.astype(np.float64),
        lot_size=lot.astype(np.float64),
        supplier_id=pl.when(pl.Series(dc)).then(supplier).otherwise(pl.lit("DC01")),
    )
    return stock, sourcing


def _targets(rng: np.random.Generator, items: pl.DataFrame, stock: pl.DataFrame) -> pl.DataFrame:
    Row = tuple[str | None, str | None, float, str | None]
    rows: list[Row] = [
        (None, c, f, None) for c, f in zip(_CRITICALITY, (0.98, 0.95, 0.9), strict=True)
    ]
    top = items.filter(pl.col("criticality") == "high").sort("unit_cost", descending=True)
    rows += [(i, None, 0.99, None) for i in top["item_id"].head(2)]
    service = stock.filter(pl.col("site_id") != "DC01")
    if service.height:
        pick = service.row(int(rng.integers(service.height)), named=True)
        rows.append((pick["item_id"], None, 0.97, pick["site_id"]))
    return pl.DataFrame(
        rows,
        schema={
            "item_id": pl.String,
            "criticality": pl.String,
            "target_fill_rate": pl.Float64,
            "site_id": pl.String,
        },
        orient="row",
    ).with_columns(target_availability=pl.lit(None, pl.Float64))


def generate_dataset(
    items: int = 2000, sites: int = 3, months: int = 36, seed: int = 7, end: date = DEMO_END
) -> dict[str, pl.DataFrame]:
    """Generate the demo planning dataset: ``items`` parts at ``sites`` sites (the first the
    central warehouse), demand over ``months`` whole calendar months ending on ``end``.

    Returns polars frames keyed by table name (items, sites, demand, stock, sourcing, targets),
    columns as in :mod:`spareflow.data.schema`. Same arguments, same output.
    """
    for name, value in (("items", items), ("sites", sites), ("months", months)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ParameterError(name, f"must be a whole number >= 1, got {value!r}")
    rng = np.random.default_rng(seed)
    cal = _calendar(end, months)
    it, items_df = _make_items(rng, items, cal)
    sites_df = _sites_frame(sites)
    item, site = _stocking(rng, it.speed, it.succ, it.pred, sites)
    q = _monthly(rng, it, item, site, cal)
    r, day, qty = _transactions(rng, q, it, item, cal)
    order = np.lexsort((site[r], item[r], day))
    r, day, qty = r[order], day[order], qty[order]
    item_ids, site_ids = items_df["item_id"], sites_df["site_id"]
    demand = pl.DataFrame(
        {
            "item_id": item_ids.gather(item[r]),
            "site_id": site_ids.gather(site[r]),
            "date": pl.Series(day, dtype=pl.Int32).cast(pl.Date),
            "quantity": qty,
            "order_id": _ids("SO", np.arange(1, r.size + 1), max(7, len(str(r.size)))),
        }
    )
    pairs = pl.DataFrame({"item_id": item_ids.gather(item), "site_id": site_ids.gather(site)})
    stock, sourcing = _stock_and_sourcing(rng, it, item, site, q, pairs)
    return {
        "items": items_df,
        "sites": sites_df,
        "demand": demand,
        "stock": stock,
        "sourcing": sourcing,
        "targets": _targets(rng, items_df, stock),
    }
