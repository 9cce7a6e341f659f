"""Sparklines as a reader sees them: the words beside the blocks, where the threshold lies, the query step of
the picture, and which value of a bucket stands for it."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from verifier.domain.sparkline import coarse_step, downsample, draw, level, worst_for

START = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_a_line_without_unit_or_threshold_says_only_its_values() -> None:
    line = draw([1.0, 2.0])
    assert line is not None
    assert line.describe() == "▁█ 1 to 2"
    assert line.threshold_place() == ""


def test_a_flat_line_names_its_one_value_once() -> None:
    assert draw([1.0, 1.0]).describe() == "▄▄ 1"  # type: ignore[union-attr]
    assert draw([2.0, 2.0], unit="s").describe() == "▄▄ 2 s"  # type: ignore[union-attr]


def test_a_threshold_without_an_operator_or_an_operator_without_one_is_not_described() -> None:
    assert draw([1.0, 2.0], op="<").describe() == "▁█ 1 to 2"  # type: ignore[union-attr]
    assert draw([1.0, 2.0], threshold=1.5).describe() == "▁█ 1 to 2"  # type: ignore[union-attr]


def test_a_threshold_on_the_lines_edge_lies_at_its_end_block() -> None:
    assert draw([0.0, 1.0], threshold=1.0, op="<").threshold_place() == "at █"  # type: ignore[union-attr]
    assert draw([0.0, 1.0], threshold=0.0, op=">").threshold_place() == "at ▁"  # type: ignore[union-attr]


def test_a_window_of_only_infinities_is_drawn_flat_at_zero() -> None:
    assert draw([math.inf]).describe() == "▄ 0"  # type: ignore[union-attr]


def test_a_value_the_scale_cannot_place_sits_in_the_middle() -> None:
    assert level(math.inf, 0.0, math.inf) == "▄"


@pytest.mark.parametrize(("op", "worst"), [("<", 3.0), ("<=", 3.0), (">", 1.0), (">=", 1.0), ("==", 2.0), (None, 2.0)])
def test_a_bucket_is_shown_by_the_value_nearest_to_breaking_or_else_its_last(op: str | None, worst: float) -> None:
    assert worst_for(op)([1.0, 3.0, 2.0]) == worst


def test_downsampling_places_points_by_their_time_within_the_window() -> None:
    points = [(99.0, 50.0), (100.0, 1.0), (101.0, 2.0), (103.0, 4.0), (104.0, 60.0), (105.0, math.nan)]
    assert downsample(points, 100, 104, max, 2) == [2.0, 60.0]
    assert downsample(points, 100, 103, max, 1) == [4.0]
    assert downsample(points, 100, 103, max, 0) == [4.0]


def test_downsampling_a_window_shorter_than_a_second() -> None:
    assert downsample([(0.0, 1.0), (0.5, 2.0)], 0, 0.5, max, 2) == [1.0, 2.0]


def test_downsampling_an_instant_puts_it_in_the_last_bucket() -> None:
    first, second, last = downsample([(5.0, 2.0)], 5, 5, max, 3)
    assert math.isnan(first) and math.isnan(second) and last == 2.0


def test_the_picture_of_a_short_window_is_queried_every_second() -> None:
    end = START + timedelta(seconds=30)
    assert coarse_step(START, end) == (end - timedelta(seconds=29), 1)


def test_the_picture_of_a_two_day_window_is_queried_hourly() -> None:
    end = START + timedelta(hours=48)
    assert coarse_step(START, end) == (START + timedelta(hours=1), 3600)


def test_a_picture_of_one_point_is_the_windows_end() -> None:
    end = START + timedelta(hours=1)
    assert coarse_step(START, end, points=1) == (end, 3600)
    assert coarse_step(START, end, points=0) == (end, 3600)
