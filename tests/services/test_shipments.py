"""Creating shipments: legs default to one, and every bad request is refused naming the
field, with nothing stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from spareflow.errors import Conflict, NotFound, ParameterError, SpareflowError
from spareflow.services.master import add_partner, add_site
from spareflow.services.shipments import (
    LegIn,
    ShipmentIn,
    create_shipment,
    shipment_events,
    shipment_legs,
)
from spareflow.store.models import Shipment
from spareflow.store.session import unit_of_work

T0 = datetime(2026, 11, 25, 8, tzinfo=UTC)
H = timedelta(hours=1)


@pytest.fixture
def sites(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with unit_of_work(factory) as s:
        for site in ("FRA", "CGN", "HUB"):
            add_site(s, site)
        add_partner(s, "ACME", ["supplier"])
        create_shipment(s, ShipmentIn("SH-0", "FRA", "CGN", "ltl", T0, T0 + 4 * H))
    return factory


def test_a_shipment_has_one_leg_unless_given_more(sites: sessionmaker[Session]) -> None:
    with unit_of_work(sites) as s:
        legs = [
            LegIn("FRA", "HUB", "ftl", T0, T0 + H),
            LegIn("HUB", "CGN", "parcel", T0 + 2 * H, T0 + 5 * H),
        ]
        create_shipment(s, ShipmentIn("SH-1", "FRA", "CGN", "ftl", T0, T0 + 5 * H, legs=legs))
        chain = [
            (g.leg_no, g.origin_site_id, g.destination_site_id) for g in shipment_legs(s, "SH-1")
        ]
        assert chain == [(1, "FRA", "HUB"), (2, "HUB", "CGN")]
        assert [(g.origin_site_id, g.mode) for g in shipment_legs(s, "SH-0")] == [("FRA", "ltl")]
        assert [e.kind for e in shipment_events(s, "SH-1")] == ["planned"]


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"shipment_id": "SH-0"}, Conflict, "shipment 'SH-0' already exists"),
        ({"shipment_id": ""}, ParameterError, "shipment_id: 1 to 64 characters"),
        ({"mode": "rail"}, ParameterError, "mode: one of parcel, ltl, ftl, air, ocean, got 'rail'"),
        ({"origin_site_id": "XXX"}, NotFound, "origin_site_id: site 'XXX' does not exist"),
        ({"destination_site_id": "FRA"}, ParameterError, "destination_site_id: the same site"),
        (
            {"planned_arrival": T0 - H},
            ParameterError,
            "planned_arrival: 2026-11-25T07:00:00+00:00 is before",
        ),
        (
            {"planned_arrival": datetime(2026, 11, 25, 12)},
            ParameterError,
            "planned_arrival: times need a UTC offset",
        ),
        ({"carrier_id": "ACME"}, ParameterError, "ACME is not a carrier"),
        (
            {"temperature_min": 9.0, "temperature_max": 2.0},
            ParameterError,
            "temperature_min: 9.0 is above",
        ),
        ({"geofence_m": 0.0}, ParameterError, "geofence_m: must be positive"),
        (
            {"legs": [LegIn("HUB", "CGN", "ltl", T0, T0 + H)]},
            ParameterError,
            "legs[1].origin_site_id: must be 'FRA'",
        ),
        (
            {"legs": [LegIn("FRA", "HUB", "ltl", T0, T0 + H)]},
            ParameterError,
            "legs[1].destination_site_id: must end at 'CGN'",
        ),
        (
            {
                "legs": [
                    LegIn("FRA", "HUB", "ltl", T0, T0 + 2 * H),
                    LegIn("HUB", "CGN", "ltl", T0 + H, T0 + 3 * H),
                ]
            },
            ParameterError,
            "legs[2].planned_departure: before the previous leg arrives",
        ),
        (
            {"legs": [LegIn("FRA", "CGN", "boat", T0, T0 + H)]},
            ParameterError,
            "legs[1].mode: one of",
        ),
    ],
)
def test_bad_shipments_are_refused_naming_the_field(
    sites: sessionmaker[Session],
    changes: dict[str, object],
    error: type[SpareflowError],
    message: str,
) -> None:
    fields: dict[str, object] = {
        "shipment_id": "SH-2", "origin_site_id": "FRA", "destination_site_id": "CGN",
        "mode": "ltl", "planned_departure": T0, "planned_arrival": T0 + 4 * H,
    }  # fmt: skip
    fields.update(changes)
    with pytest.raises(error) as raised, unit_of_work(sites) as s:
        create_shipment(s, ShipmentIn(**fields))  # type: ignore[arg-type]
    assert message in str(raised.value)
    with unit_of_work(sites) as s:
        assert s.scalar(select(func.count()).select_from(Shipment)) == 1
