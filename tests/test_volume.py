"""A template's volume over time (analyzer/volume.py): daily series, weekly pattern, growth fit, projection."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import duckdb
import polars as pl
import pytest

from analyzer import api
from analyzer.volume import Volume, describe, volume

from .conftest import SAMPLE_LOGS, bench_script

MONDAY = date(2026, 10, 5)
FIT_NOTE = "log-linear fit on"


def _frame(values, start: date) -> pl.DataFrame:
    """One row per day at noon carrying that day's volume as its weight; zero days have no row."""
    rows = [(datetime.combine(start + timedelta(days=i), datetime.min.time()) + timedelta(hours=12), float(v))
            for i, v in enumerate(values) if v]
    return pl.DataFrame(rows, schema={"ts": pl.Datetime("us"), "weight": pl.Float64}, orient="row")


def _days(start: date, n: int) -> list[date]:
    return [start + timedelta(days=i) for i in range(n)]


def _pattern(start: date, n: int, weekday: float = 1000, weekend: float = 400) -> list[float]:
    return [weekend if d.weekday() >= 5 else weekday for d in _days(start, n)]


def test_a_flat_series_has_no_growth():
    v = volume(_frame([100] * 31, MONDAY), MONDAY, MONDAY + timedelta(days=30))
    assert v.days == 31 and v.daily == [100.0] * 31
    assert v.mean_daily == v.weekday_mean == v.weekend_mean == v.typical_daily == 100
    assert abs(v.growth_per_month) < 1e-9 and "31 days" in v.growth_note


@pytest.mark.parametrize("weekend", [1.0, 0.4])
def test_an_exponential_series_gives_its_rate_with_or_without_a_weekly_pattern(weekend):
    # The weekend level is fitted with the trend, so the pattern does not leak into the slope even
    # though the window's weekend days are not spread evenly through it.
    days = _days(date(2026, 10, 1), 31)
    values = [100 * math.exp(0.01 * i) * (weekend if d.weekday() >= 5 else 1.0) for i, d in enumerate(days)]
    v = volume(_frame(values, days[0]), days[0], days[-1])
    assert v.growth_per_month == pytest.approx(math.exp(0.01 * 30.4) - 1, abs=1e-6)
    assert "standard error ±0.0%/month" in v.growth_note


@pytest.mark.parametrize("offset", range(7))
def test_weekday_weekend_pattern_is_recombined_whatever_day_the_window_starts(offset):
    start = MONDAY + timedelta(days=offset)
    v = volume(_frame(_pattern(start, 31), start), start, start + timedelta(days=30))
    assert (v.weekday_mean, v.weekend_mean) == (1000, 400)
    assert v.typical_daily == (5 * 1000 + 2 * 400) / 7
    assert abs(v.growth_per_month) < 1e-9


def test_a_window_from_a_saturday_to_a_sunday_does_not_bias_the_typical_day():
    start, end = date(2026, 10, 3), date(2026, 10, 25)  # 23 days, 8 of them weekend days (2/7 would be 6.6)
    v = volume(_frame(_pattern(start, 23), start), start, end)
    assert v.mean_daily == pytest.approx((15 * 1000 + 8 * 400) / 23)  # leans towards the weekend
    assert v.typical_daily == (5 * 1000 + 2 * 400) / 7 > v.mean_daily


def test_a_window_without_weekend_uses_the_plain_mean():
    v = volume(_frame([10, 20, 30, 40, 50], MONDAY), MONDAY, MONDAY + timedelta(days=4))
    assert (v.weekday_mean, v.weekend_mean, v.typical_daily) == (30, 0.0, 30)


def test_a_template_starting_mid_window_is_fitted_on_its_own_days_and_diluted_in_its_means():
    # Zero days before the first request: the fit leaves them out (not read as a ramp from nothing),
    # so a template steady since it appeared shows no growth; its means still count the empty days.
    start = date(2026, 10, 1)
    values = [0] * 10 + [100] * 21
    v = volume(_frame(values, start), start, start + timedelta(days=30))
    assert abs(v.growth_per_month) < 1e-9
    assert "21 of 31 days (10 without requests left out)" in v.growth_note
    assert v.daily[:10] == [0.0] * 10 and v.mean_daily == pytest.approx(2100 / 31)
    assert v.typical_daily < 100


def test_sample_weights_and_calendar_days():
    day = date(2026, 10, 1)
    frame = pl.DataFrame({
        "ts": [datetime(2026, 10, 1, 0, 0), datetime(2026, 10, 1, 23, 59, 59, 999999), datetime(2026, 10, 2, 0, 0),
               datetime(2026, 10, 2, 8, 0)],
        "weight": [50.0, 50.0, 50.0, None],  # 2% sampled rows stand for 50 each; no weight: itself
    })
    v = volume(frame, day, day + timedelta(days=2))
    assert v.daily == [100.0, 51.0, 0.0] and v.mean_daily == pytest.approx(151 / 3)
    aware = frame.with_columns(pl.col("ts").dt.replace_time_zone("UTC").dt.convert_time_zone("Europe/Paris"))
    assert volume(aware, day, day + timedelta(days=2)).daily == v.daily  # the calendar day is UTC's


