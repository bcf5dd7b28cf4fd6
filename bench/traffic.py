"""Generate a month of realistic OpenAI Chat Completions logs, deterministically.

The month is October 2026 (UTC). Four features of a small online shop ("Larkspur Home") call the API
through a logging middleware that writes one JSON object per call; one gzip JSONL file per day under
``OUT/2026-10/requests-2026-10-DD.jsonl.gz``, lines sorted by timestamp:

* ``ticket_classifier`` (gpt-4o): ~700-token routing policy + 8 static few-shot pairs + the live
  ticket, output a 1–3 token label. ~8,000 calls per weekday, ~5,000 per weekend day, logged at 2%
  (``"sample_rate": 0.02`` on its lines only). The clear fine-tuning candidate.
* ``invoice_extraction`` (gpt-4o-mini): ~250-token system prompt (one rule added on 16 October at
  09:00: a second version of the same template), strict ``json_schema`` response format, an
  invoice/order email in, compact JSON out. ~60 per weekday, processed in scheduled
  batch runs of a mailbox poller.
* ``support_assistant`` (gpt-4.1-mini): system prompt + 3 tools, sessions of 2–8 turns whose later
  requests carry the earlier user turns and the assistant replies exactly as returned.
* ``call_summarizer`` (gpt-4o): ~1,800-token house style guide, a long call transcript in, a long
  summary out. ~15 per weekday, in three batch runs a day.

Why batch runs and low-median lengths: deflate's window is 32 KB, and lines of 5-20 KB that each
carry a 1-8 KB static prompt only compress well when the same feature's previous line is close. The
back-office features arriving in bursts, at modest volumes, keep sample_logs at ~5 MB.

``usage.prompt_tokens`` is computed with ``analyzer.tokenizing.Counter`` exactly as OpenAI bills text;
``cached_tokens`` follows OpenAI's automatic caching of a static prefix of ≥ 1,024 tokens.

Shapes come from the public traces in ``../shared/corpus`` when that folder exists (arrival gaps
within the hour from the Azure 2023 traces, token lengths from Azure ContextTokens/GeneratedTokens
and Mooncake input/output lengths, each rescaled into a feature's range on a log scale so the
empirical shape is kept). Without the corpus (a user's clone) the same code draws from lognormal
distributions whose parameters were fitted once on those files and are hard-coded below; the
output is then still deterministic but not byte-identical to the corpus-shaped run.

Same arguments → byte-identical files: every random choice comes from ``random.Random`` seeded with
a string derived from ``seed`` (per feature and day), gzip headers carry ``mtime=0`` and no name.

Usage::

    python bench/traffic.py --out sample_logs --preset sample
    python bench/traffic.py --out /tmp/logs --preset bench --requests 100000
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import math
import os
import random
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from analyzer.tokenizing import REPLY_PRIMING, Counter  # noqa: E402

DEFAULT_SEED = 20261001
MONTH_START = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 31
MONTH_END_US = DAYS * 86_400_000_000 - 60_000_000  # 2026-10-31 23:59:00Z, in µs from the month start
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus"
FEATURES = ("ticket_classifier", "invoice_extraction", "support_assistant", "call_summarizer")
CACHE_MIN_PREFIX = 1024  # OpenAI caches a prompt prefix only from 1,024 tokens, in steps of 128
CACHE_HIT_RATE = 0.9
CLASSIFIER_SAMPLE_RATE = 0.02

# --------------------------------------------------------------------------------------------------
# Shapes: traces from the corpus, or lognormal fits of the same traces
# --------------------------------------------------------------------------------------------------

# (mu, sigma) of ln(value), fitted once on the corpus files (2026-11, corpus snapshot of SOURCES.md):
# python -c over the CSV/JSONL columns, mean and stdev of the natural log. Used (a) to standardise
# a value drawn from the trace before rescaling it into a feature's range, and (b) as the fallback
# distribution when the corpus is absent (then z ~ N(0, 1) directly).
FITTED = {
    "azure_conv_context": (6.633, 0.985),  # AzureLLMInferenceTrace_conv.csv ContextTokens, n=19,366
    "azure_conv_generated": (5.019, 0.859),  # … GeneratedTokens
    "azure_code_context": (6.999, 1.360),  # AzureLLMInferenceTrace_code.csv ContextTokens, n=8,819
    "azure_code_generated": (2.788, 0.847),  # … GeneratedTokens
    "mooncake_input": (8.737, 1.199),  # mooncake/conversation_trace.jsonl input_length, n=12,031
    "mooncake_output": (5.336, 1.358),  # … output_length
    "azure_conv_gap": (-2.384, 1.481),  # seconds between consecutive conv arrivals (mean 0.18 s, CV 1.09)
    "azure_code_gap": (-4.052, 2.776),  # seconds between consecutive code arrivals (CV 13: very bursty)
}


# Where a trace's median length lands inside a feature's range, on a log scale (0 = lo, 1 = hi).
# Real length distributions are right-skewed, so the median sits low and the tail reaches hi.
LENGTH_MEDIAN_AT = 0.3
# Transcripts: most calls are short; kept low also to hold sample_logs near a few MB.
TRANSCRIPT_MEDIAN_AT = 0.1


class Shapes:
    """Length and inter-arrival samplers, empirical when the corpus is present, fitted otherwise."""

    def __init__(self, corpus_dir: Path | None):
        self.columns: dict[str, list[float]] = {}
        self.source = "built-in lognormal fits (corpus not found)"
        if corpus_dir is not None and (corpus_dir / "azure2023" / "AzureLLMInferenceTrace_conv.csv").is_file():
            self._load(corpus_dir)
            self.source = str(corpus_dir)

    @property
    def empirical(self) -> bool:
        return bool(self.columns)

    def _load(self, corpus: Path) -> None:
        for name in ("conv", "code"):
            path = corpus / "azure2023" / f"AzureLLMInferenceTrace_{name}.csv"
            stamps, ctx, gen = [], [], []
            with path.open(newline="") as fh:
                for row in csv.DictReader(fh):
                    stamp = row["TIMESTAMP"]
                    day, clock = stamp.split(" ")
                    h, m, s = clock.split(":")
                    stamps.append(int(h) * 3600 + int(m) * 60 + float(s) + (0 if day.endswith("16") else 86400))
                    ctx.append(float(row["ContextTokens"]))
                    gen.append(float(row["GeneratedTokens"]))
            gaps = [max(b - a, 1e-6) for a, b in pairwise(stamps)]
            self.columns[f"azure_{name}_context"] = ctx
            self.columns[f"azure_{name}_generated"] = gen
            self.columns[f"azure_{name}_gap"] = gaps
        mooncake = corpus / "mooncake" / "conversation_trace.jsonl"
        if mooncake.is_file():
            inputs, outputs = [], []
            with mooncake.open() as fh:
                for line in fh:
                    if line.strip():
                        row = json.loads(line)
                        inputs.append(float(row["input_length"]))
                        outputs.append(float(max(row["output_length"], 1)))
            self.columns["mooncake_input"] = inputs
            self.columns["mooncake_output"] = outputs
        # Standardise with the fit of the data actually loaded (equal to FITTED for the snapshot).
        self.fits = dict(FITTED)
        for key, values in self.columns.items():
            if key.endswith("_gap"):
                continue
            logs = [math.log(v) for v in values if v > 0]
            mean = sum(logs) / len(logs)
            sd = math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))
            self.fits[key] = (mean, sd)

    def z(self, rng: random.Random, source: str) -> float:
        """A standard score of ln(length) drawn from the named trace column."""
        values = self.columns.get(source)
        if not values:
            return rng.gauss(0.0, 1.0)
        mu, sigma = self.fits[source]
        return (math.log(max(rng.choice(values), 1.0)) - mu) / sigma

    def length(self, rng: random.Random, source: str, lo: int, hi: int, at: float | None = None) -> int:
        """A length in [lo, hi] with the trace's shape, rescaled on a log scale.

        The trace's median maps to ``at`` (default LENGTH_MEDIAN_AT) of the way from lo to hi (log scale) and 4 standard deviations
        span the range, so the long right tail of real lengths is kept; values outside are redrawn
        (a truncated distribution, no spikes at the bounds).
        """
        span = math.log(hi) - math.log(lo)
        centre, spread = math.log(lo) + (LENGTH_MEDIAN_AT if at is None else at) * span, span / 4
        for _ in range(20):
            value = round(math.exp(centre + self.z(rng, source) * spread))
            if lo <= value <= hi:
                return value
        return int(min(max(value, lo), hi))

    def arrivals(self, rng: random.Random, n: int, source: str) -> list[float]:
        """n arrival offsets in [0, 1) of an hour: a run of n+1 consecutive trace gaps, stretched to the hour.

        Consecutive gaps keep the trace's burstiness (clusters and lulls), only the rate is rescaled.
        """
        if n <= 0:
            return []
        gaps = self.columns.get(f"{source}_gap")
        if gaps:
            start = rng.randrange(len(gaps))
            run = [gaps[(start + i) % len(gaps)] for i in range(n + 1)]
        else:
            mu, sigma = FITTED[f"{source}_gap"]
            run = [rng.lognormvariate(mu, sigma) for _ in range(n + 1)]
        # A random phase: the first gap is only partly inside the hour.
        run[0] *= rng.random()
        total = sum(run)
        offsets, acc = [], 0.0
        for gap in run[:-1]:
            acc += gap
            offsets.append(acc / total)
        return offsets

    def run_arrivals(self, rng: random.Random, n: int, source: str) -> list[float]:
        """Offsets in seconds of n calls made one after another by a batch run.

        A run of consecutive real gaps from the trace (seconds, unscaled, each capped at 30 s): the
        bursty code trace has many near-simultaneous calls and a few pauses, like a worker pool.
        """
        gaps = self.columns.get(f"{source}_gap")
        mu, sigma = FITTED[f"{source}_gap"]
        start = rng.randrange(len(gaps)) if gaps else 0
        t, offsets = rng.uniform(0.5, 20.0), []  # the poller's start-up and fetch time
        for i in range(n):
            offsets.append(t)
            gap = gaps[(start + i) % len(gaps)] if gaps else rng.lognormvariate(mu, sigma)
            t += min(gap, 30.0)
        return offsets


# --------------------------------------------------------------------------------------------------
# Volumes and time profiles
# --------------------------------------------------------------------------------------------------

# Hourly weights (UTC). The shop sells in the US, Canada and the UK: a European morning shoulder,
# the peak where UK afternoon and US morning overlap, a US-afternoon tail, quiet nights.
PROFILE_CONSUMER_WEEKDAY = [1.2, 0.9, 0.7, 0.5, 0.4, 0.5, 0.9, 1.8, 3.0, 3.9, 4.3, 4.5,
                            4.8, 5.6, 6.2, 6.4, 6.1, 5.7, 5.0, 4.3, 3.6, 2.9, 2.2, 1.6]
PROFILE_CONSUMER_WEEKEND = [1.6, 1.3, 1.0, 0.8, 0.6, 0.6, 0.8, 1.2, 1.9, 2.7, 3.4, 3.9,
                            4.2, 4.4, 4.5, 4.5, 4.3, 4.1, 3.8, 3.5, 3.1, 2.7, 2.3, 1.9]
# Back-office work (accounts payable inbox, the US call centre's wrap-up): office hours only.
PROFILE_OFFICE_WEEKDAY = [0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.2, 0.6, 1.5, 2.5, 3.0, 3.2,
                          3.4, 4.8, 6.0, 6.3, 6.1, 5.9, 5.4, 5.6, 5.2, 3.8, 1.6, 0.5]
PROFILE_OFFICE_WEEKEND = [0.3, 0.2, 0.2, 0.1, 0.1, 0.1, 0.2, 0.4, 0.8, 1.2, 1.6, 1.9,
                          2.2, 2.8, 3.2, 3.4, 3.3, 3.1, 2.8, 2.5, 2.0, 1.4, 0.8, 0.4]


@dataclass(frozen=True)
class Volume:
    """Logged units per day (requests, or sessions for the assistant) before growth and noise."""

    weekday: float
    weekend: float
    profile_weekday: list[float]
    profile_weekend: list[float]
    gaps: str  # trace whose inter-arrival gaps shape arrivals within the hour
    # Back-office jobs run in batches: work arrives over the day (profile) and a scheduled run at
    # these UTC hours processes whatever arrived since the previous run.
    runs_weekday: tuple[float, ...] = ()
    runs_weekend: tuple[float, ...] = ()


# The classifier's real volume is 8,000 / 5,000 calls; the middleware logs 2% of them.
VOLUMES = {
    "ticket_classifier": Volume(8000 * CLASSIFIER_SAMPLE_RATE, 5000 * CLASSIFIER_SAMPLE_RATE,
                                PROFILE_CONSUMER_WEEKDAY, PROFILE_CONSUMER_WEEKEND, "azure_conv"),
    # The accounts-payable mailbox is polled four times a day (twice on weekends) and each run works
    # through the new mail with a small worker pool: the bursty Azure code trace gives the gaps.
    "invoice_extraction": Volume(60, 15, PROFILE_OFFICE_WEEKDAY, PROFILE_OFFICE_WEEKEND, "azure_code",
                                 runs_weekday=(9.0, 13.0, 17.0, 21.5), runs_weekend=(12.0, 20.0)),
    "support_assistant": Volume(20, 12, PROFILE_CONSUMER_WEEKDAY, PROFILE_CONSUMER_WEEKEND, "azure_conv"),
    # Call recordings are transcribed and summarised by a job that runs three times a day.
    "call_summarizer": Volume(15, 4, PROFILE_OFFICE_WEEKDAY, PROFILE_OFFICE_WEEKEND, "azure_code",
                              runs_weekday=(16.0, 20.0, 23.5), runs_weekend=(14.0, 23.5)),
}
# Turns per assistant session, 2–8 (mean 4.2), a chat-support shape: most sessions are short.
SESSION_TURNS = {2: 0.22, 3: 0.22, 4: 0.18, 5: 0.13, 6: 0.11, 7: 0.08, 8: 0.06}
MEAN_TURNS = sum(k * w for k, w in SESSION_TURNS.items()) / sum(SESSION_TURNS.values())
GROWTH_PER_MONTH = 0.08  # traffic grows ~8% over the month (linear), so a growth fit has something to find


def _day_date(day: int) -> datetime:
    return MONTH_START + timedelta(days=day - 1)


def _is_weekend(day: int) -> bool:
    return _day_date(day).weekday() >= 5


def _day_factor(day: int) -> float:
    return 1.0 + GROWTH_PER_MONTH * ((day - 1) / (DAYS - 1) - 0.5)


def _expected_lines(feature: str, day: int) -> float:
    vol = VOLUMES[feature]
    base = (vol.weekend if _is_weekend(day) else vol.weekday) * _day_factor(day)
    return base * (MEAN_TURNS if feature == "support_assistant" else 1.0)


def _largest_remainder(total: int, weights: list[float]) -> list[int]:
    """Split an integer total in proportion to weights, exactly (ties to the earlier index)."""
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    shares = [total * w / whole for w in weights]
    counts = [int(s) for s in shares]
    order = sorted(range(len(weights)), key=lambda i: (-(shares[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def plan_lines(preset: str, requests: int | None, seed: int) -> dict[str, list[int]]:
    """Logged lines per feature per day (index 0 = October 1).

    ``sample`` draws each day's count around its expected volume (binomial thinning for the
    classifier's 2% sample); with ``requests`` the month holds exactly that many request lines,
    split over features and days in proportion to the sample volumes.
    """
    plan: dict[str, list[int]] = {}
    if requests is None:
        for feature in FEATURES:
            rng = random.Random(f"{seed}:plan:{feature}")
            counts = []
            for day in range(1, DAYS + 1):
                vol = VOLUMES[feature]
                units = (vol.weekend if _is_weekend(day) else vol.weekday) * _day_factor(day)
                if feature == "ticket_classifier":
                    real = units / CLASSIFIER_SAMPLE_RATE * rng.gauss(1.0, 0.03)
                    mean = real * CLASSIFIER_SAMPLE_RATE
                    n = round(rng.gauss(mean, math.sqrt(mean * (1 - CLASSIFIER_SAMPLE_RATE))))
                else:
                    n = round(rng.gauss(units, math.sqrt(units)))
                counts.append(max(n, 0))
            plan[feature] = counts  # sessions for the assistant: turned into lines when generated
        return plan
    expected = {f: [_expected_lines(f, d) for d in range(1, DAYS + 1)] for f in FEATURES}
    per_feature = _largest_remainder(requests, [sum(expected[f]) for f in FEATURES])
    for feature, total in zip(FEATURES, per_feature, strict=True):
        plan[feature] = _largest_remainder(total, expected[feature])
    return plan


# --------------------------------------------------------------------------------------------------
# Shared word banks
# --------------------------------------------------------------------------------------------------

FIRST_NAMES = ["Olivia", "Liam", "Amelia", "Noah", "Priya", "Mateo", "Chloe", "Ethan", "Hannah", "Lucas",
               "Sofia", "James", "Aisha", "Daniel", "Grace", "Omar", "Emily", "Ryan", "Mei", "Jack",
               "Isabel", "Samuel", "Fatima", "Oscar", "Zoe", "Henry", "Leah", "Marcus", "Nadia", "Tom",
               "Rachel", "Kwame", "Ava", "Diego", "Ellen", "Victor", "Maya", "Connor", "Yuki", "Bridget"]
LAST_NAMES = ["Smith", "Patel", "Nguyen", "Garcia", "Johnson", "Okafor", "Brown", "Kowalski", "Murphy",
              "Lee", "Martin", "Silva", "Wilson", "Khan", "Thompson", "Rossi", "Walker", "Chen", "Evans",
              "Dubois", "Hughes", "Schmidt", "Campbell", "Ali", "Baker", "O'Connor", "Fischer", "Reid"]
AGENT_NAMES = ["Dana", "Marcus", "Priya", "Leo", "Sandra", "Kofi", "Hannah", "Raj", "Bethany", "Tomás"]
CITIES = ["Portland", "Austin", "Leeds", "Toronto", "Denver", "Bristol", "Chicago", "Calgary", "Atlanta",
          "Manchester", "Seattle", "Ottawa", "Phoenix", "Glasgow", "Boston", "Vancouver", "Nashville"]
RELATIVES = ["mum", "dad", "sister", "brother", "wife", "husband", "daughter", "son", "best friend", "grandmother"]
SALES = ["Black Friday preview", "autumn", "Labor Day", "back-to-school", "members' early access", "clearance"]
CARRIERS = ["UPS", "FedEx", "USPS", "Canada Post", "Royal Mail"]
CARD_BRANDS = ["Visa", "Mastercard", "Amex", "PayPal account", "debit card"]

# (name, price in USD, kind)
PRODUCTS = [
    ("Aerio 2 air purifier", 189.00, "appliance"), ("Brevo gooseneck kettle", 79.00, "appliance"),
    ("Cinder cast-iron skillet, 28 cm", 64.50, "cookware"), ("Harbor linen duvet cover, queen", 148.00, "textile"),
    ("Fenwick stand mixer", 329.00, "appliance"), ("Tallis ceramic dinner set, 12 pieces", 119.00, "tableware"),
    ("Moss wool throw blanket", 92.00, "textile"), ("Quill chef's knife, 20 cm", 85.00, "cookware"),
    ("Orla smart coffee grinder", 159.00, "appliance"), ("Juno glass food storage set", 46.00, "kitchen"),
    ("Pike robot vacuum R7", 399.00, "appliance"), ("Wren bamboo cutting board", 34.00, "kitchen"),
    ("Sable dutch oven, 5.5 qt", 139.00, "cookware"), ("Lumen bedside lamp", 68.00, "home"),
    ("Halden towel bundle, 6 pieces", 72.00, "textile"), ("Kestrel espresso machine", 549.00, "appliance"),
    ("Ivy herb planter kit", 39.00, "home"), ("Rook cordless stick vacuum", 279.00, "appliance"),
    ("Saffron spice rack, 24 jars", 58.00, "kitchen"), ("Beacon smart thermostat", 169.00, "appliance"),
    ("Nimbus memory-foam pillow", 74.00, "textile"), ("Alder oak serving tray", 49.00, "tableware"),
    ("Marlow water filter pitcher", 42.00, "kitchen"), ("Drift humidifier", 99.00, "appliance"),
]
SUBSCRIPTIONS = ["filter refills for the Aerio purifier", "the monthly coffee bean subscription",
                 "the descaler and cleaning tablets plan", "the Marlow filter cartridge subscription"]


def _order_id(rng: random.Random) -> str:
    return f"LH-{rng.randrange(2_100_000, 2_999_999)}"


def _money(value: float, symbol: str = "$") -> str:
    return f"{symbol}{value:,.2f}"


def _date_words(d: datetime) -> str:
    return f"{d.strftime('%B')} {d.day}"


def _slots(rng: random.Random, when: datetime) -> dict[str, Any]:
    """Random fillers for sentence templates, consistent within one text."""
    product, price, _ = rng.choice(PRODUCTS)
    product2, _, _ = rng.choice(PRODUCTS)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    past = when - timedelta(days=rng.randint(3, 28))
    future = when + timedelta(days=rng.randint(2, 20))
    qty = rng.choice([1, 1, 1, 2, 2, 3])
    return {
        "first": first, "last": last, "name": f"{first} {last}",
        "email": f"{first.lower()}.{last.lower().replace(chr(39), '')}{rng.randint(1, 99)}@{rng.choice(['gmail.com', 'outlook.com', 'yahoo.com', 'icloud.com', 'proton.me'])}",
        "phone": f"({rng.randint(201, 989)}) {rng.randint(200, 999)}-{rng.randint(1000, 9999)}",
        "product": product, "product2": product2, "qty": qty,
        "amount": _money(price * qty), "amount2": _money(round(price * rng.choice([0.1, 0.15, 0.2, 0.5]), 2)),
        "order": _order_id(rng), "order2": _order_id(rng),
        "date_past": _date_words(past), "date_future": _date_words(future),
        "days": rng.choice([3, 4, 5, 7, 10, 12, 14]), "years": rng.choice([2, 3, 4, 5, 6, 8]),
        "city": rng.choice(CITIES), "relative": rng.choice(RELATIVES), "sale": rng.choice(SALES),
        "carrier": rng.choice(CARRIERS), "card_brand": rng.choice(CARD_BRANDS),
        "last4": f"{rng.randint(0, 9999):04d}", "tracking": f"1Z{rng.randrange(16**10):010X}{rng.randint(10, 99)}",
        "subscription": rng.choice(SUBSCRIPTIONS), "minutes": rng.choice([10, 15, 20, 30, 45]),
        "code": rng.choice(["AUTUMN15", "WELCOME10", "FREESHIP", "HOME20", "LOYAL25"]),
        "error": rng.choice(["Something went wrong (E1042)", "Payment could not be processed",
                             "Session expired, please sign in again", "Error 502 Bad Gateway",
                             "Device not found", "Firmware update failed (code 7)"]),
    }


def _fill(template: str, slots: dict[str, Any]) -> str:
    return template.format(**slots)


def _grow(counter: Counter, pieces: list[str], pool: list[str], target: int, rng: random.Random,
          slots: dict[str, Any], sep: str = " ", allow_repeat: bool = True, shuffle: bool = True) -> list[str]:
    """Append filled sentences from pool (shuffled unless told; again when used up if allowed) until ~target tokens."""
    tokens = sum(counter.text(p) for p in pieces)
    order: list[str] = []
    rounds = 0
    while tokens < target and pool:
        if not order:
            if rounds and not allow_repeat:
                break
            order = list(reversed(pool))
            if shuffle:
                rng.shuffle(order)
            rounds += 1
        sentence = _fill(order.pop(), slots)
        pieces.append(sentence)
        tokens += counter.text(sep + sentence)
    return pieces


# --------------------------------------------------------------------------------------------------
# Feature 1: ticket classifier (gpt-4o, 2% sampled)
# --------------------------------------------------------------------------------------------------

CLASSIFIER_SYSTEM = """You are the ticket router for Larkspur Home, an online shop for kitchen and home goods that ships to the United States, Canada and the United Kingdom. Every message you receive is one customer ticket from email, the contact form or the in-app chat. Read it and reply with exactly one category label from the list below, in lower case, with no punctuation, no quotes and no explanation. The label decides which queue the ticket lands in and which service level applies, so precision matters more than speed.

