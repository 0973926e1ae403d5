"""What people type into a search box, as an SQLite FTS5 query; and the CJK bigrams both the
index and the queries use.

The syntax people get: words (all must match), "quoted phrases", AND, OR, NOT (between two
terms: `chip NOT apple`), parentheses, and prefixes (`chip*`). Words are folded like the index
folds them (case, diacritics: unicode61 remove_diacritics 2). A word with punctuation in it
(`U.S.`, `co-founder`, `C++`) is searched as the phrase of its parts, where FTS5 itself would
stop at a syntax error.

Chinese and Japanese have no spaces between words, so unicode61 would make one token of a whole
sentence. Every run of Han, kana or Hangul is therefore also written, as overlapping character
pairs (bigrams), into a column of its own (`cjk`); a CJK term in a query becomes the phrase of its
bigrams in that column (`人工智能` -> `cjk : "人工 工智 智能"`), a single character a prefix
(`cjk : 芯*`).
"""

from __future__ import annotations

import re

CJK_RANGES = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"  # Han (extension A, unified, compatibility)
    "\uac00-\ud7af"  # Hangul syllables
    "\U00020000-\U0002fa1f"  # Han, supplementary planes
)
CJK_RUN = re.compile(f"[{CJK_RANGES}]+")
OPERATORS = ("AND", "OR", "NOT")
# A bare word FTS5 accepts as it is (anything else is quoted): letters, digits, '_', non-ASCII.
BAREWORD = re.compile(r"[\w\u0080-\U0010ffff]+")
TOKEN = re.compile(r'\s*(?:(?P<quote>"[^"]*")|(?P<paren>[()])|(?P<word>[^\s()"]+))')


class QueryError(ValueError):
    """The query cannot be searched; the message says what is wrong in the user's own terms."""


def cjk_bigrams(text: str) -> str:
    """The overlapping character pairs of every CJK run in `text` (a run of one: the character),
    space-separated: what the index's `cjk` column holds."""
    out: list[str] = []
    for run in CJK_RUN.findall(text):
        if len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i:i + 2] for i in range(len(run) - 1))
    return " ".join(out)


def _quoted(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _term(text: str, *, prefix: bool = False) -> str | None:
    """One word or phrase: its non-CJK part as an FTS5 phrase, its CJK runs as bigram phrases in
    the cjk column, ANDed. None when nothing searchable is left (punctuation only)."""
    parts = []
    latin = CJK_RUN.sub(" ", text).strip()
    if re.search(r"[\w]", latin):
        if prefix and BAREWORD.fullmatch(latin):
            parts.append(latin + "*")
        else:
            parts.append(_quoted(latin) + (" *" if prefix else ""))
    for run in CJK_RUN.findall(text):
        if len(run) == 1:
            parts.append(f"cjk : {run}*")
        else:
            parts.append(f"cjk : {_quoted(cjk_bigrams(run))}")
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"


def _add_term(out: list[str], term: str, previous: str | None) -> str:
    """A term after another term (or a closed group) is ANDed to it, as people mean it."""
    if previous in ("term", ")"):
        out.append("AND")
    out.append(term)
    return "term"


def fts_query(text: str) -> str:
    """The FTS5 MATCH expression for a query as typed. Raises QueryError, naming the problem."""
    if not text or not text.strip():
        raise QueryError("the query is empty: give words to search for")
    if text.count('"') % 2:
        raise QueryError(f"unbalanced quotes in {text!r}: close the phrase with a second \"")
    out: list[str] = []
    depth = 0
    previous = None  # "term", "op", "(" or ")"
    for match in TOKEN.finditer(text):
        if match["quote"] is not None:
            term = _term(match["quote"][1:-1], prefix=False)
            if term is not None:
                previous = _add_term(out, term, previous)
        elif match["paren"] == "(":
            if previous in ("term", ")"):
                out.append("AND")
            out.append("(")
            depth += 1
            previous = "("
        elif match["paren"] == ")":
            depth -= 1
            if depth < 0:
                raise QueryError(f"unbalanced parentheses in {text!r}: a ')' closes nothing")
            if previous in ("op", "("):
                raise QueryError(f"{text!r}: nothing before ')'")
            out.append(")")
            previous = ")"
        else:
            word = match["word"]
            if word in OPERATORS:
                if previous in (None, "op", "("):
                    raise QueryError(f"{text!r}: {word} needs a term on each side (e.g. chip {word} apple)")
                out.append(word)
                previous = "op"
                continue
            term = _term(word.rstrip("*"), prefix=word.endswith("*"))
            if term is not None:
                previous = _add_term(out, term, previous)
    if depth:
        raise QueryError(f"unbalanced parentheses in {text!r}: a '(' is not closed")
    if previous == "op":
        raise QueryError(f"{text!r}: {out[-1]} needs a term after it")
    if not any(part not in OPERATORS + ("(", ")") for part in out):
        raise QueryError(f"{text!r} has no word to search for")
    return " ".join(out)


def plain_terms(text: str) -> list[str]:
    """The words and phrases of a query (operators dropped), to mark matches where FTS5 cannot
    (CJK text): for snippets made outside SQLite."""
    terms = []
    for match in TOKEN.finditer(text or ""):
        value = match["quote"][1:-1] if match["quote"] is not None else match["word"]
        if value and value not in OPERATORS:
            terms.append(value.rstrip("*"))
    return [t for t in terms if t]
