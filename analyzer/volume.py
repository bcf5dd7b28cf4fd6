"""The volume of one template over time: its daily series, weekly pattern, growth and projection.

The caller passes one template's requests (``ts``: naive UTC datetime, ``weight``: 1 / sample rate)
and the window, the first and last calendar day of the whole database. Nothing is read from disk;
the rules, and where each stops being right:

* **Daily series.** Requests are summed by their weight per UTC calendar day, and every day of the
  window is present: a day without requests of this template is a zero-volume day, not a missing
  one. Limits: the window's first and last days may be partial (the log started at noon), and count
  as whole days; a row without a weight counts as one request; a row outside the window is an
  error, since the window is meant to be the database's own.
* **Weekly pattern.** ``weekday_mean`` and ``weekend_mean`` are means over the window's Mon–Fri and
  Sat–Sun days (zeros included). ``typical_daily`` = (5 × weekday mean + 2 × weekend mean) / 7 is
  the calendar-weighted day, so a window that holds more weekend days than 2 in 7 (one that starts
  or ends on a weekend) does not bias it, while ``mean_daily`` (total / days) does lean that way.
  A window without weekend days (or without weekdays) uses the plain mean for the missing group.
  Limits: only the weekday/weekend split is modelled, not Monday peaks or holidays; a template that
  began mid-window has its means diluted by the days before it existed.
* **Growth.** A least-squares line through ln(volume) of the days with volume > 0, against the day
  number, with the weekly pattern removed: weekdays and weekend days each get their own level and
  share one slope. That is dividing each day by its day type's ratio, with the ratio fitted together
  with the trend rather than taken from the window's means; means over a growing series confound
  the pattern with growth whenever weekend days are not spread evenly through the window (they
  never exactly are), and would bias an exact exponential series. The monthly rate is
  exp(slope × 30.4) − 1, clamped to [−50%, ``max_growth``] (a one-month log cannot justify doubling
  every month). It is not fitted (0, with the reason in ``growth_note``) when the window is shorter
  than ``min_days_for_growth`` days or has fewer than 7 days with requests. Limits: zero days are
  left out, not read as a ramp, so a template that started mid-window is fitted on its own days
  only; one month of noisy days gives a wide estimate (±6 points a month at ~9% daily noise over
  31 days), so a fit within ``SIGNIFICANT`` standard errors of zero projects no growth.
* **Projection.** Month m after the window (1 = the first) holds typical_daily × 30.4 × (1 + growth)^m.
  Limits: typical_daily is the window's level at its middle, so m = 1 is one month later only for a
  window of about a month; for a longer window the projection runs behind the trend by
  (days / 2 − 15.2) / 30.4 months of growth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl

DAYS_PER_MONTH = 30.4  # 365 / 12, the month the report bills in
MIN_GROWTH = -0.5  # a fit losing more than half its volume a month is read as noise, not a trend
MIN_NONZERO_DAYS = 7  # a week of days with requests: fewer cannot separate trend from weekday


@dataclass(frozen=True)
class Volume:
    """One template's volume over the window and its projection."""

    days: int  # calendar days in the window, both ends included
    daily: list[float]  # weighted requests per calendar day over the window (zeros included)
    mean_daily: float  # sum(daily) / days: what the report calls daily_requests today
    weekday_mean: float  # mean over Mon–Fri days of the window
    weekend_mean: float  # mean over Sat–Sun days of the window (0.0 if the window has none)
    typical_daily: float  # (5 * weekday_mean + 2 * weekend_mean) / 7: not biased by where the window starts
    growth_per_month: float  # fitted month-over-month growth (0.05 = +5%/month); 0.0 when not measurable
    growth_note: str  # how it was fitted, or why it is 0

    def monthly(self, month: int) -> float:
        """Projected requests in month ``month`` after the window (1 = the first; 0 = a month at today's level)."""
        if month < 0:
            raise ValueError(f"month must be >= 0, not {month}")
        return self.typical_daily * DAYS_PER_MONTH * (1.0 + self.growth_per_month) ** month

    def projection(self, months: int) -> list[float]:
        """Projected requests in months 1..``months`` after the window."""
        if months < 0:
            raise ValueError(f"months must be >= 0, not {months}")
        return [self.monthly(m) for m in range(1, months + 1)]


def volume(requests: pl.DataFrame, start: date, end: date, *, min_days_for_growth: int = 14,
           max_growth: float = 1.0) -> Volume:
    """The volume of one template's ``requests`` (columns ``ts``, ``weight``) over the window [start, end].

    Raises:
        ValueError: the window is empty, ``max_growth`` is below the −50% floor, or a request lies
            outside the window.
    """
    if end < start:
        raise ValueError(f"the window ends ({end}) before it starts ({start})")
    if max_growth < MIN_GROWTH:
        raise ValueError(f"max_growth {max_growth} is below the floor of {MIN_GROWTH}")
    daily = _daily(requests, start, end)
    days = len(daily)
    weekend = [(start + timedelta(days=i)).weekday() >= 5 for i in range(days)]
    mean_daily = sum(daily) / days
    weekday_days = [v for v, we in zip(daily, weekend, strict=True) if not we]
    weekend_days = [v for v, we in zip(daily, weekend, strict=True) if we]
    weekday_mean = sum(weekday_days) / len(weekday_days) if weekday_days else 0.0
    weekend_mean = sum(weekend_days) / len(weekend_days) if weekend_days else 0.0
    # A group the window lacks stands at the plain mean, so typical_daily falls back to mean_daily.
    typical_daily = ((5 * (weekday_mean if weekday_days else mean_daily)
                      + 2 * (weekend_mean if weekend_days else mean_daily)) / 7)
    growth, note = _growth(daily, weekend, min_days_for_growth, max_growth)
    return Volume(days, daily, mean_daily, weekday_mean, weekend_mean, typical_daily, growth, note)