Categories:
billing: questions about charges, invoices, receipts, payment methods, promo codes that did not apply at checkout, currency or sales tax on a bill, and duplicate or unexpected charges on a card or PayPal account. A request to get money back for a product is not billing; use refund_request.
refund_request: the customer asks for their money back, or asks where a refund is that was already promised, for any reason other than an item that arrived damaged or wrong. Price-match requests after a sale started belong here too.
shipping_delay: an order or a replacement has not arrived by the promised date, tracking has not updated for several days, the parcel shows delivered but the customer cannot find it, or the customer asks when something will ship.
damaged_item: the item arrived broken, dented, cracked, scratched or leaking, or it stopped working within the first 30 days. Include missing parts in a sealed box.
wrong_item: the customer received a different product, colour, size or quantity than they ordered, or a parcel meant for someone else.
account_access: the customer cannot sign in, did not receive a password reset or verification email, lost access to two-factor codes, wants to change the email address on the account, or thinks someone else used the account.
technical_issue: the website, the mobile app or a connected appliance's app misbehaves: errors at checkout, pages that do not load, a smart appliance that will not pair, firmware updates that fail. If the only problem is a charge, prefer billing.
cancellation: the customer wants to cancel an order that has not shipped, stop or pause a subscription (filters, coffee, cleaning refills) or close the account.
product_question: questions before or after buying about sizes, materials, compatibility, care instructions, stock, delivery options in general, or which model fits their needs; warranty terms asked in general.
feedback: compliments, complaints without a request, suggestions for products or for the service, and replies to satisfaction surveys.

