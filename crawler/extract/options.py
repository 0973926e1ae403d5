"""The knobs of article extraction (EXTRACT_* settings), apart from the extractor itself.

The crawler process reads them and sends them to the extraction workers; it never imports
trafilatura (about a second of start-up it does not need).
"""

from __future__ import annotations

from dataclasses import dataclass

from crawler.extract.cleaning import rules

EXTRACTOR_VERSION = "1.1.0"

RESULT_KEYS = (
    "title",
    "authors",
    "published",
    "modified",
    "language",
    "language_source",
    "site_name",
    "description",
    "tags",
    "canonical_url",
    "text",
    "word_count",
    "links",
    "citations",
    "paywalled",
    "teaser",
    "text_digest",
    "reason",
    "error",
)
FOCUS_VALUES = ("balanced", "precision", "recall")


@dataclass(frozen=True)
class ExtractOptions:
    """Every extraction knob, with its default. Build once and reuse for every page."""

    # trafilatura's focus: "balanced", "precision" or "recall"
    focus: str = "balanced"
    # compare trafilatura's result with its fallback extractors (readability, jusText) and keep
    # the better; False is trafilatura's fast mode: about 15% less CPU a page, and on the
    # corpus pages F1 0.943 -> 0.933, must-contain snippets 0.987 -> 0.943 (bench/extraction_quality.py)
    fallback: bool = True
    include_tables: bool = True
    # our two boilerplate layers (switchable for benchmarks and bisecting)
    clean_dom: bool = True
    clean_text: bool = True
    # phrase lists applied by the text layer (all of them by default: pages mix languages)
    boilerplate_languages: tuple[str, ...] = rules.LANGUAGES
    detect_language: bool = True
    # htmldate's extensive search (offline: it only scans the page)
    date_extensive: bool = True
    # below this many words an extraction is "too_short": menus and error stubs have a
    # handful; the shortest full-truth body in the dev corpus (space-separated scripts) has
    # 119 words, so 8 keeps one-sentence briefs too
    min_words: int = 8
    # a body shorter than this, on a page marked not free / showing a paywall, is a teaser;
    # calibrated on the dev corpus: complete bodies of paywall-marked pages there have
    # >= 260 words, the register-walled teaser (badische-zeitung) 79
    teaser_words: int = 150
    max_bytes: int = 20_000_000

    def __post_init__(self) -> None:
        if self.focus not in FOCUS_VALUES:
            raise ValueError(
                f"EXTRACT_FOCUS must be one of {', '.join(FOCUS_VALUES)}, not {self.focus!r}"
            )
        for name, value in (
            ("EXTRACT_MIN_WORDS", self.min_words),
            ("EXTRACT_TEASER_WORDS", self.teaser_words),
            ("EXTRACT_MAX_BYTES", self.max_bytes),
        ):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, not {value}")
        unknown = set(self.boilerplate_languages) - set(rules.LANGUAGES)
        if unknown:
            raise ValueError(
                f"EXTRACT_BOILERPLATE_LANGUAGES: no phrase list for {', '.join(sorted(unknown))} "
                f"(known: {', '.join(rules.LANGUAGES)})"
            )
        # a tuple, so options hash (extraction caches what it builds per set of options)
        object.__setattr__(self, "boilerplate_languages", tuple(self.boilerplate_languages))