def describe(v: Volume) -> str:
    """One line for a person, e.g. "6,944/day (weekdays 7,900, weekends 4,600), growing +3.1%/month (…)"."""
    head = f"{v.typical_daily:,.0f}/day (weekdays {v.weekday_mean:,.0f}, weekends {v.weekend_mean:,.0f})"
    if not v.growth_note.startswith("log-linear"):
        return f"{head}, growth not measured ({v.growth_note})"
    trend = "growing" if v.growth_per_month >= 0 else "shrinking"
    return f"{head}, {trend} {v.growth_per_month:+.1%}/month ({v.growth_note})"


def _daily(requests: pl.DataFrame, start: date, end: date) -> list[float]:
    """Weighted requests per calendar day of [start, end], zeros where a day has none."""
    days = (end - start).days + 1
    daily = [0.0] * days
    if requests.is_empty():
        return daily
    ts = pl.col("ts")
    if getattr(requests.schema["ts"], "time_zone", None):  # aware: the calendar day is UTC's
        ts = ts.dt.convert_time_zone("UTC")
    per_day = (requests.lazy()
               .select(ts.dt.date().alias("day"),
                       # no weight = a request logged unsampled: it stands for itself
                       pl.col("weight").cast(pl.Float64).fill_null(1.0).alias("weight"))
               .drop_nulls("day")
               .group_by("day").agg(pl.col("weight").sum())
               .collect())
    for day, weight in per_day.iter_rows():
        i = (day - start).days
        if not 0 <= i < days:
            raise ValueError(f"a request on {day} lies outside the window {start}..{end}")
        daily[i] = weight
    return daily


#: A fitted growth is projected only when it is at least this many standard errors from zero.
SIGNIFICANT = 2.0


def _growth(daily: list[float], weekend: list[bool], min_days: int, max_growth: float) -> tuple[float, str]:
    """Monthly growth fitted on the days with volume, and one sentence on how (or why not)."""
    days = len(daily)
    if days < min_days:
        return 0.0, f"not fitted: window shorter than {min_days} days ({days} days)"
    points = [(t, math.log(v), we) for t, (v, we) in enumerate(zip(daily, weekend, strict=True)) if v > 0]
    if len(points) < MIN_NONZERO_DAYS:
        return 0.0, f"not fitted: fewer than {MIN_NONZERO_DAYS} days with requests ({len(points)})"
    # One slope, one level per day type: centre t and ln(v) within each group, then ordinary least
    # squares through the origin. A group of one day is centred to nothing and only sets its level.
    centred: list[tuple[float, float]] = []
    levels = 0
    for group in (False, True):
        ts = [t for t, _, we in points if we is group]
        ys = [y for _, y, we in points if we is group]
        if ts:
            levels += 1
            t_bar, y_bar = sum(ts) / len(ts), sum(ys) / len(ys)
            centred += [(t - t_bar, y - y_bar) for t, y in zip(ts, ys, strict=True)]
    sxx = sum(dt * dt for dt, _ in centred)
    sxy = sum(dt * dy for dt, dy in centred)
    if sxx == 0:  # unreachable with >= 7 distinct days, kept so the division cannot fail
        return 0.0, "not fitted: the days with requests carry no trend"
    slope = sxy / sxx
    free = len(centred) - 1 - levels  # residual degrees of freedom: one slope, one level per day type
    ssr = sum((dy - slope * dt) ** 2 for dt, dy in centred)
    se_slope = math.sqrt(ssr / free / sxx) if free > 0 else 0.0
    factor = math.exp(min(slope * DAYS_PER_MONTH, 700.0))  # capped below float overflow; clamped anyway
    rate = factor - 1.0
    se_rate = DAYS_PER_MONTH * factor * se_slope  # delta method
    left_out = days - len(points)
    on = f"{days} days" if not left_out else f"{len(points)} of {days} days ({left_out} without requests left out)"
    note = f"log-linear fit on {on}, weekly pattern removed, standard error ±{se_rate:.1%}/month"
    if abs(rate) < SIGNIFICANT * se_rate:
        # A month of noisy days cannot tell such a trend from none; projecting it would be a guess.
        return 0.0, (f"the fit's {rate:+.1%}/month is within {SIGNIFICANT:g} standard errors (±{se_rate:.1%}) "
                     f"of no growth on {on}: none projected")
    clamped = min(max(rate, MIN_GROWTH), max_growth)
    if clamped != rate:
        note += f"; the fit's {rate:+.1%}/month clamped to {clamped:+.1%}, more than one window can justify"
    return clamped, note