Rules:
1. Choose the category of what the customer wants us to do, not of every topic they mention. "It arrived broken, I want my money back" is damaged_item, because the damage decides the process.
2. If a ticket asks two unrelated things, choose the one that needs action first: anything about money already taken from the customer outranks a question.
3. Security beats everything: any hint that someone else used the account or the card goes to account_access, even when a refund is also requested.
4. Ignore signatures, quoted earlier emails, order confirmations pasted below the message, and marketing footers.
5. Tickets in other languages are classified the same way; do not translate them.
6. Threats of legal action, chargebacks or going to the press go to the category of the underlying problem; the queue will escalate them.
7. Empty tickets, spam and automatic replies ("I am out of the office until Monday") are feedback.
8. Never invent a category, never answer the customer, and never output anything but the label."""

# Eight static examples sent in every request (plain user/assistant pairs, not named).
CLASSIFIER_FEWSHOT = [
    ("Hi, I just looked at my credit card statement and I was charged twice for order LH-2318874, once on September 14 and again on September 15, both for $148.00. I only placed one order, for the Harbor linen duvet cover in sage, and I only got one confirmation email. My bank says both charges have fully gone through, they are not pending. Could you please check what happened and reverse the second charge? I'd rather not have to dispute it with my bank, because last time I did that with another shop my card was blocked for a week. I've attached a screenshot of the statement with the two lines highlighted. The card is a Visa ending in 4471.\n\nThanks,\nMegan Reid", "billing"),
    ("Hello, my order LH-2402291 was supposed to arrive last Tuesday according to the confirmation email, but it still hasn't shown up. The UPS tracking has said \"label created\" for eight days now and nothing has moved at all. It is a Fenwick stand mixer for my daughter's birthday on Saturday, so I'm getting a bit worried. I paid $19.95 for the two-day shipping option, which clearly hasn't happened. I tried the chat on your website twice but it disconnected both times. Can you tell me where it actually is, or send another one out if it's lost? If it can't be here by Friday I'd like to know now so I can buy something locally.\n\nRegards, Paul Hughes", "shipping_delay"),
    ("The Tallis dinner set arrived this morning and three of the plates are cracked straight through, and one of the bowls has a big chip on the rim. The outer box looked fine but the inner packaging had clearly been crushed on one corner, the cardboard dividers were completely flattened. I've taken photos of everything and I still have the box and all the packing material. We have guests coming on the 24th, which is why I ordered it in the first place. I would like replacements for the broken pieces, not the whole set, and I'd rather not wait for a return to be processed first. Order LH-2377410.\n\nThanks, Anita", "damaged_item"),
    ("I can't log into my account anymore. I reset my password twice today but the reset email never arrives, not even in the spam folder. I also noticed that the email on my last order confirmation is not mine, it says j.k.morrow@ something, which I have never used. There's also an order from Sunday for a Kestrel espresso machine that I definitely didn't place. I'm worried someone has got into my account and is using my saved card. Please lock the account until we sort this out and cancel that order if it hasn't shipped. You can call me on the number on the account if you need to verify it's me.\n\nDiane Morrow", "account_access"),
    ("Hi there, I returned the Pike robot vacuum on September 2 with the prepaid label you sent, and the tracking shows your warehouse received it on September 6. Your email said refunds take 5 to 7 business days, but it has now been almost three weeks and I haven't seen the $399 back on my Mastercard. I've checked my statement every day. I also got an automatic email asking me to review the vacuum, which makes me think the return hasn't been logged at all. Could you check on it and let me know when I can expect the money? I still have the post office receipt. Order number LH-2298105.\n\nThank you, Raj", "refund_request"),
    ("Good afternoon, I ordered the Cinder skillet in the 28 cm size (order LH-2411863) but the box that came today has the 20 cm one inside. The packing slip says 28 cm and so does my order confirmation, so I think it was just picked wrong at the warehouse. The rest of the order, the Wren cutting board and the spice rack, was all correct. I'd like to swap the skillet for the size I actually paid for, since the small one doesn't fit what I cook. Do I need to send this one back first, or can you ship the right one straight away? I haven't taken it out of the plastic.\n\nMany thanks, Claire Dubois", "wrong_item"),
    ("Quick question before I order: is the Sable dutch oven safe to use on an induction hob, and can it go in the oven at 250\u00b0C with the lid on? The product page mentions gas and electric but says nothing about induction, and the reviews disagree. Also, does the enamel come in a darker colour than the grey shown in the photos? Our kitchen is mostly black and wood, so the grey would look a bit odd. I'm trying to decide between this one and the Cinder skillet as a housewarming gift for my brother, who cooks a lot of stews and bread. If you have a bundle with both, that would be even better.\n\nCheers, Ben", "product_question"),
    ("Please cancel my coffee bean subscription effective immediately. I have moved to a new flat with a different machine, a pod one, and I won't need the beans anymore. I looked everywhere, but I don't see a cancel button in the app, only a pause option, which isn't what I want. The next box is scheduled to ship on October 5 and I do not want it, I have enough beans for months. If it has already been packed, please don't send it. I've been a subscriber for two years and the coffee was great, it's just not practical now. Please confirm by email once it's cancelled so I'm not charged again.\n\nThank you, Lucy Fischer", "cancellation"),
]

CLASSIFIER_LABELS = ["billing", "refund_request", "shipping_delay", "damaged_item", "wrong_item",
                     "account_access", "technical_issue", "cancellation", "product_question", "feedback"]
# Ticket mix (share of real tickets by category).
CLASSIFIER_MIX = [0.13, 0.12, 0.2, 0.1, 0.05, 0.08, 0.07, 0.07, 0.12, 0.06]

TICKET_GREETINGS = ["Hi,", "Hello,", "Hi there,", "Hello Larkspur team,", "Good morning,", "Dear customer service,",
                    "Hey,", "Good afternoon,", "To whom it may concern,", "", "", ""]
TICKET_SIGNOFFS = ["Thanks,\n{first}", "Thank you,\n{name}", "Regards,\n{name}", "Cheers, {first}", "Best,\n{first}",
                   "Thanks in advance, {first}", "{first}\n\nSent from my iPhone", "Kind regards,\n{name}\n{phone}",
                   "{name}", "Many thanks\n{first}"]
TICKET_CONTEXT = [
    "I have been ordering from you for about {years} years and this has never happened before.",
    "I already tried the chat on your website but it kept disconnecting after a couple of minutes.",
    "This is the second time I am writing about this, I never got an answer to my first email.",
    "My order number is {order} in case you need it.",
    "I placed the order on {date_past} using the email {email}.",
    "It was meant to be a present for my {relative}, so the timing really matters to me.",
    "I live in {city}, if that makes any difference.",
    "I checked the help centre first but could not find anything that covers this.",
    "I'm usually very happy with your products, so I hope we can sort this out quickly.",
    "You can reach me at this address or on {phone} during the day.",
    "Honestly I am a bit frustrated, I have spent most of my lunch break on this.",
    "I don't have the original packaging anymore, I hope that is not a problem.",
    "My partner also has an account with you, but this order was placed on mine.",
    "Please let me know if you need photos or any other information from me.",
    "I'm travelling from {date_future} for two weeks, so email is the best way to reach me.",
    "Your confirmation email said it would take {days} business days.",
    "I bought it during the {sale} sale, if that matters.",
    "The total on the order was {amount}.",
    "I paid with my {card_brand} ending in {last4}.",
    "I'm not great with computers, so sorry if this is a silly question.",
    "I also ordered the {product2} at the same time, and that part of the order was fine.",
    "I phoned yesterday and waited on hold for {minutes} minutes before giving up.",
    "A friend recommended your shop and so far I really like the quality.",
    "I would appreciate a reply today if at all possible.",
]
TICKET_BODY: dict[str, dict[str, list[str]]] = {
    "billing": {
        "core": ["I was charged twice for order {order}, both for {amount}.",
                 "There is a charge of {amount} on my {card_brand} from Larkspur Home that I don't recognise.",
                 "The promo code {code} was accepted in the basket but the discount is not on my receipt.",
                 "I need a proper VAT invoice for order {order}, the receipt in the email doesn't show the tax.",
                 "I was charged {amount2} for shipping even though the order was over the free-shipping threshold.",
                 "My card was charged {amount} for order {order} but the order shows as cancelled in my account."],
        "detail": ["The second charge appeared on {date_past}, two days after the first one.",
                   "My bank says the charge is not pending any more, it has fully gone through.",
                   "I only got one confirmation email, so I am sure I only placed one order.",
                   "The invoice needs to show my company name because I'm claiming it as a business expense.",
                   "I can send you a screenshot of my statement if that helps.",
                   "The amount is not huge, but I'd like to understand what it is for.",
                   "Checkout showed the total in Canadian dollars but I was billed in US dollars.",
                   "The charge description just says LARKSPUR*HOME with a reference number."],
        "ask": ["Could you please reverse the extra charge?", "Can you tell me what this charge is for?",
                "Please send me a corrected invoice.", "Could you apply the discount and refund the difference?",
                "I'd rather not raise a dispute with my bank, so please sort it out."],
    },
    "refund_request": {
        "core": ["I returned the {product} on {date_past} and still haven't received my refund of {amount}.",
                 "I'd like to return the {product} for a refund, it just isn't what I expected.",
                 "The {product} went on sale two days after I bought it and I'd like the difference refunded.",
                 "You told me on the phone that a refund for order {order} had been issued, but nothing has arrived.",
                 "I would like my money back for the {product}, I changed my mind and it's still unopened."],
        "detail": ["The tracking for the return shows it was delivered to your warehouse on {date_past}.",
                   "Your website says refunds take 5 to 7 business days, and it has been {days} already.",
                   "I used the prepaid return label from the email.",
                   "It's still in the original box with all the plastic on.",
                   "The colour looks very different in person compared to the photos online.",
                   "I paid {amount} and the sale price is now much lower.",
                   "I have the return receipt from the post office with the tracking number on it.",
                   "I would prefer the money back on my card rather than store credit."],
        "ask": ["Could you check where my refund is?", "How do I start the return?",
                "Please refund the difference to my original payment method.",
                "When can I expect the money back in my account?"],
    },
    "shipping_delay": {
        "core": ["My order {order} was supposed to arrive by {date_past} and it still hasn't come.",
                 "The {carrier} tracking for my parcel hasn't updated in {days} days.",
                 "The tracking says my order was delivered yesterday but there's nothing here.",
                 "I ordered the {product} almost two weeks ago and it still says 'processing'.",
                 "When will order {order} actually ship? It has said 'preparing' since {date_past}."],
        "detail": ["The tracking number is {tracking}.",
                   "I have checked with my neighbours and the building's front desk, nobody has it.",
                   "The last scan was at a depot two states away.",
                   "I paid {amount2} for express delivery, which clearly wasn't express.",
                   "I need it before {date_future} because we're hosting the family that weekend.",
                   "The delivery photo in the app shows a door that isn't mine.",
                   "Other orders I placed after this one have already arrived.",
                   "The estimated delivery date keeps moving back by a day every day."],
        "ask": ["Can you tell me where it actually is?", "Could you send a replacement if it's lost?",
                "Please refund the shipping fee at least.", "Can you chase the courier for me?"],
    },
    "damaged_item": {
        "core": ["The {product} arrived today and it's damaged.",
                 "My {product} stopped working after only {days} days.",
                 "When I opened the box the {product} was cracked down one side.",
                 "The {product} arrived with a big dent and some of the parts are missing.",
                 "The {product} leaks from the base every time I use it."],
        "detail": ["The outer box looked fine but the inner packaging was crushed on one corner.",
                   "I've taken photos of the damage and I still have all the packaging.",
                   "It makes a loud clicking noise and then switches itself off.",
                   "The power light blinks red three times and nothing else happens.",
                   "There is water all over the counter every morning.",
                   "The manual mentions a second filter but there was only one in the box.",
                   "I only used it as described in the instructions.",
                   "Some of the screws for the base were missing from the bag."],
        "ask": ["Could you send a replacement?", "What do I need to do to get it exchanged?",
                "I would like a replacement rather than a refund if possible.", "How do I send it back?"],
    },
    "wrong_item": {
        "core": ["I ordered the {product} but received the {product2} instead.",
                 "The parcel I got today contains somebody else's order.",
                 "I ordered {qty} of the {product} but only one came in the box.",
                 "I received the {product} in the wrong colour."],
        "detail": ["The packing slip has my name on it but lists different items.",
                   "The parcel is addressed to someone on a different street.",
                   "The invoice inside shows the right item, so I think it was picked wrong at the warehouse.",
                   "I haven't opened the inner packaging of the wrong item.",
                   "I ordered the grey one and got a bright yellow one.",
                   "I need the correct one before {date_future} if at all possible."],
        "ask": ["Can you send the right one?", "Do I need to send this back first?",
                "Please arrange a collection for the wrong item.", "How do we fix this?"],
    },
    "account_access": {
        "core": ["I can't log into my account anymore.",
                 "The password reset email never arrives, I have tried {qty} times now.",
                 "I've lost my phone and can't get the two-factor codes to sign in.",
                 "I think someone else has been using my account.",
                 "I need to change the email address on my account, I no longer use {email}."],
        "detail": ["I've checked my spam and junk folders.",
                   "There is an order on my account for a {product} that I never placed.",
                   "The app just says the verification code is invalid.",
                   "My saved card ending in {last4} is still on the account.",
                   "I got an email saying my password was changed, but I didn't change it.",
                   "I can't remember which email I originally signed up with."],
        "ask": ["Please lock my account until this is sorted out.", "Can you reset it for me?",
                "How can I get back in?", "Please remove my saved card from the account."],
    },
    "technical_issue": {
        "core": ["Your website gives me an error at checkout: '{error}'.",
                 "The Larkspur app crashes every time I open my order history.",
                 "My {product} won't pair with the app anymore after the last update.",
                 "The firmware update for my {product} keeps failing.",
                 "The product pages won't load on my phone, I just get a blank white screen."],
        "detail": ["I've tried two different browsers and cleared my cookies.",
                   "I'm using an iPhone with the latest iOS.",
                   "I've unplugged it and reset it to factory settings twice.",
                   "It was working fine until about a week ago.",
                   "The router is right next to it, so it's not the Wi-Fi signal.",
                   "Other apps work fine on my phone.",
                   "I get as far as the payment page and then it logs me out."],
        "ask": ["Is this a known problem?", "Can you tell me how to fix it?",
                "Is there another way to place the order?", "Could someone from your tech team look at this?"],
    },
    "cancellation": {
        "core": ["Please cancel order {order}, I placed it by mistake.",
                 "I'd like to cancel {subscription}.",
                 "Please close my account and delete my data.",
                 "Can I cancel my order {order}? It hasn't shipped yet.",
                 "I want to pause {subscription} for two months."],
        "detail": ["I found the same thing cheaper locally.",
                   "I ordered the wrong size and would rather just start again.",
                   "I don't see a cancel button anywhere in the app, only pause.",
                   "The next delivery is scheduled for {date_future} and I don't want it.",
                   "We're moving house and won't need it anymore.",
                   "I don't want to be charged again."],
        "ask": ["Please confirm by email once it's cancelled.", "Can you make sure I'm not charged again?",
                "Let me know when that's done.", "Thanks for sorting this out."],
    },
    "product_question": {
        "core": ["Is the {product} suitable for an induction hob?",
                 "What are the dimensions of the {product} once it's assembled?",
                 "Does the {product} come with a warranty, and how long is it?",
                 "Will the {product} be back in stock before {date_future}?",
                 "Can the {product} go in the dishwasher?",
                 "Which is better for a small flat, the {product} or the {product2}?"],
        "detail": ["The product page doesn't really say.",
                   "I'm trying to decide between two models for a gift.",
                   "My kitchen counter is quite narrow, so size matters.",
                   "I have a cat, so I'm wondering how it copes with pet hair.",
                   "I'd like to buy {qty} of them if they are in stock.",
                   "The reviews mention it gets noisy, is that still the case with the new version?",
                   "Do you ship it to {city}?"],
        "ask": ["Thanks for any advice.", "Could you let me know?", "Any recommendation would help.",
                "I'll order as soon as I hear back."],
    },
    "feedback": {
        "core": ["I just wanted to say the {product} is fantastic.",
                 "I'm disappointed with how long it took to get a reply last time.",
                 "Suggestion: it would be great if the app showed the delivery window.",
                 "Your delivery driver {first} was really helpful today.",
                 "I am out of the office until {date_future} with limited access to email."],
        "detail": ["It's the best one I've owned.",
                   "The packaging was also much less wasteful than other shops.",
                   "No need to reply, just passing it on.",
                   "I filled in the survey but there wasn't space for comments.",
                   "Maybe consider offering it in more colours."],
        "ask": ["Keep up the good work.", "Just thought you should know.", "Thanks."],
    },
}


class TicketClassifier:
    model = "gpt-4o"
    response_model = "gpt-4o-2024-08-06"
    temperature = 0

    def __init__(self, shapes: Shapes):
        self.shapes = shapes
        self.counter = Counter(self.model)
        self.static = [{"role": "system", "content": CLASSIFIER_SYSTEM}]
        for ticket, label in CLASSIFIER_FEWSHOT:
            self.static += [{"role": "user", "content": ticket}, {"role": "assistant", "content": label}]
        self.static_tokens = sum(self.counter.message(m, cache=True) for m in self.static)

    def ticket(self, rng: random.Random, when: datetime) -> tuple[str, str]:
        label = rng.choices(CLASSIFIER_LABELS, CLASSIFIER_MIX)[0]
        body = TICKET_BODY[label]
        slots = _slots(rng, when)
        target = self.shapes.length(rng, "azure_conv_context", 60, 400)
        pieces = [_fill(rng.choice(body["core"]), slots)]
        # The issue's own details come first more often than the customer's general context.
        details, context = body["detail"][:], TICKET_CONTEXT[:]
        rng.shuffle(details)
        rng.shuffle(context)
        extras = []
        while details or context:
            take = details if details and (not context or rng.random() < 0.6) else context
            extras.append(take.pop())
        ask = _fill(rng.choice(body["ask"]), slots)
        # Leave room for greeting, ask and sign-off (~25 tokens).
        _grow(self.counter, pieces, extras, max(target - 25, 10), rng, slots, allow_repeat=False, shuffle=False)
        keep = pieces[:1] + pieces[1:]
        if len(keep) > 2:  # the ask goes somewhere in the second half
            keep.insert(rng.randint((len(keep) + 1) // 2, len(keep)), ask)
        else:
            keep.append(ask)
        text = " ".join(keep)
        if rng.random() < 0.3:  # paragraphs
            cut = rng.randint(1, max(len(keep) - 1, 1))
            text = " ".join(keep[:cut]) + "\n\n" + " ".join(keep[cut:])
        greeting = rng.choice(TICKET_GREETINGS)
        signoff = _fill(rng.choice(TICKET_SIGNOFFS), slots)
        text = (greeting + "\n\n" if greeting else "") + text.strip() + "\n\n" + signoff
        # The model is right ~96% of the time; its mistakes are plausible neighbours.
        if rng.random() < 0.04:
            label = rng.choice(CLASSIFIER_LABELS)
        return text, label

    def requests(self, rng: random.Random, when_us: int, ) -> list:
        when = MONTH_START + timedelta(microseconds=when_us)
        text, label = self.ticket(rng, when)
        messages = self.static + [{"role": "user", "content": text}]
        prompt = self.static_tokens + self.counter.message(messages[-1]) + REPLY_PRIMING
        request = {"model": self.model, "messages": messages, "temperature": self.temperature}
        return [(when_us, request, label, prompt, self.static_tokens)]


# --------------------------------------------------------------------------------------------------
# Feature 2: invoice / order JSON extraction (gpt-4o-mini, json_schema)
# --------------------------------------------------------------------------------------------------

INVOICE_SYSTEM = """You extract structured data from supplier documents received in the accounts payable inbox of Larkspur Home. Each message contains one email with an invoice or an order confirmation, sometimes with quoted replies, signatures and legal footers. Return only the fields of the schema.

