"""The HTML pages `crawler serve` makes itself: the start page (a search box, filters, the
articles found or the latest ones, a page at a time) and a page per article (its facts, versions
with their diff, citations and their archive state, who cites it, the same story elsewhere, the
link to its replay). Every value is HTML-escaped; the URLs of searches are shareable
(`/?q=...&source=...&lang=...&since=...&until=...&page=N`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from warcio.timeutils import iso_date_to_timestamp

from storage.search_index import END, START, Hit

COLLECTION = "archive"
PAGE_SIZE = 20
STYLE = """
body { font-family: sans-serif; margin: 2em; max-width: 72em; }
form#search { display: flex; flex-wrap: wrap; gap: .5em; align-items: end; margin-bottom: 1em; }
form#search label { display: flex; flex-direction: column; font-size: 80%; color: #444; }
input[type=search] { width: 28em; font-size: 110%; padding: .3em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3em .6em; border-bottom: 1px solid #ddd; vertical-align: top; }
.url { color: #666; font-size: 80%; word-break: break-all; }
.snippet { font-size: 90%; margin-top: .2em; }
mark { background: #fe6; }
#error { color: #a00; font-weight: bold; }
nav.pages a { margin-right: 1em; }
pre.diff { background: #f6f6f6; padding: .5em; overflow-x: auto; font-size: 85%; }
.del { color: #a00; } .add { color: #060; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
dl.facts dt { color: #555; }
"""


def text(value: Any) -> str:
    return html.escape(str(value if value is not None else ""))


def href(value: str) -> str:
    return html.escape(value, quote=True)


def replay_path(url: str, fetched_at: str, collection: str = COLLECTION) -> str:
    """The replay of a capture: pywb's `/<collection>/<14-digit timestamp>/<url>`."""
    return f"/{collection}/{iso_date_to_timestamp(fetched_at)}/{url}"


def article_path(url: str) -> str:
    return "/article?" + urlencode({"url": url})


def marked(snippet: str) -> str:
    return text(snippet).replace(START, "<mark>").replace(END, "</mark>")


@dataclass
class Search:
    """What the start page was asked: the form's values as given (to fill the form again)."""

    q: str = ""
    source: str = ""
    lang: str = ""
    since: str = ""
    until: str = ""
    page: int = 1
    params: dict[str, str] = field(default_factory=dict)

    def link(self, page: int) -> str:
        values = {k: v for k, v in (("q", self.q), ("source", self.source), ("lang", self.lang),
                                    ("since", self.since), ("until", self.until)) if v}
        if page > 1:
            values["page"] = str(page)
        return "/?" + urlencode(values) if values else "/"


def _options(name: str, label: str, choices: list[tuple[str, int]], chosen: str) -> str:
    items = [f'<option value="">{text(label)}</option>'] + [
        f'<option value="{href(value)}"{" selected" if value == chosen else ""}>{text(value)} ({count})</option>'
        for value, count in choices]
    return f'<label>{text(name.title())}<select name="{name}">{"".join(items)}</select></label>'


def _row(hit: Hit, collection: str) -> str:
    date = (hit.published or "")[:10]
    fetched = hit.fetched_at[:16].replace("T", " ")
    version = f" <small>(version {hit.version})</small>" if hit.version > 1 else ""
    snippet = f'<div class="snippet">{marked(hit.snippet)}</div>' if hit.snippet else ""
    return (f'<tr><td><a href="{href(replay_path(hit.url, hit.fetched_at, collection))}">{text(hit.title or hit.url)}</a>'
            f'{version}<div class="url">{text(hit.url)}</div>{snippet}'
            f'<div><a class="story" href="{href(article_path(hit.url))}">story: versions, citations, similar</a></div></td>'
            f"<td>{text(hit.source)}</td><td>{text(date)}</td><td>{text(fetched)}</td></tr>")


def start_page(hits: list[Hit], *, title: str, asked: Search, facets: dict[str, list[tuple[str, int]]],
               total: int, more: bool, error: str | None = None, collection: str = COLLECTION,
               page_size: int = PAGE_SIZE) -> str:
    """The start page: the search form, then the hits (or the latest articles), a page at a time."""
    form = (f'<form id="search" method="get" action="/">'
            f'<label>Search<input type="search" name="q" value="{href(asked.q)}" '
            f'placeholder="words, &quot;a phrase&quot;, AND OR NOT, prefix*" autofocus></label>'
            f'{_options("source", "all sources", facets.get("source", []), asked.source)}'
            f'{_options("lang", "all languages", facets.get("lang", []), asked.lang)}'
            f'<label>From<input type="date" name="since" value="{href(asked.since)}"></label>'
            f'<label>Until<input type="date" name="until" value="{href(asked.until)}"></label>'
            f'<button type="submit">Search</button></form>')
    if error:
        summary = f'<p id="error">{text(error)}</p>'
    elif asked.q:
        first = (asked.page - 1) * page_size
        summary = (f'<p id="summary">Results {first + 1}–{first + len(hits)} for <b>{text(asked.q)}</b>, best first.</p>'
                   if hits else f'<p id="summary">No article matches <b>{text(asked.q)}</b>.</p>')
    else:
        summary = (f'<p id="summary">{total} archived article(s), the latest first. Each title opens the page as '
                   f'it was archived. Search all captures by URL: <a href="/{collection}/">collection search</a>.</p>')
    rows = "\n".join(_row(hit, collection) for hit in hits)
    if not rows and not asked.q and not error:
        rows = '<tr><td colspan="4">No archived article yet.</td></tr>'
    pages = []
    if asked.page > 1:
        pages.append(f'<a rel="prev" href="{href(asked.link(asked.page - 1))}">← previous</a>')
    if more:
        pages.append(f'<a rel="next" href="{href(asked.link(asked.page + 1))}">next →</a>')
    nav = f'<nav class="pages">{"".join(pages)} page {asked.page}</nav>' if pages else ""
    table = ('<table id="articles"><thead><tr><th>Title</th><th>Source</th><th>Published</th>'
             f'<th>Archived (UTC)</th></tr></thead>\n<tbody>\n{rows}\n</tbody></table>') if rows else ""
    return document(title, f"<h1>{text(title)}</h1>\n<p><a href=\"/health\">capture health per source</a></p>\n{form}\n{summary}\n{table}\n{nav}")


def document(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{text(title)}</title>'
            f"<style>{STYLE}</style></head>\n<body>\n{body}\n</body></html>\n")


def _diff(diff: str) -> str:
    out = []
    for line in diff.splitlines():
        kind = "add" if line.startswith("+") and not line.startswith("+++") else \
            "del" if line.startswith("-") and not line.startswith("---") else ""
        out.append(f'<span class="{kind}">{text(line)}</span>' if kind else text(line))
    return '<pre class="diff">' + "\n".join(out) + "</pre>"


def _summary_item(item: dict[str, Any], extra: str = "") -> str:
    return (f'<li>{extra}<a href="{href(article_path(item["url"]))}">{text(item.get("title") or item["url"])}</a> '
            f'<span class="url">{text(item["url"])}</span> ({text(item.get("source"))}, '
            f'{text((item.get("published") or item.get("fetched_at") or "")[:10])})</li>')


def article_page(found: dict[str, Any], diffs: list[str], *, title: str, collection: str = COLLECTION) -> str:
    """A page per article: facts, replay link, versions and diffs, citations, cited by, similar."""
    article = found["article"]
    url = article.get("final_url") or article["url"]
    facts = [("URL", text(url)), ("Source", text(article.get("source"))), ("Language", text(article.get("language"))),
             ("Published", text(article.get("published"))), ("Authors", text(", ".join(article.get("authors") or []))),
             ("Words", text(article.get("word_count"))), ("Archived", text(article.get("fetched_at"))),
             ("Replay", f'<a id="replay" href="{href(replay_path(url, article["fetched_at"], collection))}">the page as '
                        "it was archived</a>")]
    versions = "".join(f"<li>version {text(v['version'])}: {text(v['fetched_at'])}, {text(v.get('word_count'))} words "
                       f'(<a href="{href(replay_path(url, v["fetched_at"], collection))}">replay</a>)</li>'
                       for v in found["versions"])
    diff_html = "".join(_diff(d) for d in diffs if d)
    citations = "".join(
        f'<li><span class="state">[{text(c["state"])}]</span> '
        + (f'<a href="{href(article_path(c["url"]))}">{text(c.get("title") or c["url"])}</a>' if c.get("title")
           else text(c.get("text") or c["url"]))
        + (f' <span class="url">{text(c["url"])}</span>' if c.get("title") or c.get("text") else "")
        + (f" ({text(', '.join(str(x) for x in (c.get('status'), c.get('reason')) if x))})"
           if c.get("status") or c.get("reason") else "") + "</li>"
        for c in found["citations"])
    cited_by = "".join(_summary_item(item) for item in found["cited_by"])
    similar = "".join(_summary_item(item, f'<b>{item["similarity"]:.0%}</b> ') for item in found["similar"])
    body = (f'<p><a href="/">← search</a></p><h1>{text(article.get("title") or url)}</h1>'
            f'<dl class="facts">{"".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)}</dl>'
            f'<h2 id="versions">Versions ({len(found["versions"])})</h2><ol>{versions}</ol>{diff_html}'
            f'<h2 id="citations">Cites ({len(found["citations"])})</h2><ul>{citations or "<li>nothing</li>"}</ul>'
            f'<h2 id="cited-by">Cited by ({len(found["cited_by"])})</h2><ul>{cited_by or "<li>no archived article</li>"}</ul>'
            f'<h2 id="similar">The same story elsewhere ({len(found["similar"])})</h2>'
            f'<ul>{similar or "<li>no near-duplicate found</li>"}</ul>'
            f'<h2>Text</h2><div class="text">{"".join(f"<p>{text(p)}</p>" for p in (article.get("text") or "").split(chr(10)) if p.strip())}</div>')
    return document(f"{article.get('title') or url} · {title}", body)


def message_page(title: str, message: str) -> str:
    return document(title, f'<p><a href="/">← search</a></p><p id="error">{text(message)}</p>')
