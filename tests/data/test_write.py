"""Atomic output: a failed write leaves the previous file (or none) and no temporary files."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from spareflow.data.write import (
    atomic_path,
    check_table_path,
    write_dataset,
    write_table,
    write_table_parts,
    write_text,
)
from spareflow.errors import ParameterError

SUFFIXES = ["csv", "parquet", "xlsx"]


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def small() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "item_id": ["A", "B", "C"],
            "date": [date(2024, 1, 1), date(2024, 2, 1), date(2024, 3, 1)],
            "quantity": [1.0, 2.5, 0.0],
        }
    )


def unwritable() -> pl.DataFrame:
    """A frame no format can hold (an Object column): every writer raises."""
    return pl.DataFrame({"o": pl.Series([object(), object()], dtype=pl.Object)})


def read(path: Path) -> pl.DataFrame:
    if path.suffix == ".csv":
        return pl.read_csv(path, try_parse_dates=True)
    if path.suffix == ".parquet":
        return pl.read_parquet(path)
    return pl.read_excel(path)


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_write_table_round_trip_and_no_leftovers(suffix: str, tmp_path: Path) -> None:
    target = tmp_path / "sub" / f"out.{suffix}"  # missing folders are created
    assert write_table(small(), target) == target
    back = read(target)
    assert back["item_id"].to_list() == ["A", "B", "C"]
    assert back["quantity"].to_list() == [1.0, 2.5, 0.0]
    assert [str(d)[:10] for d in back["date"].to_list()] == [
        "2024-01-01",
        "2024-02-01",
        "2024-03-01",
    ]
    assert names(target.parent) == [target.name]


def test_write_table_accepts_str_and_upper_case_suffix(tmp_path: Path) -> None:
    target = tmp_path / "OUT.CSV"
    write_table(small(), str(target))
    assert target.read_text().splitlines()[0] == "item_id,date,quantity"


@pytest.mark.parametrize("name", ["out.txt", "out", "out.json", "out.xls", "out.csv.gz"])
def test_unsupported_suffix_is_a_parameter_error(name: str, tmp_path: Path) -> None:
    with pytest.raises(ParameterError) as info:
        write_table(small(), tmp_path / name)
    assert info.value.name == "--out"
    assert ".csv, .parquet, .xlsx" in str(info.value)
    assert names(tmp_path) == []
    with pytest.raises(ParameterError):
        check_table_path(name, "--report")


def test_check_table_path_names_the_option() -> None:
    with pytest.raises(ParameterError) as info:
        check_table_path("x.txt", "--classes")
    assert info.value.name == "--classes"
    assert check_table_path("x.parquet") == Path("x.parquet")


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_parent_is_a_file_fails_and_leaves_nothing(suffix: str, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("i am a file")
    with pytest.raises(Exception):  # noqa: B017 - see test_cli for the user-facing side
        write_table(small(), blocker / f"out.{suffix}")
    assert names(tmp_path) == ["blocker"]
    assert blocker.read_text() == "i am a file"


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_failed_write_keeps_previous_file(suffix: str, tmp_path: Path) -> None:
    target = tmp_path / f"out.{suffix}"
    write_table(small(), target)
    before = target.read_bytes()
    with pytest.raises(Exception):  # noqa: B017 - polars' own error, any kind
        write_table(unwritable(), target)
    assert target.read_bytes() == before
    assert names(tmp_path) == [target.name]


def test_failed_write_creates_no_file(tmp_path: Path) -> None:
    with pytest.raises(Exception):  # noqa: B017
        write_table(unwritable(), tmp_path / "new.parquet")
    assert names(tmp_path) == []


@pytest.mark.parametrize(
    ("suffix", "method"),
    [("csv", "write_csv"), ("parquet", "write_parquet"), ("xlsx", "write_excel")],
)
def test_failure_midway_keeps_previous_file(
    suffix: str, method: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / f"out.{suffix}"
    write_table(small(), target)
    before = target.read_bytes()
    written: list[Path] = []

    def half_then_fail(self: pl.DataFrame, file: Any, *args: object, **kwargs: object) -> None:
        if hasattr(file, "write"):  # CSV goes through an open handle
            file.write(b"half a file")
            written.append(Path(file.name))
        else:
            Path(file).write_bytes(b"half a file")
            written.append(Path(file))
        raise OSError("disk full")

    monkeypatch.setattr(pl.DataFrame, method, half_then_fail)
    with pytest.raises(ParameterError, match="disk full"):
        write_table(small(), target)
    assert written, "the writer was not called"
    assert written[0] != target
    assert written[0].parent == tmp_path
    assert written[0].name.endswith(".tmp")
    assert not written[0].exists()
    assert target.read_bytes() == before
    assert names(tmp_path) == [target.name]


def test_existing_file_replaced_on_success(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old content\n")
    write_table(small(), target)
    assert target.read_text().startswith("item_id,date,quantity\nA,2024-01-01,1.0\n")
    assert names(tmp_path) == ["out.csv"]


@pytest.mark.parametrize("suffix", SUFFIXES)
def test_permissions_follow_umask_not_0600(suffix: str, tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / f"out.{suffix}"
    write_table(small(), target)
    mode = stat.S_IMODE(target.stat().st_mode)
    assert mode != 0o600
    assert mode == 0o644


def test_write_text_atomic_and_permissions(tmp_path: Path, umask_022: None) -> None:
    target = tmp_path / "deep" / "summary.json"
    assert write_text('{"a": 1}\n', target) == target
    assert target.read_text(encoding="utf-8") == '{"a": 1}\n'
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    write_text("é ü ✓", target)
    assert target.read_bytes() == "é ü ✓".encode()
    assert names(target.parent) == ["summary.json"]


def test_atomic_path_failure_inside_block(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    target.write_text("previous")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("boom")
    assert target.read_text() == "previous"
    assert names(tmp_path) == ["report.html"]


def test_large_csv_with_few_dates_is_the_same_csv(tmp_path: Path) -> None:
    # write_table formats repeated dates via a categorical shortcut above 10,000 rows:
    # the bytes must equal a plain polars CSV.
    n = 20_000
    frame = pl.DataFrame(
        {
            "k": list(range(n)),
            "date": [date(2024, 1, 1) + timedelta(days=i % 30) for i in range(n)],
            "maybe": [None if i % 7 == 0 else date(2020, 1, 1) for i in range(n)],
        },
        schema={"k": pl.Int64, "date": pl.Date, "maybe": pl.Date},
    )
    target = tmp_path / "big.csv"
    write_table(frame, target)
    assert target.read_text() == frame.write_csv()


def test_write_dataset(tmp_path: Path) -> None:
    tables = {"items": pl.DataFrame({"item_id": ["A"], "unit_cost": [1.0]}), "demand": small()}
    paths = write_dataset(tables, tmp_path / "ds", "parquet")
    assert paths == [tmp_path / "ds" / "items.parquet", tmp_path / "ds" / "demand.parquet"]
    assert pl.read_parquet(paths[1]).equals(small())
    with pytest.raises(ParameterError):
        write_dataset(tables, tmp_path / "ds2", "json")
    assert not (tmp_path / "ds2").exists()


def larger() -> pl.DataFrame:
    """Big enough (over 10,000 rows, few dates) for the CSV writer's date fast path."""
    n = 30_000
    return pl.DataFrame(
        {
            "item_id": [f"P{i % 997}" for i in range(n)],
            "date": [date(2024, 1, 1) + timedelta(days=31 * (i % 12)) for i in range(n)],
            "forecast": [i / 7 for i in range(n)],
        }
    )