Rules:
- document_type is "invoice" when the document asks for payment and "order_confirmation" when it confirms goods ordered or shipped.
- vendor_name is the legal name of the company that issued the document, not the person who sent the email.
- document_number is the invoice or order number exactly as printed, including any prefix.
- Dates use ISO 8601 (YYYY-MM-DD). If no due date is stated but payment terms are (for example "Net 30"), compute it from the issue date; otherwise due_date is null.
- currency is the ISO 4217 code of the amounts.
- Amounts are numbers without currency symbols or thousands separators. total_amount includes tax and shipping; tax_amount is 0 when no tax is shown.
- line_items lists every product line with its description, quantity and unit price; leave out shipping, discounts and tax lines.
- Never guess a value that is not in the document."""

# Mid-month the accounts team edits the prompt: one rule added. The same template, a second version.
INVOICE_SYSTEM_V2 = INVOICE_SYSTEM + """
- A credit note is not an invoice: when the document refunds money, document_type is "order_confirmation" and the amounts are negative."""
INVOICE_V2_FROM = datetime(2026, 10, 16, 9, 0, tzinfo=UTC)

INVOICE_SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "invoice_fields",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {
                "document_type": {"type": "string", "enum": ["invoice", "order_confirmation"]},
                "vendor_name": {"type": "string", "description": "Legal name of the issuing company"},
                "document_number": {"type": "string", "description": "Invoice or order number as printed"},
                "issue_date": {"type": "string", "description": "Date of the document, YYYY-MM-DD"},
                "due_date": {"type": ["string", "null"], "description": "Payment due date, YYYY-MM-DD, or null"},
                "currency": {"type": "string", "enum": ["USD", "EUR", "GBP", "CAD"]},
                "tax_amount": {"type": "number", "description": "Total tax, 0 if none"},
                "total_amount": {"type": "number", "description": "Grand total including tax and shipping"},
                "line_items": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "description": {"type": "string"},
                            "quantity": {"type": "number"},
                            "unit_price": {"type": "number"},
                        },
                        "required": ["description", "quantity", "unit_price"],
                        "additionalProperties": False,
                    },
                },
            },
            "required": ["document_type", "vendor_name", "document_number", "issue_date", "due_date",
                         "currency", "tax_amount", "total_amount", "line_items"],
            "additionalProperties": False,
        },
    },
}

# (legal name, short name, domain, currency, symbol, tax label, tax rate, number prefix, goods)
VENDORS = [
    ("Northfield Ceramics Ltd", "Northfield", "northfieldceramics.co.uk", "GBP", "£", "VAT 20%", 0.20, "NFC-",
     ["Stoneware dinner plate 27 cm, sage", "Stoneware pasta bowl, oat", "Porcelain mug 350 ml, white", "Serving platter 40 cm, speckled"]),
    ("Brightwater Packaging Co.", "Brightwater", "brightwaterpack.com", "USD", "$", "Sales tax", 0.0825, "BW",
     ["Double-wall shipping carton 40x30x30", "Molded pulp insert, kettle", "Paper void fill, 500 ft roll", "Kraft tape 48 mm x 100 m"]),
    ("Keller & Sohn Metallwaren GmbH", "Keller & Sohn", "keller-sohn.de", "EUR", "€", "USt. 19%", 0.19, "RE-",
     ["Cast-iron skillet blank 28 cm", "Enamelled dutch oven lid 5.5 qt", "Stainless knife blank 20 cm", "Trivet, black steel"]),
    ("Tidewater Freight Services LLC", "Tidewater Freight", "tidewaterfreight.com", "USD", "$", "", 0.0, "TFS-",
     ["LTL freight Seattle to Portland DC", "Container drayage, Port of Tacoma", "Liftgate service", "Pallet storage, per week"]),
    ("Maple Ridge Textiles Inc.", "Maple Ridge", "mapleridgetextiles.ca", "CAD", "CA$", "GST/HST 13%", 0.13, "MRT",
     ["Linen duvet cover, queen, sage", "Waffle bath towel, stone", "Wool throw 130x170, moss", "Cotton pillowcase pair, white"]),
    ("Shenzhen Evergood Electric Appliance Co., Ltd.", "Evergood", "evergood-appliance.com", "USD", "$", "", 0.0, "EG",
     ["Gooseneck kettle KT-200 (Brevo)", "Burr grinder assembly CG-5", "Stick vacuum battery pack 2500 mAh", "Humidifier ultrasonic module"]),
    ("Greenleaf Office Supply", "Greenleaf", "greenleafoffice.com", "USD", "$", "Sales tax", 0.07, "INV-",
     ["Thermal labels 4x6, 500 ct", "Printer toner TN-760", "Copy paper, 10 reams", "Packing list envelopes, 1000 ct"]),
    ("Oakhurst Wood Products Ltd", "Oakhurst", "oakhurstwood.co.uk", "GBP", "£", "VAT 20%", 0.20, "OWP/",
     ["Oak serving tray 45 cm", "Bamboo cutting board, large", "Walnut salad servers, pair", "Spice rack frame, 24 jar"]),
    ("Cascade Coffee Roasters", "Cascade", "cascaderoasters.com", "USD", "$", "", 0.0, "CCR-",
     ["Whole bean house blend, 5 lb", "Single origin Huila, 5 lb", "Decaf Swiss water, 5 lb", "Subscription bags, printed, 1000 ct"]),
    ("Fjord Filtration AS", "Fjord", "fjordfiltration.no", "EUR", "€", "MVA 25%", 0.25, "FF",
     ["HEPA filter H13 for Aerio 2", "Carbon pre-filter sheet", "Pitcher cartridge, 6-pack", "Humidifier wick filter"]),
    ("Lumina Lighting Wholesale", "Lumina", "luminawholesale.com", "USD", "$", "Sales tax", 0.06, "LLW",
     ["Bedside lamp base, ceramic", "Linen lampshade 30 cm", "LED bulb E26 2700K, 12-pack", "Inline switch cable 1.8 m"]),
    ("Pacific Rim Logistics Inc.", "Pacific Rim", "pacrimlogistics.com", "USD", "$", "", 0.0, "PRL-",
     ["Ocean freight 40ft HC, Yantian to Tacoma", "Customs brokerage entry", "ISF filing", "Chassis usage, 3 days"]),
]
INVOICE_PARAGRAPHS = [
    "Please note that our bank details changed on {bank_change}; payments to the old account will be returned.",
    "Goods remain the property of {short} until paid in full. Late payments may incur interest at 1.5% per month.",
    "This delivery was shipped in {pallets} pallets via {carrier}; the proof of delivery is available on request.",
    "If you have any questions about this invoice, reply to this email or call our accounts team on {vendor_phone}, Monday to Friday, 9am to 5pm.",
    "Our warehouse will be closed from {closure} for the annual stock take, so orders placed in that week will ship the following Monday.",
    "As discussed with {buyer}, the remaining items on back order will ship separately and be invoiced when they leave our warehouse.",
    "Thank you for your continued business. We are pleased to confirm that your volume discount has been applied to this order.",
    "CONFIDENTIALITY NOTICE: This email and any attachments are intended only for the named recipient and may contain confidential information. If you received it in error, please notify the sender and delete it.",
    "Please consider the environment before printing this email.",
    "Remittance advice can be sent to remittance@{domain}. Please quote the document number on your payment.",
    "We have updated our terms and conditions; the current version is available on our website and applies to all orders from {bank_change}.",
    "The prices on this document include the fuel surcharge of {surcharge}% agreed for the current quarter.",
    "> On {prev_date}, {buyer} wrote:\n> Hi {contact}, could you send over the paperwork for the last delivery? Our AP team needs it before month end. Thanks!",
    "Kindly confirm receipt of this document. If the goods arrived damaged, please report it within 5 working days with photos.",
]
INVOICE_OPENERS = [
    "Please find below our {doc_word} {number} for your recent order.",
    "Attached and copied below is {doc_word} {number}.",
    "Thank you for your order. This email confirms {doc_word} {number}.",
    "Following our conversation last week, here is {doc_word} {number}.",
    "As requested, please see the details of {doc_word} {number} below.",
]


class InvoiceExtraction:
    model = "gpt-4o-mini"
    response_model = "gpt-4o-mini-2024-07-18"
    temperature = 0

    def __init__(self, shapes: Shapes):
        self.shapes = shapes
        self.counter = Counter(self.model)
        self.versions = [[{"role": "system", "content": text}] for text in (INVOICE_SYSTEM, INVOICE_SYSTEM_V2)]
        self.versions_tokens = [sum(self.counter.message(m, cache=True) for m in static)
                                + self.counter.response_format(INVOICE_SCHEMA) for static in self.versions]

    def document(self, rng: random.Random, when: datetime) -> tuple[str, dict]:
        legal, short, domain, currency, symbol, tax_label, tax_rate, prefix, goods = rng.choice(VENDORS)
        is_invoice = rng.random() < 0.75
        number = f"{prefix}{rng.randint(2026, 2026)}-{rng.randint(1000, 99999):05d}" if rng.random() < 0.5 \
            else f"{prefix}{rng.randint(100000, 999999)}"
        issued = when - timedelta(days=rng.randint(0, 6))
        terms = rng.choice([None, 15, 30, 30, 45, 60])
        explicit_due = rng.random() < 0.5
        due = issued + timedelta(days=terms) if (terms and is_invoice) else None
        out_target = self.shapes.length(rng, "azure_code_generated", 60, 150)
        n_items = min(max(round((out_target - 55) / 20), 1), len(goods))
        items = []
        for desc in rng.sample(goods, n_items):
            qty = rng.choice([1, 2, 4, 6, 10, 12, 24, 48, 100, 250])
            unit = round(rng.uniform(1.5, 90.0) * (1 if qty > 10 else rng.uniform(1, 12)), 2)
            items.append({"description": desc, "quantity": qty, "unit_price": unit})
        subtotal = round(sum(i["quantity"] * i["unit_price"] for i in items), 2)
        shipping = round(rng.choice([0, 0, 25, 45.5, 120, 310]) * 1.0, 2)
        tax = round((subtotal + shipping) * tax_rate, 2)
        total = round(subtotal + shipping + tax, 2)
        buyer = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        contact = rng.choice(FIRST_NAMES)
        slots = {
            "doc_word": "invoice" if is_invoice else "order confirmation", "number": number, "short": short,
            "domain": domain, "carrier": rng.choice(CARRIERS + ["DHL Freight", "XPO"]), "buyer": buyer.split()[0],
            "contact": contact, "pallets": rng.randint(1, 9), "vendor_phone": f"+1 {rng.randint(201, 989)} {rng.randint(200, 999)} {rng.randint(1000, 9999)}",
            "bank_change": _date_words(when - timedelta(days=rng.randint(10, 60))),
            "closure": _date_words(when + timedelta(days=rng.randint(7, 40))),
            "prev_date": (when - timedelta(days=rng.randint(1, 5))).strftime("%a, %d %b %Y"),
            "surcharge": rng.choice([3.5, 4, 6.2, 8]),
        }
        lines = [f"From: {contact} <accounts@{domain}>",
                 "To: Larkspur Home Accounts Payable <ap@larkspurhome.com>",
                 f"Date: {issued.strftime('%a, %d %b %Y')} {rng.randint(7, 18):02d}:{rng.randint(0, 59):02d}",
                 f"Subject: {'Invoice' if is_invoice else 'Order confirmation'} {number}"
                 + (f" - PO {rng.randint(4500000, 4599999)}" if rng.random() < 0.6 else ""),
                 "", rng.choice(["Hello,", f"Hi {buyer.split()[0]},", "Dear Accounts Payable team,", "Good morning,"]), "",
                 _fill(rng.choice(INVOICE_OPENERS), slots), "",
                 f"{legal}", f"{'Invoice' if is_invoice else 'Order'} no.: {number}",
                 f"Date: {issued.strftime(rng.choice(['%d/%m/%Y', '%B %d, %Y', '%Y-%m-%d', '%d %b %Y']))}"]
        if due and explicit_due:
            lines.append(f"Due date: {due.strftime('%B %d, %Y')}")
        if terms and is_invoice:
            lines.append(f"Payment terms: Net {terms}")
        lines.append("")
        for i, item in enumerate(items, 1):
            amount = item["quantity"] * item["unit_price"]
            lines.append(f"{i}. {item['description']} - qty {item['quantity']} x {symbol}{item['unit_price']:,.2f} = {symbol}{amount:,.2f}")
        lines += ["", f"Subtotal: {symbol}{subtotal:,.2f}"]
        if shipping:
            lines.append(f"Shipping: {symbol}{shipping:,.2f}")
        if tax:
            lines.append(f"{tax_label or 'Tax'}: {symbol}{tax:,.2f}")
        lines.append(f"{'Total due' if is_invoice else 'Order total'}: {symbol}{total:,.2f} {currency}")
        head = "\n".join(lines)
        sign = f"\nKind regards,\n{contact} {rng.choice(LAST_NAMES)}\nAccounts Receivable | {legal}\n{domain}"
        target = self.shapes.length(rng, "azure_code_context", 200, 700)
        extra = _grow(self.counter, [], INVOICE_PARAGRAPHS, max(target - self.counter.text(head + sign), 0),
                      rng, slots, sep="\n\n", allow_repeat=False)
        body = head + ("\n\n" + "\n\n".join(extra) if extra else "") + "\n" + sign
        # When the due date is not stated, the model computes it from Net terms (as the system prompt says).
        fields = {
            "document_type": "invoice" if is_invoice else "order_confirmation",
            "vendor_name": legal, "document_number": number,
            "issue_date": issued.strftime("%Y-%m-%d"),
            "due_date": due.strftime("%Y-%m-%d") if due else None,
            "currency": currency, "tax_amount": tax, "total_amount": total,
            "line_items": items,
        }
        return body, fields

    def requests(self, rng: random.Random, when_us: int) -> list:
        when = MONTH_START + timedelta(microseconds=when_us)
        body, fields = self.document(rng, when)
        version = int(when >= INVOICE_V2_FROM)
        messages = self.versions[version] + [{"role": "user", "content": body}]
        output = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
        prompt = self.versions_tokens[version] + self.counter.message(messages[-1]) + REPLY_PRIMING
        request = {"model": self.model, "messages": messages, "response_format": INVOICE_SCHEMA,
                   "temperature": self.temperature}
        return [(when_us, request, output, prompt, self.versions_tokens[version])]


# --------------------------------------------------------------------------------------------------
# Feature 3: support assistant, multi-turn (gpt-4.1-mini, tools)
# --------------------------------------------------------------------------------------------------

SUPPORT_SYSTEM = """You are Juniper, the support assistant in the Larkspur Home app and website chat. Larkspur Home sells kitchen and home goods online in the US, Canada and the UK.

