"""Near-duplicate texts: MinHash signatures of word 5-shingles and LSH buckets to find them.

The same story elsewhere (a wire copy republished, the same text wrapped by another site's page)
shares most of its 5-word sequences with the original; other stories share almost none. MinHash
estimates the Jaccard similarity of two texts' shingle sets from 64 minima (a signature of 256
bytes); LSH cuts the signature into 16 bands of 4 rows, and two texts whose signatures agree on a
whole band land in a common bucket: with Jaccard s that happens with probability
1 - (1 - s^4)^16 (s = 0.5: 64%, s = 0.6: 88%, s = 0.7: 99%, s = 0.3: 12%), so candidates are
found with 16 indexed lookups, then kept when their estimated similarity reaches
SIMILAR_THRESHOLD. Why MinHash rather than SimHash: bench/search_scaling.py measures both on
wire copies made from the corpus texts (SimHash within 3 bits misses copies whose wrapping adds
or drops a few paragraphs, and gives no similarity figure to show).

Chinese and Japanese text is shingled by characters (a CJK character counts as a word).
"""

from __future__ import annotations

import hashlib
import re
import zlib

import numpy as np

NUM_PERM = 64
BANDS = 16
ROWS = NUM_PERM // BANDS
SHINGLE = 5
SIMILAR_THRESHOLD = 0.5  # estimated Jaccard: wrapped copies measure 0.8-1.0, other stories < 0.1
MIN_TOKENS = 20  # shorter texts (a teaser, a caption) say too little to call two pages one story
_WORDS = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]|[^\W_]+")
# Multiply-shift hashing (a random odd 64-bit multiplier, the high 32 bits kept): one row per
# permutation, fixed seed, so signatures made in any process agree.
_RNG = np.random.default_rng(20240307)
_A = (_RNG.integers(1, 2**63, size=(NUM_PERM, 1), dtype=np.uint64) << np.uint64(1)) | np.uint64(1)
_B = _RNG.integers(0, 2**63, size=(NUM_PERM, 1), dtype=np.uint64)
_MIX = np.uint64(0x9E3779B97F4A7C15)  # an odd 64-bit constant (the golden ratio's): mixes the word hashes


def tokens(text: str) -> list[str]:
    return _WORDS.findall(text.casefold())


def signature(text: str | None) -> bytes | None:
    """The MinHash signature of `text` (NUM_PERM little-endian uint32), or None for a text too
    short to compare."""
    words = tokens(text or "")
    if len(words) < MIN_TOKENS:
        return None
    # Each distinct word hashed once (crc32), then each run of SHINGLE words combined into one
    # 64-bit shingle hash with numpy (a polynomial in the word hashes, wrapping): three times
    # faster than hashing every shingle's text, which bench/search_scaling.py's ingest figure felt.
    codes = {word: zlib.crc32(word.encode("utf-8")) for word in dict.fromkeys(words)}
    hashed = np.fromiter((codes[word] for word in words), dtype=np.uint64, count=len(words))
    with np.errstate(over="ignore"):
        shingles = np.zeros(len(words) - SHINGLE + 1, dtype=np.uint64)
        for k in range(SHINGLE):
            shingles = shingles * _MIX + hashed[k:len(hashed) - SHINGLE + 1 + k]
        shingles = np.unique(shingles)
        permuted = ((_A * shingles + _B) >> np.uint64(32)).astype(np.uint32)
    return permuted.min(axis=1).astype("<u4").tobytes()


def similarity(a: bytes, b: bytes) -> float:
    """The estimated Jaccard similarity of the texts two signatures were made from."""
    return float(np.mean(np.frombuffer(a, dtype="<u4") == np.frombuffer(b, dtype="<u4")))


def buckets(sig: bytes) -> list[int]:
    """The LSH bucket of each band (signed 64-bit, for SQLite): texts sharing one are candidates."""
    out = []
    for band in range(BANDS):
        part = sig[band * ROWS * 4:(band + 1) * ROWS * 4]
        digest = hashlib.blake2b(bytes([band]) + part, digest_size=8).digest()
        out.append(int.from_bytes(digest, "little", signed=True))
    return out
