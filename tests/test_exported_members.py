"""Each package's public surface is deliberate: every name in ``__all__`` exists, once,
and nothing private is exported."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = [
    "spareflow.data",
    "spareflow.demand",
    "spareflow.multiechelon",
    "spareflow.plan",
    "spareflow.reliability",
    "spareflow.simulate",
    "spareflow.stock",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(set(exported)) == len(exported)
    for member in exported:
        assert not member.startswith("_"), member
        assert hasattr(module, member), f"{name}.{member} is listed but missing"
