"""``spareflow rate`` and ``POST /rate`` as users run them: the reference's worked rating
example (../shared/reference/freight.md, sections 8.3 to 8.9) to the cent, against
``rate_ltl`` called directly and against the hand computation in the comments; classes
from dimensions on both sides of 19 July 2025; truckload against LTL; bad lines named by
file, row and column (CLI) or ``lines[k].field`` (API), with nothing written."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from fastapi.testclient import TestClient

from cli_runner import spareflow
from spareflow.api import Settings, create_app
from spareflow.data.tariff import SAMPLE_TARIFF, load_tariff
from spareflow.services import users
from spareflow.store.session import session_factory, unit_of_work
from spareflow.transport.rating import ClassRateTariff, class_index, rate_ltl
from store_backends import fresh_engine

# The reference's invented class-125 rates (L5C $60.00, M5C $45.00, M1M $38.00 per CWT),
# continued lower; 70 % discount, AMC $95.00, fuel 28 %, liftgate $85.00 (section 8.9).
# Class 250 rates as 125 (FAK); class 500 has no rate.
TARIFF = {
    "name": "worked example of freight.md section 8.9",
    "weight_breaks_lb": [0, 500, 1000, 2000, 5000, 10000, 20000],
    "discount": 0.70,
    "fuel_surcharge": 0.28,
    "fak": {"250": "125"},
    "accessorials": {"liftgate_delivery": 85.0, "appointment": 25.0},
    "lanes": [
        {
            "lane": "A-B",
            "minimum_charge": 80.0,
            "absolute_minimum_charge": 95.0,
            "rates": {
                "55": [40.0, 32.0, 28.0, 24.0, 20.0, 17.0, 14.0],
                "60": [44.0, 35.0, 30.0, 26.0, 22.0, 18.0, 15.0],
                "125": [60.0, 45.0, 38.0, 30.0, 24.0, 20.0, 16.0],
                "250": [120.0, 90.0, 76.0, 60.0, 48.0, 40.0, 32.0],
                "500": [None] * 7,
            },
        },
        {"lane": "A-C", "rates": {"125": [60.0, 45.0, 38.0, 30.0, 24.0, 20.0, 16.0]}},
    ],
}
HEADER = (
    "shipment_id,lane,weight_lb,freight_class,length_in,width_in,height_in,ship_date,accessorials"
)
LINES = f"""{HEADER}
W1,A-B,400,,48,40,48,,liftgate_delivery
D1,A-B,900,125,,,,,
M1,A-B,370,125,,,,,
F1,A-B,900,250,,,,,
A1,A-B,300,125,,,,,liftgate_delivery; appointment
A1,A-B,200,125,,,,,liftgate_delivery
P1,A-B,1500,,48,40,30,2025-07-19,
P0,A-B,1500,,48,40,30,2025-07-18,
"""
# Hand computation, per shipment (gross; billed lb; net after 70 % off, floored at 95;
# fuel 28 % of net; accessorials; total):
# W1 48x40x48 in, 400 lb: 53.33 ft3, 7.50 pcf -> 125. 4.00 x 60 = 240.00, but billed as
#    500 lb 5.00 x 45 = 225.00 (deficit 100 lb); net 67.50 -> AMC 95.00; fuel 26.60;
#    liftgate 85.00; total 206.60 (the reference's worked result).
# D1 900 lb class 125: 9.00 x 45 = 405.00, billed as 1,000 lb 10.00 x 38 = 380.00; net
#    114.00 (above the floor); fuel 31.92; total 145.92.
# M1 370 lb class 125: 3.70 x 60 = 222.00 (below the 375 lb break-even: own group);
#    net 66.60 -> minimum 95.00; fuel 26.60; total 121.60.
# F1 900 lb class 250, FAK rated as 125: as D1, 145.92 (at class 250's own rates it
#    would be 10.00 x 76 = 760.00, net 228.00, total 291.84).
# A1 300 + 200 lb class 125 = 500 lb: 5.00 x 45 = 225.00; net 67.50 -> 95.00; fuel 26.60;
#    liftgate once (85.00) + appointment (25.00) = 110.00; total 231.60.
# P1 48x40x30 in, 1,500 lb = 45 pcf, shipped 19 July 2025: 13-sub scale, 35 to 50 pcf ->
#    55. 15.00 x 28 = 420.00 (at 2,000 lb: 20 x 24 = 480.00); net 126.00; fuel 35.28;
#    total 161.28.
# P0 the same pallet shipped 18 July 2025: 11-sub scale, 30 pcf or more -> 60.
#    15.00 x 30 = 450.00 (at 2,000 lb: 20 x 26 = 520.00); net 135.00; fuel 37.80;
#    total 172.80.
BY_HAND = {  # shipment: (billed lb, gross, net, fuel, accessorials, total, minimum applied)
    "W1": (500, 225.00, 95.00, 26.60, 85.00, 206.60, True),
    "D1": (1000, 380.00, 114.00, 31.92, 0.00, 145.92, False),
    "M1": (370, 222.00, 95.00, 26.60, 0.00, 121.60, True),
    "F1": (1000, 380.00, 114.00, 31.92, 0.00, 145.92, False),
    "A1": (500, 225.00, 95.00, 26.60, 110.00, 231.60, True),
    "P1": (1500, 420.00, 126.00, 35.28, 0.00, 161.28, False),
    "P0": (1500, 450.00, 135.00, 37.80, 0.00, 172.80, False),
}
COLUMNS = [
    "shipment_id", "lane", "lines", "weight_lb", "billed_weight_lb", "gross", "net_linehaul",
    "fuel", "accessorials", "total", "minimum_applied",
]  # fmt: skip
MONEY = ["gross", "net_linehaul", "fuel", "accessorials", "total"]


def setup(tmp_path: Path, lines: str = LINES) -> None:
    (tmp_path / "tariff.json").write_text(json.dumps(TARIFF))
    (tmp_path / "lines.csv").write_text(lines)


def rate(tmp_path: Path, *extra: str, out: str = "rated.csv") -> Any:
    return spareflow(
        ["rate", "lines.csv", "--tariff", "tariff.json", "--out", out, "--today", "2026-01-05",
         *extra],
        tmp_path,
    )  # fmt: skip


def read(path: Path) -> dict[str, dict[str, Any]]:
    return {r["shipment_id"]: r for r in pl.read_csv(path).iter_rows(named=True)}


def test_the_worked_example_to_the_cent_by_hand_and_by_rate_ltl(tmp_path: Path) -> None:
    setup(tmp_path)
    run = rate(tmp_path)
    assert run.returncode == 0, run.stderr
    assert "7 shipments (8 lines) rated" in run.stderr and "note:" not in run.stderr
    table = pl.read_csv(tmp_path / "rated.csv")
    assert table.columns == [*COLUMNS, "cheapest_mode", "cheapest_total"]  # no miles: no FTL
    got = read(tmp_path / "rated.csv")
    assert list(got) == list(BY_HAND)  # shipments in order of first appearance
    for sid, (billed, gross, net, fuel, extra, total, floor) in BY_HAND.items():
        row = got[sid]
        assert (row["billed_weight_lb"], row["gross"], row["net_linehaul"], row["fuel"]) == (
            billed, gross, net, fuel,
        ), sid  # fmt: skip
        assert (row["accessorials"], row["total"], row["minimum_applied"]) == (extra, total, floor)
        assert (row["lane"], row["cheapest_mode"], row["cheapest_total"]) == ("A-B", "ltl", total)
    assert (got["A1"]["lines"], got["A1"]["weight_lb"], got["W1"]["weight_lb"]) == (2, 500, 400)

    # rate_ltl on the same lines, classes as found by hand (W1 125, P1 55, P0 60)
    tariff = load_tariff(tmp_path / "tariff.json")
    classes = ["125", "125", "125", "250", "125", "125", "55", "60"]
    rated = rate_ltl(
        tariff,
        np.array([0, 1, 2, 3, 4, 4, 5, 6]),
        tariff.lane_index(["A-B"] * 8),
        class_index(classes, tariff.fak),
        np.array([400.0, 900, 370, 900, 300, 200, 1500, 1500]),
        [["liftgate_delivery"], [], [], [], ["liftgate_delivery", "appointment"], [], []],
    )
    for name in MONEY:
        assert table[name].to_list() == np.round(getattr(rated, name), 2).tolist(), name
    assert table["billed_weight_lb"].to_list() == rated.billed_weight_lb.tolist()
    assert table["minimum_applied"].to_list() == rated.floor_applied.tolist()


def test_the_scale_in_force_on_today_classes_lines_without_a_ship_date(tmp_path: Path) -> None:
    pallet = f"{HEADER}\nP,A-B,1500,,48,40,30,,\n"
    setup(tmp_path, pallet)
    after = rate(tmp_path, "--today", "2025-07-19")
    before = rate(tmp_path, "--today", "2025-07-18", out="before.parquet")
    assert after.returncode == 0 and before.returncode == 0, after.stderr + before.stderr
    assert read(tmp_path / "rated.csv")["P"]["total"] == 161.28  # class 55, as P1 above
    assert pl.read_parquet(tmp_path / "before.parquet")["total"].to_list() == [172.80]  # 60


def test_truckload_against_ltl_each_winning_once(tmp_path: Path) -> None:
    # T1 15,000 lb class 125: M10M 150 x 20 = 3,000.00 (at 20,000 lb: 200 x 16 = 3,200);
    #    net 900.00; fuel 252.00; LTL 1,152.00. FTL: max(100 mi x 2.50, 900) = 900.00: FTL.
    # T2 400 lb: LTL 225.00 -> 95.00 + 26.60 = 121.60 (as W1 without the liftgate);
    #    FTL 900.00: LTL.
    # T3 30,000 + 20,000 lb: over the 45,000 lb a trailer takes, no FTL price; LTL M20M
    #    500 x 16 = 8,000 -> 2,400.00 + fuel 672.00 = 3,072.00.
    # T4 no miles: no FTL price.
    setup(tmp_path, "shipment_id,lane,weight_lb,freight_class,miles\n"
          "T1,A-B,15000,125,100\nT2,A-B,400,125,100\nT3,A-B,30000,125,100\n"
          "T3,A-B,20000,125,100\nT4,A-B,400,125,\n")  # fmt: skip
    run = rate(tmp_path)
    assert run.returncode == 0, run.stderr
    got = read(tmp_path / "rated.csv")
    assert [(r["total"], r["ftl_total"], r["cheapest_mode"], r["cheapest_total"])
            for r in got.values()] == [
        (1152.00, 900.00, "ftl", 900.00),
        (121.60, 900.00, "ltl", 121.60),
        (3072.00, None, "ltl", 3072.00),
        (121.60, None, "ltl", 121.60),
    ]  # fmt: skip
    assert "cheapest mode ftl: 1, ltl: 3" in run.stderr
    # at 12.00 a mile (minimum 1,000) the truck costs 1,200.00 > 1,152.00: LTL wins T1
    run = rate(tmp_path, "--ftl-rate-per-mile", "12", "--ftl-minimum", "1000", out="dear.csv")
    assert run.returncode == 0, run.stderr
    dear = read(tmp_path / "dear.csv")["T1"]
    assert (dear["ftl_total"], dear["cheapest_mode"], dear["cheapest_total"]) == (
        1200.0, "ltl", 1152.0,
    )  # fmt: skip


BAD = {
    "unknown lane": (
        f"{HEADER}\nS,A-B,400,125,,,,,\nS2,A-Z,400,125,,,,,\n",
        "lines.csv, row 3, column 'lane': not a lane of the tariff (2 lanes: A-B, A-C) (got 'A-Z')",
    ),
    "missing weight": (
        f"{HEADER}\nS,A-B,,125,,,,,\n",
        "lines.csv, row 2, column 'weight_lb': missing value",
    ),
    "non-numeric length": (
        f"{HEADER}\nS,A-B,400,,4x8,40,48,,\n",
        "lines.csv, row 2, column 'length_in': not a number (got '4x8')",
    ),
    "mixed lanes in one shipment": (
        f"{HEADER}\nS,A-B,400,125,,,,,\nS,A-C,400,125,,,,,\n",
        "lines.csv, row 3, column 'lane': lines of one shipment on two lanes",
    ),
    "class with no rate": (
        f"{HEADER}\nS,A-B,400,500,,,,,\n",
        "lines.csv, row 2, column 'freight_class': no rate for class 500 on lane A-B",
    ),
    "class from density with no rate": (
        f"{HEADER}\nS,A-C,1500,,48,40,30,,\n",
        "lines.csv, row 2, column 'freight_class': no rate for class 55 (class from density) "
        "on lane A-C",
    ),
    "not a class": (
        f"{HEADER}\nS,A-B,400,77,,,,,\n",
        "lines.csv, row 2, column 'freight_class': not an NMFC class",
    ),
    "neither class nor dimensions": (
        f"{HEADER}\nS,A-B,400,,48,,48,,\n",
        "lines.csv, row 2, column 'width_in': missing value: no freight_class on this row",
    ),
    "unknown accessorial": (
        f"{HEADER}\nS,A-B,400,125,,,,,appointment;forklift\n",
        "lines.csv, row 2, column 'accessorials': not an accessorial of the tariff "
        "(appointment, liftgate_delivery) (got 'forklift')",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_lines_are_named_by_file_row_and_column_and_nothing_is_written(
    tmp_path: Path, case: str
) -> None:
    lines, message = BAD[case]
    setup(tmp_path, lines)
    run = rate(tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert f"error: {message}" in run.stderr
    assert not (tmp_path / "rated.csv").exists()


def test_bad_options_are_refused_before_any_work(tmp_path: Path) -> None:
    setup(tmp_path)
    for args, message in (
        (
            ["--today", "2025-13-01"],
            "error: --today: an ISO date like 2026-11-25, got '2025-13-01'",
        ),
        (["--rounding", "up"], "error: --rounding: one of exact, ceil, nearest"),
        (["--ftl-rate-per-mile", "0"], "error: --ftl-rate-per-mile: above zero"),
        (["--today", "2016-01-01"], "error: --today: 2016-01-01 is before 2017-08-05"),
    ):
        run = rate(tmp_path, *args)
        assert run.returncode == 2 and message in run.stderr, (args, run.stderr)
        assert not (tmp_path / "rated.csv").exists()
    run = rate(tmp_path, out="rated.txt")
    assert run.returncode == 2 and "error: --out: rated.txt: use a file ending in" in run.stderr
    run = spareflow(["rate", "lines.csv", "--tariff", "none.json", "--out", "o.csv"], tmp_path)
    assert run.returncode == 2 and "none.json: file not found" in run.stderr


# --- the shipped sample tariff, from the CLI and over the API ---------------------------

# Z1-Z2, 400 lb class 125 (sample rates 73.00, 56.94 per CWT): 4.00 x 73 = 292.00, billed
# as 500 lb 5.00 x 56.94 = 284.70; 68 % off: 91.10 -> floor max(115, 134) = 134.00; fuel
# 22.8 %: 30.55; total 164.55.
# Z1-Z1, 48x40x96 in, 4,000 lb = 106.67 ft3, 37.5 pcf: class 55 from 19 July 2025
# (35 to 50 pcf) at M2M 40 x 17.01 = 680.40 (at 5,000 lb: 50 x 13.74 = 687.00); net
# 217.73; fuel 49.64; total 267.37. Shipped 18 July 2025: class 60 (30 pcf or more),
# 40 x 17.89 = 715.60 (at 5,000 lb: 50 x 14.45 = 722.50); net 228.99; fuel 52.21;
# total 281.20.
# Z1-Z2, 20,000 lb class 125 over 100 miles: 200 x 19.71 = 3,942.00; net 1,261.44; fuel
# 287.61; LTL 1,549.05 against a truck at max(250, 900) = 900.00: FTL.
SAMPLE_LINES = [
    {"shipment_id": "S", "lane": "Z1-Z2", "weight_lb": 400, "freight_class": "125"},
    {"shipment_id": "NEW", "lane": "Z1-Z1", "weight_lb": 4000, "length_in": 48, "width_in": 40,
     "height_in": 96, "ship_date": "2025-07-19"},
    {"shipment_id": "OLD", "lane": "Z1-Z1", "weight_lb": 4000, "length_in": 48, "width_in": 40,
     "height_in": 96, "ship_date": "2025-07-18"},
    {"shipment_id": "TL", "lane": "Z1-Z2", "weight_lb": 20000, "freight_class": "125",
     "miles": 100},
]  # fmt: skip
SAMPLE_BY_HAND = {  # shipment: (billed lb, gross, net, fuel, total, ftl, cheapest, its price)
    "S": (500.0, "284.7", "134", "30.55", "164.55", None, "ltl", "164.55"),
    "NEW": (4000.0, "680.4", "217.73", "49.64", "267.37", None, "ltl", "267.37"),
    "OLD": (4000.0, "715.6", "228.99", "52.21", "281.2", None, "ltl", "281.2"),
    "TL": (20000.0, "3942", "1261.44", "287.61", "1549.05", "900", "ftl", "900"),
}


def signed_in(tmp_path: Path, tariff_path: str | None = None) -> Iterator[TestClient]:
    """The API on a SQLite store with one admin signed in: /rate needs a sign-in, no data."""
    for engine in fresh_engine("sqlite", tmp_path):
        factory = session_factory(engine)
        with unit_of_work(factory) as s:
            users.add_user(s, "root", "correct horse battery", "admin")
        settings = Settings(database_url="sqlite://", secret_key="k" * 40, tariff_path=tariff_path)
        with TestClient(create_app(settings, factory=factory)) as c:
            sign_in = {"username": "root", "password": "correct horse battery"}
            r = c.post("/auth/token", data=sign_in)
            c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            yield c


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    yield from signed_in(tmp_path)


def test_the_api_rates_with_the_tariff_named_in_settings(tmp_path: Path) -> None:
    setup(tmp_path)
    lines = [
        {"shipment_id": "W1", "lane": "A-B", "weight_lb": 400, "length_in": 48, "width_in": 40,
         "height_in": 48, "accessorials": ["liftgate_delivery"]},
        {"shipment_id": "P0", "lane": "A-B", "weight_lb": 1500, "length_in": 48, "width_in": 40,
         "height_in": 30, "ship_date": "2025-07-18"},
    ]  # fmt: skip
    for client in signed_in(tmp_path, str(tmp_path / "tariff.json")):
        r = client.post("/rate", json={"lines": lines})
        assert r.status_code == 200, r.text
        w1, p0 = r.json()
        # as BY_HAND: the reference's worked example, 206.60; the old-scale pallet, 172.80
        assert (w1["billed_weight_lb"], w1["gross"], w1["net_linehaul"], w1["fuel"]) == (
            500.0, "225", "95", "26.6",
        )  # fmt: skip
        assert (w1["accessorials"], w1["total"], w1["minimum_applied"]) == ("85", "206.6", True)
        assert (p0["gross"], p0["total"], p0["minimum_applied"]) == ("450", "172.8", False)
        assert w1["sample_rates"] is False and w1["ftl_total"] is None


def test_the_api_rates_with_the_sample_tariff_as_the_cli_does(
    client: TestClient, tmp_path: Path
) -> None:
    r = client.post("/rate", json={"lines": SAMPLE_LINES})
    assert r.status_code == 200, r.text
    got = {row["shipment_id"]: row for row in r.json()}
    assert list(got) == list(SAMPLE_BY_HAND)
    for sid, expected in SAMPLE_BY_HAND.items():
        row = got[sid]
        assert (
            row["billed_weight_lb"], row["gross"], row["net_linehaul"], row["fuel"], row["total"],
            row["ftl_total"], row["cheapest_mode"], row["cheapest_total"],
        ) == expected, sid  # fmt: skip
        assert row["sample_rates"] is True and row["lines"] == 1 and row["accessorials"] == "0"
    assert got["S"]["minimum_applied"] is True and got["NEW"]["minimum_applied"] is False

    # rate_ltl on the sample, classes as found by hand (NEW 55, OLD 60)
    tariff: ClassRateTariff = load_tariff(SAMPLE_TARIFF)
    rated = rate_ltl(
        tariff,
        np.arange(4),
        tariff.lane_index(["Z1-Z2", "Z1-Z1", "Z1-Z1", "Z1-Z2"]),
        class_index(["125", "55", "60", "125"], tariff.fak),
        np.array([400.0, 4000, 4000, 20000]),
    )
    assert [float(row["total"]) for row in got.values()] == np.round(rated.total, 2).tolist()

    # the CLI, on its default tariff (the same sample), says the same and warns
    keys = ["shipment_id", "lane", "weight_lb", "freight_class", "length_in", "width_in",
            "height_in", "ship_date", "miles"]  # fmt: skip
    pl.DataFrame([{k: line.get(k) for k in keys} for line in SAMPLE_LINES]).write_csv(
        tmp_path / "sample.csv"
    )
    run = spareflow(["rate", "sample.csv", "--out", "sample_rated.csv"], tmp_path)
    assert run.returncode == 0, run.stderr
    assert "note: the SAMPLE tariff's rates are invented" in run.stderr
    cli = read(tmp_path / "sample_rated.csv")
    for sid, row in got.items():
        for name in [*MONEY, "cheapest_total"]:
            assert cli[sid][name] == float(row[name]), (sid, name)
        assert cli[sid]["ftl_total"] == (None if row["ftl_total"] is None else 900.0)


def test_the_api_names_the_line_and_field_at_fault(client: TestClient) -> None:
    good, pallet = SAMPLE_LINES[0], SAMPLE_LINES[1]
    for lines, field, says in (
        ([{**good, "lane": "Z9-Z9"}], "lines[0].lane", "'Z9-Z9' is not a lane of the tariff"),
        ([good, {**good, "lane": "Z1-Z3"}], "lines[1].lane",
         "one lane per shipment: Z1-Z3, but lines[0] is on Z1-Z2"),
        ([good, {k: v for k, v in good.items() if k != "weight_lb"}], "lines[1].weight_lb",
         "Field required"),
        ([{**good, "weight_lb": 0}], "lines[0].weight_lb", "greater than 0"),
        ([{**good, "freight_class": "77"}], "lines[0].freight_class", "'77.5'"),
        ([{**pallet, "width_in": None}], "lines[0].width_in", "needed when freight_class"),
        ([{**pallet, "length_in": "4x8"}], "lines[0].length_in", "valid number"),
        ([{**good, "accessorials": ["forklift"]}], "lines[0].accessorials",
         "forklift: not in the tariff (appointment, inside_delivery"),
        ([{**good, "miles": 10}, {**good, "miles": 20}], "lines[1].miles",
         "one distance per shipment: 20, but lines[0] has 10"),
        ([{**pallet, "ship_date": "2016-01-01"}], "lines[0].ship_date",
         "2016-01-01 is before 2017-08-05"),
    ):  # fmt: skip
        r = client.post("/rate", json={"lines": lines})
        assert r.status_code == 422, (field, r.text)
        errors = {e["field"]: e["message"] for e in r.json()["errors"]}
        assert says in errors.get(field, ""), (field, r.text)
    assert client.post("/rate", json={"lines": []}).status_code == 422


def test_the_api_charges_accessorials_once_per_shipment(client: TestClient) -> None:
    # two lines of one shipment, both with a liftgate: 85.00 once, plus 25.00
    lines = [
        {**SAMPLE_LINES[0], "accessorials": ["liftgate_delivery", "appointment"]},
        {**SAMPLE_LINES[0], "weight_lb": 100, "accessorials": ["liftgate_delivery"]},
    ]
    r = client.post("/rate", json={"lines": lines})
    assert r.status_code == 200, r.text
    (row,) = r.json()
    # 500 lb: 5.00 x 56.94 = 284.70 -> floor 134.00; fuel 30.55; + 110.00 = 274.55
    assert (row["lines"], row["accessorials"], row["total"]) == (2, "110", "274.55")
