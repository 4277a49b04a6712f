"""Tariff files: the shipped sample loads and says it is a sample; bad files are named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from spareflow.data.tariff import SAMPLE_TARIFF, load_tariff
from spareflow.errors import InputError
from spareflow.transport.rating import CLASSES, class_index, rate_ltl


def test_the_sample_tariff_loads_and_is_marked_as_a_sample() -> None:
    tariff = load_tariff(SAMPLE_TARIFF)
    assert tariff.sample and "SAMPLE" in tariff.name
    assert len(tariff.lanes) == 25 and tariff.rates.shape == (25, len(CLASSES), 7)
    # rates fall with the weight group and rise with the class, on every lane
    assert np.all(np.diff(tariff.rates, axis=2) < 0) and np.all(np.diff(tariff.rates, axis=1) > 0)
    lane = tariff.lane_index(["Z1-Z3"])
    rated = rate_ltl(
        tariff, np.array([0]), lane, class_index(["175"], tariff.fak), np.array([1200.0])
    )
    expected = 12 * tariff.rates[lane[0], CLASSES.index("125"), 2] * (1 - tariff.discount)
    assert rated.net_linehaul[0] == pytest.approx(max(expected, 146.0))  # FAK 175 -> 125
    assert rated.total[0] == pytest.approx(rated.net_linehaul[0] * (1 + tariff.fuel_surcharge))


def test_a_bad_tariff_is_refused_naming_each_field(tmp_path: Path) -> None:
    data = json.loads(SAMPLE_TARIFF.read_text())
    data["discount"] = 1.5
    data["lanes"][2]["rates"]["70"] = [1.0, 2.0]
    data["lanes"][3]["minimum_charge"] = -4
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(InputError) as caught:
        load_tariff(bad)
    text = "\n".join(caught.value.lines())
    assert "bad.json: discount: Input should be less than 1" in text
    assert "bad.json: lanes.3.minimum_charge: Input should be greater than or equal to 0" in text
    data["discount"], data["lanes"][3]["minimum_charge"] = 0.5, 4
    bad.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"lanes\[2\].rates.70: 7 rates .* got 2"):
        load_tariff(bad)
    bad.write_text("{not json")
    with pytest.raises(InputError, match=r"bad\.json"):
        load_tariff(bad)