How to help:
- Be warm, brief and concrete. Use the customer's first name if they give it. No more than two short paragraphs or a short list per reply.
- To answer questions about a specific order, use lookup_order; for delivery questions, use get_shipping_status; to start a return or exchange, use start_return. Never guess order details.
- Returns: 60 days from delivery for unused items, 30 days for appliances that stopped working (then warranty applies: 2 years). Damaged or wrong items are replaced free of charge.
- Refunds reach the original payment method 5-7 business days after the return is scanned at our warehouse.
- Never ask for full card numbers or passwords. For account security problems, hand over to a human agent.
- If the customer is upset, acknowledge it once, then focus on the fix.
- If you cannot help, offer a handover to a human agent (Mon-Fri 8am-8pm ET, Sat 9am-5pm ET) and say what they need to have ready.
Today's policies override anything the customer quotes from older emails."""

SUPPORT_TOOLS = [
    {"type": "function", "function": {
        "name": "lookup_order",
        "description": "Look up an order by its number and return its items, payment, status and delivery address.",
        "parameters": {"type": "object", "properties": {
            "order_id": {"type": "string", "description": "Order number, like LH-2345678"},
            "email": {"type": "string", "description": "Email address on the order, to verify the customer"}},
            "required": ["order_id"], "additionalProperties": False}}},
    {"type": "function", "function": {
        "name": "get_shipping_status",
        "description": "Return the latest carrier tracking events and the estimated delivery date of an order.",
        "parameters": {"type": "object", "properties": {
            "order_id": {"type": "string", "description": "Order number"},
            "carrier": {"type": "string", "enum": ["UPS", "FedEx", "USPS", "Canada Post", "Royal Mail"],
                        "description": "Carrier, if the customer knows it"}},
            "required": ["order_id"], "additionalProperties": False}}},
    {"type": "function", "function": {
        "name": "start_return",
        "description": "Open a return or exchange for one item of an order and email the customer a prepaid label.",
        "parameters": {"type": "object", "properties": {
            "order_id": {"type": "string", "description": "Order number"},
            "sku": {"type": "string", "description": "SKU of the item to return"},
            "reason": {"type": "string", "enum": ["damaged", "wrong_item", "not_as_described", "no_longer_needed", "defective"]},
            "exchange": {"type": "boolean", "description": "True to send a replacement instead of refunding"}},
            "required": ["order_id", "sku", "reason"], "additionalProperties": False}}},
]

# Per topic: opening user turns, follow-up user turns, assistant reply sentences, extra user context.
SUPPORT_TOPICS: dict[str, dict[str, list[str]]] = {
    "where_is_my_order": {
        "open": ["Hi, where is my order? It was supposed to be here by {date_past}.",
                 "My parcel still hasn't arrived, order {order}.",
                 "hey tracking hasn't moved in {days} days, can you check",
                 "I ordered a {product} and the tracking says delivered but I don't have it."],
        "follow": ["The order number is {order}.", "It's {order}, the email is {email}.",
                   "So when will it actually get here?", "Can you send a new one if it's lost?",
                   "It says {carrier} on the tracking page.", "I need it before {date_future}, is that realistic?",
                   "OK, and if it doesn't turn up by then?", "Can I get the shipping fee back at least?"],
        "reply": ["I've checked order {order}: it left our warehouse on {date_past} with {carrier}.",
                  "The last tracking scan was at the regional depot, and the carrier now estimates delivery on {date_future}.",
                  "Carrier delays like this usually clear within two business days.",
                  "If it hasn't arrived by {date_future}, I can send a replacement straight away at no cost, or refund you in full.",
                  "Sometimes parcels marked as delivered turn up a day later, or with a neighbour or the building's front desk.",
                  "I've added a note to your order so any agent you speak to can see the history.",
                  "Because the delivery is late, I've refunded the {amount2} express shipping fee to your original payment method.",
                  "You'll get an email with the updated tracking link within the hour."],
    },
    "return_or_exchange": {
        "open": ["I want to return the {product}.", "Can I exchange my {product} for a different size?",
                 "The {product} arrived damaged, what do I do?", "I got the wrong item in my order {order}."],
        "follow": ["It's order {order}.", "The box is opened but I haven't used it.",
                   "I'd rather have a replacement than a refund.", "Do I have to pay for the return shipping?",
                   "I don't have a printer for the label.", "How long does the refund take?",
                   "Can you just send the right one now?", "It's the grey one, the {product}."],
        "reply": ["I'm sorry about that. I've opened a return for the {product} on order {order}.",
                  "Your prepaid return label is on its way to {email}; you can drop the parcel at any {carrier} location.",
                  "If you don't have a printer, the label also works as a QR code at the counter.",
                  "Since the item arrived damaged, we'll ship the replacement today without waiting for the return.",
                  "Refunds reach your original payment method 5 to 7 business days after the return is scanned at our warehouse.",
                  "Items can be returned within 60 days of delivery as long as they are unused.",
                  "There's no charge for the return shipping on damaged or wrong items.",
                  "Please keep the original packaging if you still have it; it protects the item on the way back."],
    },
    "product_help": {
        "open": ["How do I descale the {product}?", "My {product} won't connect to the app.",
                 "Is the {product} dishwasher safe?", "The {product} is making a weird noise."],
        "follow": ["I tried that already.", "It's the model I bought last year.", "Where is the reset button?",
                   "The light is blinking orange now.", "Does the warranty cover this?", "OK that worked, thanks!",
                   "What if it happens again?", "I'm on the latest version of the app."],
        "reply": ["Let's try a quick reset first: unplug the {product}, wait 30 seconds, then hold the power button for 10 seconds while plugging it back in.",
                  "The reset button is a small hole on the underside, next to the serial number label; a paperclip works.",
                  "A blinking orange light means it's in pairing mode, so open the app, tap Add device and keep your phone within a few feet.",
                  "For descaling, use one of our descaler tablets or a 1:1 mix of white vinegar and water, run a full cycle, then two cycles of clean water.",
                  "Hand washing is best for the coated parts; the removable tray and the lid are dishwasher safe on the top rack.",
                  "Your {product} is covered by a 2-year warranty, so if the reset doesn't help I can arrange a replacement.",
                  "If it happens again, note what the light does just before, and I'll pass it on to our technical team.",
                  "The latest firmware fixes most pairing problems; the app updates it automatically once the device is connected."],
    },
    "change_order": {
        "open": ["Can I change the delivery address on order {order}?", "I need to add something to my order.",
                 "Can I cancel my order? I ordered the wrong one.", "Can I change the delivery date?"],
        "follow": ["The new address is {street}, {city}.", "It hasn't shipped yet I think.",
                   "I want the {product2} instead.", "Will I be charged again?", "Can you confirm by email?",
                   "What about the discount code I used?"],
        "reply": ["Good news: order {order} hasn't been packed yet, so I can still change it.",
                  "I've updated the delivery address to {street}, {city}; you'll get a confirmation email shortly.",
                  "I've cancelled the {product} and you'll see the refund of {amount} within 5 to 7 business days.",
                  "To swap to the {product2}, I've cancelled the original line and sent you a link with your discount code {code} already applied.",
                  "Once an order is with the carrier I can't change the address, but you can redirect it from the carrier's tracking page.",
                  "You won't be charged twice; the first payment is only an authorisation until the order ships."],
    },
}
SUPPORT_USER_EXTRA = ["I'm at work until 6 so I can't check the door until then.",
                      "This is really annoying to be honest.", "Thanks for the quick answer!",
                      "My name is {first} by the way.", "I ordered it on {date_past}.",
                      "I paid with my {card_brand}.", "It's for a present.", "The app wasn't clear about it.",
                      "I'm in {city}.", "Sorry for all the questions.",
                      "The confirmation email said {days} business days and it's been longer than that.",
                      "I already chatted with someone yesterday but the chat closed."]
SUPPORT_REPLY_OPEN = ["Thanks, {first}!", "Thanks for the details.", "I'm sorry about the wait.",
                      "Happy to help with that.", "Got it.", "Thanks for your patience.", "Of course.", ""]
SUPPORT_REPLY_CLOSE = ["Is there anything else I can help with?", "Does that work for you?",
                       "Let me know if you'd like me to do that.", "Would you like me to go ahead?",
                       "Anything else on this order?", ""]
STREETS = ["12 Alder Lane", "408 Pine Street, Apt 3B", "77 Harbour Road", "1520 Elm Avenue", "9 Chapel Close",
           "233 Queen Street West", "61 Riverside Drive"]


@dataclass
class Session:
    session_id: str
    user: str
    topic: str
    slots: dict[str, Any]
    history: list[dict] = field(default_factory=list)
    history_tokens: int = 0
    used_extras: set[str] = field(default_factory=set)


