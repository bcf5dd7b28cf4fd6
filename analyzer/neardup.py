"""Find near-duplicate inputs: normalised text, word shingles, MinHash signatures, LSH bands, clusters.

A small implementation over numpy rather than a library: datasketch (the usual choice) keeps one
Python object per signature and its LSH index in Python dicts of sets, which at half a million
examples costs far more memory than the fixed ``uint16`` matrix kept here (128 bytes an example),
and it pulls in scipy for a parameter search this module does not need. The arithmetic is the
textbook one (Broder 1997; Leskovec, Rajaraman & Ullman, *Mining of Massive Datasets*, ch. 3):
``min((a·h + b) mod p)`` over the shingle hashes ``h`` per permutation, with ``p`` the largest prime
below 2³², so that every product fits in 64 bits and the result is exact and the same on any machine.
Each minimum keeps its lowest 16 bits only (b-bit minwise hashing, Li & König 2010): two different
minima then agree by chance once in 65,536, which moves an estimated similarity by about 0.00002.
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zlib

import numpy as np

PRIME = 4_294_967_291  # the largest prime below 2**32
PERMUTATIONS = 64
BANDS = 16  # 16 bands of 4 rows: a pair at Jaccard 0.8 shares a band with probability 0.9998
ROWS = PERMUTATIONS // BANDS  # 4: a band of 16-bit minima is one 64-bit key (candidate_pairs)
SHINGLE_WORDS = 3
THRESHOLD = 0.8  # estimated Jaccard similarity of the shingle sets at or above which two inputs are near-duplicates
CHUNK = 20_000
SEED = 1_000_003  # fixes the permutations: the same inputs give the same signatures in every run
_WORDS = re.compile(r"\w+")
_DIGITS = re.compile(r"\d")


def normalise(text: str) -> list[str]:
    """The words of ``text`` once case, Unicode forms, punctuation, spacing and digits no longer count.

    Digits become ``0`` so that two tickets differing only by an order number or a date are seen as
    the near-duplicates they are for training.
    """
    return _WORDS.findall(_DIGITS.sub("0", unicodedata.normalize("NFKC", text).casefold()))


def shingle_hashes(words: list[str]) -> np.ndarray:
    """The distinct hashes (below :data:`PRIME`) of the ``SHINGLE_WORDS``-word shingles of ``words``.

    A text shorter than one shingle is its own single shingle; an empty one has none.
    """
    if not words:
        return np.zeros(0, dtype=np.uint64)
    h = np.fromiter(map(_word_hash, words), dtype=np.uint64, count=len(words))
    if len(words) < SHINGLE_WORDS:
        return np.unique(_combine([h[i:i + 1] for i in range(len(words))]))
    k = len(words) - SHINGLE_WORDS + 1
    return np.unique(_combine([h[i:i + k] for i in range(SHINGLE_WORDS)]))


@functools.lru_cache(maxsize=200_000)  # words repeat across a template's inputs: hash each once
def _word_hash(word: str) -> int:
    return zlib.crc32(word.encode()) % PRIME


def forget_words() -> None:
    """Empty the cache of word hashes (once a pass over the inputs is done)."""
    _word_hash.cache_clear()


def _combine(parts: list[np.ndarray]) -> np.ndarray:
    # A polynomial hash of consecutive words, reduced mod PRIME after each step so nothing overflows.
    out = np.zeros_like(parts[0])
    for part in parts:
        out = (out * np.uint64(1_000_003) % PRIME + part) % PRIME
    return out


_rng = np.random.default_rng(SEED)
_A = _rng.integers(1, PRIME, PERMUTATIONS, dtype=np.uint64)
_B = _rng.integers(0, PRIME, PERMUTATIONS, dtype=np.uint64)


def signature(hashes: np.ndarray) -> np.ndarray:
    """The MinHash signature (``PERMUTATIONS`` minima, their lowest 16 bits) of a set of shingle hashes."""
    if hashes.size == 0:
        return np.full(PERMUTATIONS, 0xFFFF, dtype=np.uint16)
    return (((np.outer(hashes, _A) + _B) % PRIME).min(axis=0) & 0xFFFF).astype(np.uint16)


def signature_of(text: str) -> np.ndarray:
    """The signature of a text: normalised, shingled, MinHashed."""
    return signature(shingle_hashes(normalise(text)))


def candidate_pairs(signatures: np.ndarray):
    """Arrays of pairs ``(head, other)`` of rows sharing a band and agreeing on :data:`THRESHOLD` of the permutations.

    Each bucket of a band is compared against its first row only, which keeps the work linear in
    the rows however large a bucket grows (a long run of templated inputs); a row similar to another
    member but not to the head is found through whichever band puts them in a smaller bucket.
    """
    n = len(signatures)
    if n < 2:
        return
    for band in range(BANDS):
        # The band's four 16-bit minima read as one 64-bit key: the band itself, exactly, in 8 bytes a row
        # (widening each column first cost four times that). Buckets are the same whatever order keys sort in.
        key = np.ascontiguousarray(signatures[:, band * ROWS:(band + 1) * ROWS]).view(np.uint64).ravel()
        order = np.argsort(key, kind="stable")
        sorted_keys = key[order]
        new = np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]
        heads = order[np.maximum.accumulate(np.where(new, np.arange(n), 0))]
        others = ~new
        if not others.any():
            continue
        a, b = heads[others], order[others]
        for s in range(0, len(a), CHUNK):  # in chunks: two copies of every signature would cost 512 bytes a row
            x, y = a[s:s + CHUNK], b[s:s + CHUNK]
            agree = (signatures[x] == signatures[y]).mean(axis=1) >= THRESHOLD
            yield np.stack([x[agree], y[agree]], axis=1)


class Clusters:
    """Union-find over example rows: rows joined by an exact input or a near-duplicate share a root."""

    def __init__(self, n: int):
        self.parent = np.arange(n, dtype=np.int64)

    def find(self, i: int) -> int:
        """The root of row ``i`` (halving the path on the way)."""
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = int(parent[i])
        return i

    def union(self, i: int, j: int) -> bool:
        """Join the clusters of ``i`` and ``j``; True when they were apart."""
        a, b = self.find(i), self.find(j)
        if a == b:
            return False
        self.parent[max(a, b)] = min(a, b)
        return True

    def roots(self) -> np.ndarray:
        """Each row's root, the smallest row of its cluster."""
        return np.fromiter((self.find(i) for i in range(len(self.parent))), dtype=np.int64, count=len(self.parent))


__all__ = ["BANDS", "PERMUTATIONS", "SHINGLE_WORDS", "THRESHOLD", "Clusters", "candidate_pairs", "forget_words",
           "normalise",
           "shingle_hashes", "signature", "signature_of"]
