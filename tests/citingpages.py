"""Realistic citing articles in German, English and Indonesian: every kind of citation next to
every kind of link that is none, with telling or meaningless class names.

`citing_page(lang, cited, noise, telling)` returns the HTML; `cited` maps each citation kind
to the URLs the page cites that way, `noise` names the URLs of links that are no citation.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

WORDS = {
    "en": {
        "para": ("Officials in several capitals said on Tuesday that the new export rules would reshape "
                 "how chip makers plan their next factories, and that talks with the industry had begun. "),
        "according": "according to", "said": "reported", "sources": "Sources:", "plain": "References",
        "related": "Related stories", "read_also": "Read more:", "notes": "Notes",
        "comment": "Leave a comment", "share": "Share this article", "by": "By",
    },
    "de": {
        "para": ("Die Bundesregierung hat am Dienstag neue Regeln für den Export von Halbleitern "
                 "vorgestellt, die nach Ansicht von Fachleuten die Planung neuer Fabriken verändern werden. "),
        "according": "laut", "said": "berichtete", "sources": "Quellen:", "plain": "Quellenangaben",
        "related": "Mehr zum Thema", "read_also": "Lesen Sie auch:", "notes": "Anmerkungen",
        "comment": "Kommentar schreiben", "share": "Artikel teilen", "by": "Von",
    },
    "id": {
        "para": ("Pemerintah di beberapa negara pada hari Selasa menyatakan bahwa aturan ekspor yang baru "
                 "akan mengubah cara produsen cip merencanakan pabrik berikutnya, kata para pejabat. "),
        "according": "menurut", "said": "melaporkan", "sources": "Sumber:", "plain": "Referensi",
        "related": "Berita terkait", "read_also": "Baca juga:", "notes": "Catatan kaki",
        "comment": "Tulis komentar", "share": "Bagikan", "by": "Oleh",
    },
}


@dataclass
class CitingPage:
    html: str
    cited: dict[str, list[str]]  # kind -> URLs, in page order within the kind
    order: list[str]  # every cited URL in page order
    noise: list[str]  # URLs of links that are no citation


def citing_page(lang: str, base: str, other: str, telling: bool = True) -> CitingPage:
    """``base``: the page's own site (http://host:port); ``other``: a second host for sources."""
    w = WORDS[lang]
    c = (lambda telling_name, n: f' class="{telling_name if telling else f"x{n}q"}"')
    inline = [f"{other}/reports/export-rules-2024-{lang}.html", f"{base}/world/earlier-story-on-chips-{lang}-1234"]
    listed = [f"{other}/agency/{lang}/statement-{i}.html" for i in range(3)]
    plain = [f"{other}/press/{lang}-release-{i}" for i in range(2)]
    footnotes = [f"{other}/studies/{lang}-study-{i}.pdf" for i in range(2)]
    noise = [
        f"{base}/politik/", f"{base}/tag/semiconductors", f"{base}/autor/jane-doe",
        f"{base}/news/related-story-one-{lang}-77", f"{base}/news/related-story-two-{lang}-78",
        f"{base}/news/read-also-{lang}-79", f"{base}/imprint-and-contact",
        f"{other}/ads/click-{lang}", f"{other}/commenter-homepage-{lang}",
        f"https://www.facebook.com/sharer/sharer.php?u={base}/x", f"{base}/nav/home-page-{lang}-1",
    ]
    para = html.escape(w["para"])
    body = f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>Export rules ({lang})</title></head>
<body>
<div{c('site-header', 1)}><nav><a href="{noise[10]}">Home</a> <a href="{noise[0]}">Politik</a></nav></div>
<div{c('layout', 2)}>
<article{c('article', 3)}>
  <header><a href="{noise[0]}">Politik</a><h1>Export rules reshape chip plans ({lang})</h1>
    <p{c('byline', 4)}>{w['by']} <a href="{noise[2]}">Jane Doe</a></p></header>
  <div{c('article-body', 5)}>
    <p>{para}{para}</p>
    <p>{para} {w['according']} <a href="{inline[0]}">Reuters</a>, {para}</p>
    <p>{para}<sup><a href="#fn-1-{lang}">1</a></sup> {para}</p>
    <p>{w['read_also']} <a href="{noise[5]}">Another story about chips</a></p>
    <p>{para} <a href="{inline[1]}">{w['said']}</a> {para}<sup><a href="#fn-2-{lang}">2</a></sup></p>
    <p>{para}{para}</p>
    <p>{w['sources']}</p>
    <ul{c('', 6)}>
      <li><a href="{listed[0]}">Reuters</a></li><li><a href="{listed[1]}">AP</a></li><li><a href="{listed[2]}">dpa</a></li>
    </ul>
    <p>{html.escape(w['plain'])}:<br>- Reuters: {plain[0]}<br>- AFP: {plain[1]}.</p>
    <h4>{w['notes']}</h4>
    <ol{c('footnotes', 7)}>
      <li id="fn-1-{lang}">Study of the industry, 2024, <a href="{footnotes[0]}">PDF</a></li>
      <li id="fn-2-{lang}">Second study, <a href="{footnotes[1]}">report</a></li>
    </ol>
    <div{c('tags', 8)}><a rel="tag" href="{noise[1]}">Semiconductors</a></div>
    <div{c('share-bar', 9)}><a href="{noise[9]}">{w['share']}</a></div>
  </div>
  <h3>{w['related']}</h3>
  <ul{c('related', 10)}>
    <li><a href="{noise[3]}">A related story about chips and exports</a></li>
    <li><a href="{noise[4]}">Another related story about the industry</a></li>
  </ul>
</article>
<aside{c('sidebar', 11)}><a href="{noise[7]}">Sponsored: buy chips now</a></aside>
<section{c('comments', 12)}><h3>{w['comment']}</h3>
  <div><p>Great article, see <a href="{noise[8]}">my blog</a> about it for a longer view of the matter.</p></div>
  <form><textarea name="comment"></textarea><button>{w['comment']}</button></form></section>
</div>
<footer><a href="{noise[6]}">Imprint</a></footer>
</body></html>"""
    cited = {"inline": inline, "source_list": listed, "plain_url": plain, "footnote": footnotes}
    order = [inline[0], inline[1], *listed, *plain, *footnotes]
    return CitingPage(body, cited, order, noise)