class SupportAssistant:
    model = "gpt-4.1-mini"
    response_model = "gpt-4.1-mini-2025-04-14"
    temperature = 0.3

    def __init__(self, shapes: Shapes, seed: int):
        self.shapes = shapes
        self.counter = Counter(self.model)
        self.static = [{"role": "system", "content": SUPPORT_SYSTEM}]
        self.static_tokens = (sum(self.counter.message(m, cache=True) for m in self.static)
                              + self.counter.tools(SUPPORT_TOOLS))
        users = random.Random(f"{seed}:users")
        self.users = [f"u_{users.randrange(16**12):012x}" for _ in range(2500)]

    def user_turn(self, rng: random.Random, s: Session, k: int) -> str:
        pool = SUPPORT_TOPICS[s.topic]["open" if k == 0 else "follow"]
        target = self.shapes.length(rng, "azure_conv_context", 8, 120 if k == 0 else 60)
        pieces = [_fill(rng.choice(pool), s.slots)]
        fresh = [e for e in SUPPORT_USER_EXTRA if e not in s.used_extras]  # people rarely repeat themselves
        _grow(self.counter, pieces, fresh, target, rng, s.slots, allow_repeat=False)
        s.used_extras.update(p for p in SUPPORT_USER_EXTRA if _fill(p, s.slots) in pieces)
        if rng.random() < 0.25:
            pieces = [p.lower().rstrip(".") for p in pieces]  # typed on a phone
        return " ".join(pieces)

    def reply(self, rng: random.Random, s: Session, k: int) -> str:
        target = self.shapes.length(rng, "azure_conv_generated", 40, 250)
        opener = _fill(rng.choice(SUPPORT_REPLY_OPEN), s.slots)
        closer = rng.choice(SUPPORT_REPLY_CLOSE)
        pieces = [opener] if opener else []
        # The reply pool is written in the order a conversation progresses: turn k starts further in.
        pool = SUPPORT_TOPICS[s.topic]["reply"]
        start = (2 * k + rng.randint(0, 1)) % len(pool)
        _grow(self.counter, pieces, pool[start:] + pool[:start], target - self.counter.text(closer), rng, s.slots,
              allow_repeat=False, shuffle=False)
        body = pieces[:]
        if len(body) > 3:
            cut = len(body) // 2
            text = " ".join(body[:cut]) + "\n\n" + " ".join(body[cut:])
        else:
            text = " ".join(body)
        return (text + (" " + closer if closer else "")).strip()

    def new_session(self, rng: random.Random, when: datetime) -> Session:
        slots = _slots(rng, when)
        slots["street"] = rng.choice(STREETS)
        return Session(session_id=f"sess_{rng.randrange(16**16):016x}", user=rng.choice(self.users),
                       topic=rng.choice(list(SUPPORT_TOPICS)), slots=slots)

    def session_requests(self, rng: random.Random, start_us: int, turns: int) -> list:
        when = MONTH_START + timedelta(microseconds=start_us)
        s = self.new_session(rng, when)
        offsets = [0]
        for _ in range(turns - 1):
            # Reading the reply and typing the next message: ~1-2 minutes, up to 15.
            offsets.append(offsets[-1] + int(min(max(rng.lognormvariate(math.log(95), 0.6), 20), 900) * 1e6))
        if start_us + offsets[-1] > MONTH_END_US:  # keep the month's last sessions inside the month
            start_us = MONTH_END_US - offsets[-1]
        out = []
        for k in range(turns):
            text = self.user_turn(rng, s, k)
            user_msg = {"role": "user", "content": text}
            user_tokens = self.counter.message(user_msg)
            messages = self.static + s.history + [user_msg]
            prompt = self.static_tokens + s.history_tokens + user_tokens + REPLY_PRIMING
            reply = self.reply(rng, s, k)
            request = {"model": self.model, "messages": messages, "tools": SUPPORT_TOOLS,
                       "temperature": self.temperature, "user": s.user, "metadata": {"session_id": s.session_id}}
            out.append((start_us + offsets[k], request, reply, prompt, self.static_tokens))
            assistant_msg = {"role": "assistant", "content": reply}
            s.history = s.history + [user_msg, assistant_msg]
            s.history_tokens += user_tokens + self.counter.message(assistant_msg)
        return out


# --------------------------------------------------------------------------------------------------
# Feature 4: call-transcript summariser (gpt-4o, long in, long out)
# --------------------------------------------------------------------------------------------------

SUMMARY_SYSTEM = """You write the summary of one recorded customer service call for Larkspur Home, an online shop for kitchen and home goods. The user message is the full automatic transcript of the call. Your summary is stored on the customer's record and read by the next agent who picks up the case, by team leads reviewing quality, and sometimes by the customer relations manager when a complaint is escalated. Follow this house style guide exactly.

# 1. Purpose and audience
The reader has not heard the call and has about thirty seconds. They need to know why the customer called, what was found, what was done, what was promised and who owes the next action. A good summary lets the next agent continue the case without asking the customer to repeat anything. Write for a colleague, not for the customer and not for a lawyer.

# 2. Structure
Always use these sections, in this order, with these exact bold headings, each on its own line:
**Call summary** - one line with the call date, the duration if the transcript shows it, the agent's first name and the customer's first name and last initial.
**Reason for call** - one or two sentences in plain words. Start with the customer's goal, not with the product ("Wants a replacement for a cracked dinner set", not "Dinner set issue").
**What happened** - a bulleted list in chronological order, one fact or action per bullet, at most ten bullets. Include checks the agent made in our systems and what they showed.
**Outcome** - one or two sentences: resolved, partly resolved or unresolved, and the concrete result (refund issued, replacement shipped, troubleshooting steps given).
**Follow-ups** - a checklist of open actions, one per line, written as "- [ ] Owner - action - due date". Owners are Agent, Customer, Warehouse, Billing, Tech support or Carrier. If nothing is open, write "- None".
**Customer sentiment** - one of Positive, Neutral, Frustrated or Angry, followed by a short reason in brackets.
**Flags** - any of: Escalation requested, Legal threat, Chargeback mentioned, Safety issue, Vulnerable customer, Repeat contact, Data protection. Write "None" if none apply.

# 3. Tone and wording
- Neutral, factual and specific. Report what was said and done; do not judge the customer or the agent.
- Past tense for what happened on the call, future tense only for follow-ups.
- Active voice with a clear subject: "Agent issued a refund of $64.50", not "A refund was issued".
- No filler such as "the customer called in regarding", "it was noted that", "at this point in time".
- No emojis, no exclamation marks, no rhetorical questions, no quotations longer than ten words.
- Use the customer's own words only when they matter for the case, for example a complaint about a specific staff member, in double quotes.
- Keep hedges out unless the uncertainty is real; when it is, say who is unsure and why.
- Do not apologise in the summary and do not thank anyone.

# 4. Names, numbers and privacy
- Refer to people as "Customer" and "Agent" after the first line, never by pronoun alone when it could be ambiguous.
- Never copy card numbers, security codes, passwords, dates of birth or full street addresses into the summary, even if the transcript contains them. Write the last four digits of a card at most ("card ending 4242").
- Mask email addresses except the domain ("j***@gmail.com") and phone numbers except the last three digits.
- Order numbers (LH- followed by seven digits), return numbers (RMA-) and tracking numbers are written in full; they are how the next agent finds the case.
- Money: currency symbol and two decimals ("$148.00", "£64.50"). Say whether an amount was refunded, credited, charged or only quoted.
- Dates: "14 Oct" style for dates in the current year, with the weekday when it matters for a delivery promise ("Thu 16 Oct"). Never write "tomorrow" or "next week"; resolve it to a date using the call date.
- Product names as they appear in our catalogue (Brevo gooseneck kettle, Pike robot vacuum R7), not the customer's nickname for them.

# 5. What to leave out
- Greetings, identity checks that passed without issue, hold music, small talk and transfer announcements.
- The agent's internal navigation ("let me just open the other screen").
- Repeated statements: if the customer explained the problem three times, summarise it once.
- Speculation about causes that nobody confirmed on the call.
- Policy text that the agent read out, unless the customer disputed it; then name the policy and what was disputed.
- Anything the transcript marks as [inaudible]; do not guess what was said. If an inaudible part matters, say so in What happened.

# 6. Follow-ups and promises
- Every promise the agent made must appear as a follow-up with an owner and a date, even if the agent said "I'll try".
- If the agent promised a call back, include the time window the customer agreed to.
- If the customer must do something (send photos, return an item, check with a neighbour), the owner is Customer.
- If a promise conflicts with policy (for example a refund before the return is scanned), still record it and add the flag that fits, so a team lead can review it.
- Escalations to a team lead or to customer relations are follow-ups owned by Agent with the escalation reference.

# 7. Sentiment and flags
- Judge sentiment at the end of the call, not at the start; mention in the reason if it changed ("Angry at start, Neutral after replacement offered").
- Repeat contact applies when the customer says they have called or written before about the same issue, or the transcript mentions an earlier case number.
- Vulnerable customer applies when the customer mentions a health condition, bereavement, financial hardship or difficulty using the phone or the internet, and only as a flag: do not describe the circumstances in detail.
- Safety issue applies to burns, electric shocks, smoke, sparks, overheating, sharp edges on broken glass or ceramics, and anything involving children or pets getting hurt. Safety issues always need a follow-up for Tech support within one business day.
- Legal threat and Chargeback mentioned apply as soon as the customer mentions a lawyer, small claims court, trading standards, the Better Business Bureau, or disputing the payment with their bank.

# 8. Length
- Aim for 150 to 350 words. Long and complicated calls may go up to 500 words; never more.
- A bullet in What happened is one sentence, rarely two.
- If the call was cut off or the transcript is incomplete, say so in Outcome and keep the rest as short as the content allows.

# 9. Glossary of internal terms you may use
- RMA: return merchandise authorisation, the return number that starts with RMA-.
- Prepaid label: a return shipping label we email to the customer at no cost.
- Advance replacement: shipping a replacement before the original item is returned.
- Goodwill credit: store credit offered as a gesture, not required by policy; always state the amount.
- Price adjustment: refund of the difference when an item drops in price within 14 days of purchase.
- Carrier claim: a claim we open with the carrier for a lost or damaged parcel; it takes 5 to 10 business days.
- Tier 2: the technical support team for connected appliances.
- WISMO: "where is my order" contacts.
- Subscription pause: skipping deliveries for up to three months without cancelling.

# 10. Examples of wording
Good: "Agent confirmed the parcel (UPS 1Z84F0...) was scanned at the Denver depot on 12 Oct and has not moved since."
Bad: "The agent looked into it and it seems the parcel might be stuck somewhere."
Good: "- [ ] Warehouse - ship advance replacement of Tallis dinner set - 15 Oct"
Bad: "- [ ] We will send a new one soon."
Good: "**Customer sentiment** Frustrated (third contact about the same refund)."
Bad: "**Customer sentiment** The customer was not very happy but calmed down a bit in the end."

Write only the summary in the structure above, in Markdown, in English, even when the call was in another language."""