@pytest.mark.parametrize("suffix", SUFFIXES[:2])
def test_write_table_parts_equals_one_write(suffix: str, tmp_path: Path) -> None:
    frame = larger()
    whole, parts = tmp_path / f"whole.{suffix}", tmp_path / f"parts.{suffix}"
    write_table(frame, whole)
    write_table_parts((frame.slice(k, 7_000) for k in range(0, frame.height, 7_000)), parts)
    if suffix == "csv":
        assert parts.read_bytes() == whole.read_bytes()
        assert read(parts).equals(frame)
    else:
        assert pl.read_parquet(parts).equals(pl.read_parquet(whole))
    assert names(tmp_path) == sorted([whole.name, parts.name])


def test_write_table_parts_failure_midway_keeps_previous_file(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    write_table(small(), target)
    before = target.read_bytes()

    def parts() -> Iterator[pl.DataFrame]:
        yield larger()
        yield larger()
        raise ParameterError("method", "stopped halfway")

    with pytest.raises(ParameterError, match="stopped halfway"):
        write_table_parts(parts(), target)
    assert target.read_bytes() == before
    assert names(tmp_path) == [target.name]


def test_write_table_parts_unwritable_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ParameterError, match="--out"):
        write_table_parts(iter([small()]), blocker / "out.csv")


def test_write_table_parts_writer_failure_is_reported_and_cleaned_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.csv"

    def disk_full(self: pl.DataFrame, file: Any, *args: object, **kwargs: object) -> None:
        file.write(b"half a part")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pl.DataFrame, "write_csv", disk_full)
    with pytest.raises(ParameterError, match="No space left"):
        write_table_parts(iter([larger(), larger(), larger()]), target)
    assert names(tmp_path) == []