def test_growth_is_not_fitted_on_a_short_window_or_too_few_days():
    v = volume(_frame([100 * 1.05**i for i in range(10)], MONDAY), MONDAY, MONDAY + timedelta(days=9))
    assert v.growth_per_month == 0.0 and "window shorter than 14 days (10 days)" in v.growth_note
    assert describe(v).endswith("growth not measured (not fitted: window shorter than 14 days (10 days))")
    sparse = [100 if i % 5 == 0 else 0 for i in range(31)]  # 7 days is enough, 6 is not
    assert volume(_frame(sparse, MONDAY), MONDAY, MONDAY + timedelta(days=30)).growth_note.startswith(FIT_NOTE)
    v = volume(_frame(sparse[:30], MONDAY), MONDAY, MONDAY + timedelta(days=29))
    assert v.growth_per_month == 0.0 and "fewer than 7 days with requests (6)" in v.growth_note


@pytest.mark.parametrize(("rate", "max_growth", "clamped"), [(1.1, 1.0, 1.0), (0.9, 1.0, -0.5), (1.02, 0.2, 0.2)])
def test_growth_beyond_the_bounds_is_clamped_and_says_so(rate, max_growth, clamped):
    end = MONDAY + timedelta(days=19)
    v = volume(_frame([100 * rate**i for i in range(20)], MONDAY), MONDAY, end, max_growth=max_growth)
    assert v.growth_per_month == clamped
    assert f"{math.exp(math.log(rate) * 30.4) - 1:+.1%}/month clamped to {clamped:+.1%}" in v.growth_note


def test_monthly_and_projection_arithmetic():
    v = Volume(days=31, daily=[], mean_daily=990, weekday_mean=1100, weekend_mean=750, typical_daily=1000,
               growth_per_month=0.1, growth_note="given")
    assert v.monthly(0) == pytest.approx(30_400)
    assert v.monthly(1) == pytest.approx(33_440) and v.monthly(12) == pytest.approx(30_400 * 1.1**12)
    assert v.projection(3) == pytest.approx([33_440, 36_784, 40_462.4]) and v.projection(0) == []
    with pytest.raises(ValueError):
        v.monthly(-1)


def test_describe_and_bad_windows():
    v = Volume(days=31, daily=[], mean_daily=6944, weekday_mean=7900, weekend_mean=4600, typical_daily=6957.1,
               growth_per_month=0.031, growth_note="log-linear fit on 31 days")
    assert describe(v) == "6,957/day (weekdays 7,900, weekends 4,600), growing +3.1%/month (log-linear fit on 31 days)"
    with pytest.raises(ValueError, match="outside the window"):
        volume(_frame([1, 1], MONDAY), MONDAY, MONDAY)
    with pytest.raises(ValueError, match="before it starts"):
        volume(_frame([], MONDAY), MONDAY, MONDAY - timedelta(days=1))
    assert volume(_frame([], MONDAY), MONDAY, MONDAY + timedelta(days=20)).typical_daily == 0


def test_the_bundled_month_classifier(tmp_path):
    db = str(tmp_path / "sample.duckdb")
    api.ingest([str(SAMPLE_LOGS)], db)
    con = duckdb.connect(db, read_only=True)
    try:
        frame = pl.DataFrame(con.sql("SELECT template_id, ts, 1.0/coalesce(sample_rate, 1.0) AS weight FROM requests"))
        start, end = con.execute("SELECT min(ts)::DATE, max(ts)::DATE FROM requests").fetchall()[0]
        [tid] = [t for t, label in con.execute("SELECT template_id, label FROM templates").fetchall()
                 if label.startswith("You are the ticket router")]
    finally:
        con.close()
    v = volume(frame.filter(pl.col("template_id") == tid), start, end)
    assert (start, end, v.days) == (date(2026, 10, 1), date(2026, 10, 31), 31)

    # Ground truth from the generator: each day's real volume is 8,000 (weekday) or 5,000 (weekend)
    # × _day_factor (linear, −4% to +4% over the month) × a 3% jitter, then 2% of it is logged
    # (binomial), each logged line standing for 50. One day's relative noise is therefore
    # √(0.03² + 0.98 / logged lines): ~8.5% on a weekday, ~10% on a weekend day.
    traffic = bench_script("traffic")
    rate = traffic.CLASSIFIER_SAMPLE_RATE
    expected = [traffic._expected_lines("ticket_classifier", d) / rate for d in range(1, 32)]
    truth = volume(_frame(expected, start), start, end)  # the noise-free month through the same rules
    assert (round(truth.weekday_mean), round(truth.weekend_mean)) == (8001, 4999)

    def tolerance(per_day: float, days: int) -> float:  # 3 standard errors of a mean over `days` days
        return 3 * math.sqrt(0.03**2 + (1 - rate) / (per_day * rate)) / math.sqrt(days)

    assert v.weekday_mean == pytest.approx(truth.weekday_mean, rel=tolerance(8000, 22))  # ±5.4%
    assert v.weekend_mean == pytest.approx(truth.weekend_mean, rel=tolerance(5000, 9))  # ±10.4%
    assert v.typical_daily == pytest.approx(truth.typical_daily, rel=tolerance(8000, 22))  # its σ ≈ 1.6% < 1.8%
    assert v.mean_daily == pytest.approx(frame.filter(pl.col("template_id") == tid)["weight"].sum() / 31)
    # The linear ±4% of the generator is +8.4%/month as a log-linear rate. With ≤10% noise a day, the
    # slope's standard error over 31 days is ≤ 0.10 / √(Σ(t − t̄)² ≈ 2,470) per day ≈ 6.2%/month: 3σ ≈ 19 points.
    assert truth.growth_per_month == pytest.approx(0.0845, abs=5e-4)
    assert abs(v.growth_per_month - truth.growth_per_month) < 0.19
    # One noisy month cannot tell its fit (+4.9% ± 6.4%) from no growth: none is projected, and the note says so.
    assert v.growth_per_month == 0 and "within 2 standard errors" in v.growth_note and "31 days" in v.growth_note