CALL_TOPICS: dict[str, dict[str, list[str]]] = {
    "late_delivery": {
        "reason": ["Wants to know where order {order} is; it was due on {date_past}",
                   "Chasing a late delivery of the {product} (order {order})"],
        "customer": ["So I ordered the {product} on {date_past} and it was meant to be here by now, and it's just, nothing.",
                     "The tracking hasn't changed since, um, last Tuesday I think. It just says in transit.",
                     "I've checked with the neighbours, I've checked the bin store, there's nothing.",
                     "It's a present for my {relative} and the birthday is on the weekend, so that's why I'm calling.",
                     "Honestly I'd just like to know if it's actually coming or if it's lost.",
                     "The email said {days} business days and we're way past that now.",
                     "Can you not just send another one out? I don't mind if I end up with two and send one back.",
                     "I paid for the faster shipping as well, so that's a bit annoying.",
                     "The tracking number starts with 1Z, hang on, it's {tracking}.",
                     "Yeah, the address is right, that's where I always get things delivered."],
        "agent": ["Let me pull up the tracking for you. Okay, so it was picked up by {carrier} on {date_past}.",
                  "I can see the last scan was at the regional hub and it hasn't moved since then.",
                  "That's longer than I'd expect; normally it goes out for delivery the next day.",
                  "What I can do is open a trace with {carrier}, which usually takes one to two business days.",
                  "If the trace comes back as lost, I'll ship a replacement the same day.",
                  "I've also refunded the {amount2} you paid for express shipping, because that clearly didn't happen.",
                  "Can I confirm the delivery address is still the one in {city}?",
                  "I'm going to put a note on the order so whoever you speak to next can see what we agreed.",
                  "Would you prefer a replacement sent now, or would you rather wait for the trace?",
                  "I'll send you an email with the trace reference in the next few minutes."],
        "actions": ["Agent checked tracking {tracking}: collected by {carrier} on {date_past}, last scan at the regional hub, no movement since.",
                    "Customer confirmed neighbours and the building's bin store had been checked.",
                    "Agent confirmed the delivery address in {city} is correct.",
                    "Agent opened a carrier trace with {carrier}; outcome expected in 1-2 business days.",
                    "Agent refunded the {amount2} express shipping fee to the original payment method.",
                    "Agent offered an advance replacement if the trace reports the parcel as lost.",
                    "Customer said the item is a present needed before {date_future}.",
                    "Agent emailed the trace reference to the customer during the call."],
        "resolution": ["Agent opened a carrier trace with {carrier} and refunded the {amount2} express fee",
                       "Agent shipped an advance replacement and refunded the {amount2} express fee"],
    },
    "damaged_item": {
        "reason": ["Wants a replacement for a damaged {product} (order {order})",
                   "Reporting that the {product} arrived broken"],
        "customer": ["When I opened the box the {product} was cracked, like right down the side.",
                     "The outer box was fine, that's the weird thing, but inside it was all crushed on one corner.",
                     "I've got photos, I can send them to you, I took them straight away.",
                     "I don't really want a refund, I want the thing, I was looking forward to it.",
                     "Do I have to send the broken one back? Because it's quite heavy.",
                     "There's a bit of glass, sorry, ceramic, bits on the floor, I had to hoover it all up.",
                     "It's the second time this has happened with a delivery from you actually.",
                     "I'm happy to keep the box if you need it for the courier."],
        "agent": ["I'm really sorry about that, that's not how it should arrive.",
                  "Could you email the photos to us? Just reply to your order confirmation and they'll attach to the case.",
                  "You don't need to send the broken one back; please recycle it safely.",
                  "I've set up a replacement, it'll ship from our warehouse today and you'll get tracking by email.",
                  "I'll also open a damage claim with the carrier, that's on our side, you don't need to do anything.",
                  "I can see the previous case from last month, so I'll flag this to our packaging team as well.",
                  "The replacement is the same {product}, I've checked and it's in stock at the {city} warehouse.",
                  "If anything else in the order is damaged, let me know now and I'll add it."],
        "actions": ["Customer reported the {product} arrived cracked; outer box intact, inner packaging crushed on one corner.",
                    "Customer has photos and will email them by replying to the order confirmation.",
                    "Agent told the customer not to return the damaged item and to recycle it safely.",
                    "Agent checked stock: the {product} is available at the {city} warehouse.",
                    "Agent created a free replacement for order {order}, shipping the same day.",
                    "Agent opened a damage claim with the carrier.",
                    "Agent linked last month's damage case and flagged both to the packaging team.",
                    "Customer cleaned up ceramic fragments; no injury reported."],
        "resolution": ["Agent shipped a free replacement {product} and opened a carrier damage claim",
                       "Agent issued a full refund of {amount} after the customer declined a replacement"],
    },
    "refund_status": {
        "reason": ["Asking where the refund for a returned {product} is",
                   "Wants the {amount} refund for order {order} that was promised last week"],
        "customer": ["I sent it back on {date_past} with the label you gave me and I still haven't got my money.",
                     "The tracking says you received it, so I don't understand what's taking so long.",
                     "It's {amount}, that's not a small amount for me this month, to be honest.",
                     "Someone told me on the chat last week it would be five to seven days.",
                     "I've checked my bank app every morning.",
                     "If it's not sorted I'll have to talk to my bank about it, I don't really want to do that.",
                     "I just want a date, you know, when is it actually going to be there.",
                     "It was paid on the {card_brand}, the one ending {last4}."],
        "agent": ["Let me check the return. Okay, I can see it arrived at our warehouse on {date_past}.",
                  "It was scanned in but it hasn't been processed by the returns team yet, that's the delay.",
                  "I've asked the returns team to prioritise it and I've authorised the refund now.",
                  "You should see the {amount} back on the card ending {last4} within three to five business days.",
                  "I completely understand, and I'm sorry it's taken longer than we told you.",
                  "I'll email you the refund confirmation as soon as we finish this call.",
                  "If it hasn't arrived by {date_future}, call us with this case number and we'll escalate it straight away."],
        "actions": ["Agent confirmed the return for order {order} was scanned at the warehouse on {date_past} but not yet processed.",
                    "Customer said the chat had promised the refund within 5-7 business days.",
                    "Customer mentioned contacting their bank if the refund is not resolved.",
                    "Agent asked the returns team to prioritise the return.",
                    "Agent authorised the refund of {amount} to the {card_brand} ending {last4}.",
                    "Agent quoted 3-5 business days for the refund to appear.",
                    "Agent emailed the refund confirmation and the case number."],
        "resolution": ["Agent authorised the {amount} refund to the card ending {last4}",
                       "Agent escalated the unprocessed return to the returns team lead"],
    },
    "appliance_troubleshooting": {
        "reason": ["Needs help with a {product} that stopped working",
                   "Wants the {product} fixed or replaced under warranty"],
        "customer": ["It just stopped working, the light comes on and then it goes off again.",
                     "I've unplugged it, I've tried a different socket, it's the same.",
                     "It started making this clicking noise a couple of days ago, and now nothing.",
                     "The app says device offline, even though it's right next to the router.",
                     "I bought it in, um, the {sale} sale, so it's not even a year old.",
                     "Is it safe to keep using? It got quite hot on the bottom.",
                     "I've got the box still, and the receipt is in my email.",
                     "Okay, hang on, I'm holding the button now. Nothing. Still nothing."],
        "agent": ["Okay, let's try a reset. Could you unplug it and hold the power button for ten seconds?",
                  "Now plug it back in while you're still holding the button, and tell me what the light does.",
                  "A red light blinking three times usually means the heating element isn't responding.",
                  "Please don't keep using it if it's getting hot underneath; that's not normal.",
                  "It's covered by the two-year warranty, so we'll replace it at no cost.",
                  "I'm going to pass the serial number to our Tier 2 team so they can check the batch.",
                  "Could you read me the serial number? It's on the sticker underneath, starts with LH.",
                  "I'll send you a prepaid label for the faulty one, and the new one ships as soon as we set this up."],
        "actions": ["Customer reported the {product} powers on briefly, then switches off; a different socket gave the same result.",
                    "Agent walked the customer through a 10-second reset; the light blinked red three times.",
                    "Customer said the base got hot; Agent advised not to use it until replaced.",
                    "Agent confirmed the {product} is within the 2-year warranty (bought in the {sale} sale).",
                    "Agent recorded the serial number and passed it to Tier 2 to check the batch.",
                    "Agent set up a warranty replacement and emailed a prepaid label for the faulty unit.",
                    "Customer confirmed they still have the original box."],
        "resolution": ["Agent arranged a warranty replacement and sent a prepaid label for the faulty {product}",
                       "Troubleshooting restored the {product}; no replacement needed"],
    },
    "subscription_change": {
        "reason": ["Wants to pause or cancel {subscription}",
                   "Disputing a subscription charge of {amount2}"],
        "customer": ["I want to stop the subscription, the {subscription}, I've got way too many at home.",
                     "I was charged again on {date_past} and I thought I'd already cancelled it.",
                     "There's no cancel button in the app, there's only pause, which is a bit sneaky if I'm honest.",
                     "Maybe a pause is fine actually, if it's just for a couple of months.",
                     "Can I get the last charge back? I haven't opened the box.",
                     "I'd like it in writing that it's stopped, please."],
        "agent": ["I can help with that. I can see the subscription on your account, next delivery is {date_future}.",
                  "You can pause for up to three months, or I can cancel it completely; which would you prefer?",
                  "I've refunded the last charge of {amount2} since the box hasn't been opened.",
                  "You'll get a confirmation email in the next few minutes.",
                  "Thanks for the feedback about the cancel button; I'll pass that on to the app team."],
        "actions": ["Customer asked to stop {subscription}; next delivery was scheduled for {date_future}.",
                    "Customer disputed the charge of {amount2} on {date_past}, believing it had already been cancelled.",
                    "Customer complained the app only offers pause, not cancel.",
                    "Agent offered a pause of up to three months or a full cancellation.",
                    "Agent refunded the unopened box ({amount2}).",
                    "Agent passed the feedback about the missing cancel button to the app team.",
                    "Agent sent a written confirmation by email."],
        "resolution": ["Agent cancelled the subscription and refunded the unopened box ({amount2})",
                       "Agent paused the subscription for three months"],
    },
}
CALL_AGENT_GENERIC = [
    "Okay, bear with me one moment while I bring that up.",
    "Sorry, could you repeat that? The line broke up a little.",
    "Just to make sure I've understood you correctly, you're saying {recap}?",
    "Thank you for your patience, I know this has taken a while.",
    "I'm just going to put you on a short hold while I check with my colleague, is that okay?",
    "Thanks for holding. So, I've had a look.",
    "Is the best number to reach you still the one ending in {phone_tail}?",
    "I'll stay on the line while you check.",
    "No problem at all, take your time.",
    "I'm writing all of this into the case notes as we go.",
]
CALL_CUSTOMER_GENERIC = [
    "Yeah. Yeah, that's right.",
    "Sorry, my dog's barking, one second.",
    "Okay. Okay, that makes sense.",
    "Mm-hm.",
    "Right, and how long will that take?",
    "I'm just looking for the email now, hang on.",
    "Sorry, I'm driving, you're on speaker.",
    "No, that's fine, go ahead.",
    "I've been a customer for about {years} years, I've never had a problem before.",
    "I did try the chat first but it kept asking me the same thing.",
    "[inaudible] ...sorry, I said it was on the {date_past}.",
    "Can you spell that for me?",
]
CALL_OPENINGS = [
    ("Agent", "Thank you for calling Larkspur Home, my name is {agent}, who am I speaking with today?"),
    ("Customer", "Hi, it's {first} {last}."),
    ("Agent", "Hi {first}. For security, could you confirm the email address on your account and your postcode?"),
    ("Customer", "Yeah, it's {email}, and the postcode is, um, hang on, yes, that's it."),
    ("Agent", "Thank you, that all matches. How can I help today?"),
]
CALL_CLOSINGS = [
    ("Agent", "Is there anything else I can help you with today?"),
    ("Customer", "No, I think that's everything. Thanks for sorting it."),
    ("Agent", "You're welcome, {first}. You'll get an email summary of what we agreed. Have a good rest of your day."),
    ("Customer", "You too, bye."),
]
SUMMARY_WHAT = [
    "Customer explained that {issue}.",
    "Agent verified the customer's identity by email and postcode.",
    "Agent checked order {order} in the order system; it shows {product}, paid {amount} by {card_brand} ending {last4}.",
    "Customer said they had already contacted us through the chat without a result.",
    "Agent placed the customer on hold for about two minutes to check with a colleague.",
    "Customer mentioned the item is a present and is needed before {date_future}.",
    "Agent explained the relevant policy and the customer accepted it.",
    "Customer asked for written confirmation of the outcome by email.",
    "Agent added case notes and linked the earlier contact to this case.",
    "Customer asked how long the next step will take; Agent quoted 3-5 business days.",
    "Part of the customer's explanation was marked [inaudible] in the transcript; it did not affect the outcome.",
    "Agent confirmed the delivery address in {city} is correct.",
    "Customer described the problem again in more detail; no new facts.",
    "Agent offered goodwill credit of {amount2}; customer accepted.",
]
SUMMARY_FOLLOWUPS = [
    "- [ ] Agent - email the customer a written summary of the agreed outcome - {d1}",
    "- [ ] Warehouse - ship the replacement with tracking - {d1}",
    "- [ ] Carrier - complete the trace and report back - {d2}",
    "- [ ] Customer - send photos of the damage by replying to the confirmation email - {d1}",
    "- [ ] Billing - confirm the refund has settled - {d3}",
    "- [ ] Tech support - review the serial number against the known-fault batch list - {d2}",
    "- [ ] Agent - call the customer back between 10:00 and 12:00 if the trace is unresolved - {d2}",
    "- [ ] Customer - drop the return parcel at a {carrier} location - {d3}",
]
SUMMARY_SENTIMENT = ["Positive (thanked the agent for a quick fix)", "Neutral (calm throughout)",
                     "Frustrated (repeat contact about the same issue)", "Frustrated at start, Neutral after the offer",
                     "Angry (threatened to dispute the payment with the bank)"]


class CallSummarizer:
    model = "gpt-4o"
    response_model = "gpt-4o-2024-08-06"
    temperature = 0.2

    def __init__(self, shapes: Shapes):
        self.shapes = shapes
        self.counter = Counter(self.model)
        self.static = [{"role": "system", "content": SUMMARY_SYSTEM}]
        self.static_tokens = sum(self.counter.message(m, cache=True) for m in self.static)

    def transcript(self, rng: random.Random, when: datetime) -> tuple[str, dict]:
        topic = rng.choice(list(CALL_TOPICS))
        pools = CALL_TOPICS[topic]
        slots = _slots(rng, when)
        slots["agent"] = rng.choice(AGENT_NAMES)
        slots["phone_tail"] = slots["phone"][-3:]
        slots["recap"] = _fill(rng.choice(pools["reason"]), slots).lower()
        target = self.shapes.length(rng, "mooncake_input", 1500, 6000, at=TRANSCRIPT_MEDIAN_AT)
        lines: list[str] = []
        t = 0
        tokens = 0

        def say(who: str, text: str) -> None:
            nonlocal t, tokens
            t += rng.randint(3, 25) + len(text) // 18
            name = slots["agent"] if who == "Agent" else slots["first"]
            line = f"[{t // 60:02d}:{t % 60:02d}] {who} ({name}): {_fill(text, slots)}"
            lines.append(line)
            tokens += self.counter.text(line) + 1

        for who, text in CALL_OPENINGS:
            say(who, text)
        # The customer states the problem first, then the conversation wanders.
        customer_pool, agent_pool = pools["customer"][1:], pools["agent"][1:]
        rng.shuffle(customer_pool)
        rng.shuffle(agent_pool)
        say("Customer", pools["customer"][0] + " " + customer_pool.pop())
        say("Agent", pools["agent"][0])
        closing_tokens = 120
        while tokens < target - closing_tokens:
            if not customer_pool:
                customer_pool = pools["customer"] + CALL_CUSTOMER_GENERIC
                rng.shuffle(customer_pool)
            if not agent_pool:
                agent_pool = pools["agent"] + CALL_AGENT_GENERIC
                rng.shuffle(agent_pool)
            # Customers ramble: sometimes two sentences in one turn.
            say("Customer", " ".join(customer_pool.pop() for _ in range(min(rng.choice([1, 1, 2]), len(customer_pool)))))
            say("Agent", " ".join(agent_pool.pop() for _ in range(min(rng.choice([1, 1, 2]), len(agent_pool)))))
            if rng.random() < 0.05:
                t += rng.randint(60, 240)
                lines.append(f"[{t // 60:02d}:{t % 60:02d}] [hold music]")
        for who, text in CALL_CLOSINGS:
            say(who, text)
        header = (f"Call recording {when.strftime('%Y-%m-%d')} {when.strftime('%H:%M')} UTC | queue: customer care | "
                  f"agent: {slots['agent']} | transcript: automatic, unedited")
        facts = {"topic": topic, "slots": slots, "duration_min": max(t // 60, 1), "when": when}
        return header + "\n\n" + "\n".join(lines), facts

    def summary(self, rng: random.Random, facts: dict) -> str:
        pools = CALL_TOPICS[facts["topic"]]
        slots = dict(facts["slots"])
        when = facts["when"]
        slots["issue"] = _fill(rng.choice(pools["reason"]), slots).lower()
        for i, days in enumerate((1, 3, 7), 1):
            slots[f"d{i}"] = (when + timedelta(days=days)).strftime("%d %b").lstrip("0")
        target = self.shapes.length(rng, "mooncake_output", 250, 700)
        last_initial = slots["last"][0]
        head = (f"**Call summary** - {when.strftime('%d %b').lstrip('0')}, {facts['duration_min']} min, "
                f"Agent {slots['agent']}, Customer {slots['first']} {last_initial}.\n\n"
                f"**Reason for call** - {_fill(rng.choice(pools['reason']), slots)}.\n\n**What happened**")
        resolution = _fill(rng.choice(pools["resolution"]), slots)
        tail_fixed = (f"\n\n**Outcome** - Resolved: {resolution}.\n\n**Follow-ups**\n" + "{followups}" +
                      f"\n\n**Customer sentiment** {rng.choice(SUMMARY_SENTIMENT)}.\n\n**Flags** "
                      + rng.choice(["None", "None", "Repeat contact", "Chargeback mentioned", "Safety issue"]))
        # Topic-specific actions and generic facts become bullets until the length is reached.
        budget = target - self.counter.text(head + tail_fixed) - 40
        what: list[str] = []
        pool = SUMMARY_WHAT[:]
        rng.shuffle(pool)
        actions = pools["actions"][:]
        rng.shuffle(actions)
        used = 0
        while used < budget and (pool or actions):
            if actions and (not pool or rng.random() < 0.55):
                line = _fill(actions.pop(), slots)
            else:
                line = _fill(pool.pop(), slots)
            bullet = "- " + line
            what.append(bullet)
            used += self.counter.text("\n" + bullet)
        follow = rng.sample(SUMMARY_FOLLOWUPS, rng.randint(1, 4))
        return head + "\n" + "\n".join(what) + tail_fixed.replace("{followups}", _fill("\n".join(follow), slots))

    def requests(self, rng: random.Random, when_us: int) -> list:
        when = MONTH_START + timedelta(microseconds=when_us)
        text, facts = self.transcript(rng, when)
        output = self.summary(rng, facts)
        messages = self.static + [{"role": "user", "content": text}]
        prompt = self.static_tokens + self.counter.message(messages[-1]) + REPLY_PRIMING
        request = {"model": self.model, "messages": messages, "temperature": self.temperature}
        return [(when_us, request, output, prompt, self.static_tokens)]


# --------------------------------------------------------------------------------------------------
# The logging middleware's wrapper
# --------------------------------------------------------------------------------------------------

ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
# Backend fingerprints change when OpenAI redeploys; one change mid-month per model.
FINGERPRINTS = {
    "gpt-4o-2024-08-06": ("fp_b705f0c291", "fp_f7d56a8a2c"),
    "gpt-4o-mini-2024-07-18": ("fp_560af6e559", "fp_01aeff40ea"),
    "gpt-4.1-mini-2025-04-14": ("fp_6f2eabb9a5", "fp_38647f5e19"),
}
FINGERPRINT_SWITCH_DAY = {"gpt-4o-2024-08-06": 14, "gpt-4o-mini-2024-07-18": 20, "gpt-4.1-mini-2025-04-14": 9}
# Latency model per model: (ms before the first token, ms per prompt token, ms per output token).
LATENCY = {"gpt-4o": (380, 0.045, 14.0), "gpt-4o-mini": (260, 0.02, 9.0), "gpt-4.1-mini": (300, 0.025, 8.5)}


def _timestamp(us: int) -> str:
    when = MONTH_START + timedelta(microseconds=us)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def wrap(rng: random.Random, feature: Any, when_us: int, request: dict, output: str, prompt_tokens: int,
         static_tokens: int, sample_rate: float | None) -> dict:
    """The logged line: timestamp, latency, sample rate (sampled features only), request, response."""
    completion_tokens = feature.counter.text(output)
    cached = 0
    if static_tokens >= CACHE_MIN_PREFIX and rng.random() < CACHE_HIT_RATE:
        cached = (static_tokens // 128) * 128
    first, per_in, per_out = LATENCY[feature.model]
    latency = int((first + per_in * prompt_tokens + per_out * completion_tokens) * rng.lognormvariate(0, 0.25))
    day = when_us // 86_400_000_000 + 1
    old, new = FINGERPRINTS[feature.response_model]
    fingerprint = new if day >= FINGERPRINT_SWITCH_DAY[feature.response_model] else old
    line: dict[str, Any] = {"timestamp": _timestamp(when_us), "latency_ms": latency}
    if sample_rate is not None:
        line["sample_rate"] = sample_rate
    line["request"] = request
    line["response"] = {
        "id": "chatcmpl-" + "".join(rng.choices(ALNUM, k=29)),
        "object": "chat.completion",
        "created": int(MONTH_START.timestamp()) + when_us // 1_000_000,
        "model": feature.response_model,
        "system_fingerprint": fingerprint,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": output, "refusal": None},
                     "logprobs": None, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                          "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
        },
    }
    return line


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False)


# --------------------------------------------------------------------------------------------------
# Bad lines (a crash mid-write, a stray log message, a heartbeat), fixed positions in time
# --------------------------------------------------------------------------------------------------

BAD_LINES = [
    # (day, "HH:MM:SS.ffffff", kind)
    (7, "10:41:17.250000", "truncated_json"),
    (15, "02:13:44.000000", "not_json"),
    (15, "16:05:09.500000", "truncated_json"),
    (22, "00:00:00.000000", "not_a_request"),
]
GARBAGE = ("2026-10-15 02:13:44,000 WARNING [llm-logger] upstream connect error or disconnect/reset before "
           "headers. reset reason: connection termination; buffered 3 records, retrying")


def _bad_line(kind: str, day: int, clock: str, seed: int, features: dict) -> tuple[int, str]:
    h, m, rest = clock.split(":")
    s, frac = rest.split(".")
    us = ((day - 1) * 86400 + int(h) * 3600 + int(m) * 60 + int(s)) * 1_000_000 + int(frac)
    rng = random.Random(f"{seed}:bad:{day}:{clock}")
    if kind == "truncated_json":
        name = "ticket_classifier" if day < 10 else "invoice_extraction"
        feature = features[name]
        (when_us, request, output, prompt, static), = feature.requests(rng, us)
        rate = CLASSIFIER_SAMPLE_RATE if name == "ticket_classifier" else None
        full = _dumps(wrap(rng, feature, when_us, request, output, prompt, static, rate))
        return us, full[: len(full) // 2]
    if kind == "not_json":
        return us, GARBAGE
    return us, _dumps({"event": "heartbeat", "ts": _timestamp(us), "pid": 4182, "queue_depth": 0})


# --------------------------------------------------------------------------------------------------
# The month
# --------------------------------------------------------------------------------------------------


def _hour_counts(rng: random.Random, n: int, weights: list[float]) -> list[int]:
    counts = [0] * 24
    for hour in rng.choices(range(24), weights, k=n):
        counts[hour] += 1
    return counts


def _session_turns(rng: random.Random) -> int:
    return rng.choices(list(SESSION_TURNS), list(SESSION_TURNS.values()))[0]


def _support_sessions(lines_per_day: list[int], seed: int) -> list[list[int]]:
    """Whole sessions (turn counts) per day for an exact line total; only the last session is cut."""
    rng = random.Random(f"{seed}:sessions")
    left, turns = sum(lines_per_day), []
    while left > 0:
        turns.append(min(_session_turns(rng), left))
        left -= turns[-1]
    per_day = _largest_remainder(len(turns), [float(n) for n in lines_per_day])
    out, i = [], 0
    for count in per_day:
        out.append(turns[i: i + count])
        i += count
    return out


def _resolve_corpus(corpus_dir: Any) -> Path | None:
    if corpus_dir is False:
        return None
    if corpus_dir is None:
        env = os.environ.get("CROSSOVER_CORPUS")
        return Path(env) if env else DEFAULT_CORPUS
    return Path(corpus_dir)


def generate(out_dir: str | os.PathLike, preset: str = "sample", requests: int | None = None,
             seed: int = DEFAULT_SEED, corpus_dir: str | os.PathLike | None | bool = None) -> dict:
    """Write a month of logs under ``out_dir/2026-10/`` and return a summary.

    ``preset="sample"`` uses the daily volumes of the module docstring (``requests`` overrides the total);
    ``preset="bench"`` needs ``requests`` (default 10,000) and writes exactly that many request lines
    with the same feature mix. ``corpus_dir=False`` forces the built-in distributions.
    """
    if preset not in ("sample", "bench"):
        raise ValueError(f"unknown preset {preset!r}: use 'sample' or 'bench'")
    if preset == "bench" and requests is None:
        requests = 10_000
    if requests is not None and requests < 0:
        raise ValueError("requests must be >= 0")
    shapes = Shapes(_resolve_corpus(corpus_dir))
    features = {
        "ticket_classifier": TicketClassifier(shapes),
        "invoice_extraction": InvoiceExtraction(shapes),
        "support_assistant": SupportAssistant(shapes, seed),
        "call_summarizer": CallSummarizer(shapes),
    }
    plan = plan_lines(preset, requests, seed)
    out = Path(out_dir)
    month_dir = out / "2026-10"
    month_dir.mkdir(parents=True, exist_ok=True)
    per_feature = {f: 0 for f in FEATURES}
    sessions = 0
    carry: list[tuple[int, int, str]] = []  # lines whose time falls on a later day (sessions past midnight)
    bad_by_day: dict[int, list[tuple[int, str, str]]] = {}
    for day, clock, kind in BAD_LINES:
        us, text = _bad_line(kind, day, clock, seed, features)
        bad_by_day.setdefault(day, []).append((us, kind, text))
    files, bad_lines = [], []
    seq = 0
    support_plan = _support_sessions(plan["support_assistant"], seed) if requests is not None else []
    for day in range(1, DAYS + 1):
        day_start = (day - 1) * 86_400_000_000
        records: list[tuple[int, int, str]] = [r for r in carry if r[0] < day_start + 86_400_000_000]
        carry = [r for r in carry if r[0] >= day_start + 86_400_000_000]
        weekend = _is_weekend(day)
        for fi, name in enumerate(FEATURES):
            feature = features[name]
            vol = VOLUMES[name]
            rng = random.Random(f"{seed}:{name}:{day}")
            n = plan[name][day - 1]
            rate = CLASSIFIER_SAMPLE_RATE if name == "ticket_classifier" else None
            if name == "support_assistant":
                # sample: n sessions; exact totals: n lines, the last session cut to fit.
                turns = []
                if requests is None:
                    turns = [_session_turns(rng) for _ in range(n)]
                else:
                    turns = support_plan[day - 1]
                units = len(turns)
            else:
                units = n
            hours = _hour_counts(rng, units, vol.profile_weekend if weekend else vol.profile_weekday)
            runs = vol.runs_weekend if weekend else vol.runs_weekday
            starts = []
            if runs:
                per_run = [0] * len(runs)
                for hour, count in enumerate(hours):  # each item waits for the first run after its hour
                    i = next((j for j, r in enumerate(runs) if r >= hour + 1), len(runs) - 1)
                    per_run[i] += count
                for run, count in zip(runs, per_run, strict=True):
                    for offset in shapes.run_arrivals(rng, count, vol.gaps):
                        starts.append(min(day_start + int((run * 3600 + offset) * 1e6), day_start + 86_399_999_999))
            else:
                for hour, count in enumerate(hours):
                    for offset in shapes.arrivals(rng, count, vol.gaps):
                        starts.append(day_start + hour * 3_600_000_000 + int(offset * 3_600_000_000))
            starts.sort()
            made = []
            if name == "support_assistant":
                for start, k in zip(starts, turns, strict=True):
                    made += feature.session_requests(rng, start, k)
                sessions += len(turns)
            else:
                for start in starts:
                    made += feature.requests(rng, start)
            for when_us, request, output, prompt, static in made:
                line = _dumps(wrap(rng, feature, when_us, request, output, prompt, static, rate))
                seq += 1
                rec = (when_us, fi * 10**9 + seq, line)
                (records if when_us < day_start + 86_400_000_000 else carry).append(rec)
                per_feature[name] += 1
        for us, _kind, text in bad_by_day.get(day, []):
            records.append((us, -1, text))  # -1: before a request logged in the same microsecond
        records.sort(key=lambda r: (r[0], r[1]))
        rel = f"2026-10/requests-2026-10-{day:02d}.jsonl.gz"
        line_of = {}
        for i, (us, key, text) in enumerate(records, 1):
            if key == -1:
                line_of[(us, text)] = i
        for us, kind, text in bad_by_day.get(day, []):
            bad_lines.append({"file": rel, "line": line_of[(us, text)], "kind": kind, "timestamp": _timestamp(us)})
        payload = "".join(r[2] + "\n" for r in records).encode("utf-8")
        buf = io.BytesIO()
        with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
            gz.write(payload)
        data = buf.getvalue()
        (out / rel).write_bytes(data)
        files.append({"path": rel, "lines": len(records), "bytes": len(data), "uncompressed_bytes": len(payload)})
    assert not carry, "session turns past the month end"
    return {
        "out_dir": str(out), "preset": preset, "seed": seed, "month": "2026-10",
        "shapes": shapes.source, "corpus": shapes.empirical,
        "requests": sum(per_feature.values()), "lines_per_feature": per_feature,
        "support_sessions": sessions,
        "classifier_sample_rate": CLASSIFIER_SAMPLE_RATE,
        "bad_lines": bad_lines,
        "files": files,
        "lines": sum(f["lines"] for f in files),
        "bytes": sum(f["bytes"] for f in files),
        "uncompressed_bytes": sum(f["uncompressed_bytes"] for f in files),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output directory (files go to OUT/2026-10/)")
    parser.add_argument("--preset", choices=("sample", "bench"), default="sample")
    parser.add_argument("--requests", type=int, default=None, help="exact number of request lines (bench default 10000)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--corpus", default=None, help="corpus folder (default ../shared/corpus or $CROSSOVER_CORPUS)")
    parser.add_argument("--no-corpus", action="store_true", help="use the built-in fitted distributions")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    corpus = False if args.no_corpus else args.corpus
    summary = generate(args.out, preset=args.preset, requests=args.requests, seed=args.seed, corpus_dir=corpus)
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"wrote {len(summary['files'])} files to {summary['out_dir']}/2026-10/ "
          f"({summary['bytes'] / 1e6:.2f} MB gzip, {summary['uncompressed_bytes'] / 1e6:.1f} MB raw), "
          f"{summary['lines']} lines, shapes from {summary['shapes']}")
    for name, count in summary["lines_per_feature"].items():
        extra = f" (sample_rate {CLASSIFIER_SAMPLE_RATE})" if name == "ticket_classifier" else ""
        extra = f" ({summary['support_sessions']} sessions)" if name == "support_assistant" else extra
        print(f"  {name:<20} {count:>8} lines{extra}")
    for bad in summary["bad_lines"]:
        print(f"  bad line: {bad['file']}:{bad['line']} ({bad['kind']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
