"""The two boilerplate layers on their own: phrase rules, bylines and DOM pruning."""

from __future__ import annotations

import gzip
import pickle

import pytest
from lxml import etree
from lxml import html as lxml_html

from crawler.extract.cleaning import dom as dom_layer
from crawler.extract.cleaning import rules as rule_data
from crawler.extract.cleaning.authors import (
    AuthorSources,
    choose_authors,
    clean_name,
    credit_line,
    parse_byline,
    split_authors,
    take_signoff,
)
from crawler.extract.cleaning.dom import clean_tree
from crawler.extract.cleaning.rules import LANGUAGES, is_share_link, load_rules, paragraph_category
from crawler.extract.cleaning.text import clean_paragraphs
from tests.newsserver import CORPUS, corpus_pages

# Paragraphs that must never reach the text (the leftovers named in issue #3 first).
BOILERPLATE = [
    "Jetzt Newsletter abonnieren",
    (
        "Mit Klick auf „Newsletter abonnieren“ erkläre ich mich mit der Verarbeitung und Nutzung "
        "meiner Daten gemäß Einwilligungserklärung (bitte aufklappen für Details) "
        "einverstanden und "
        "akzeptiere die Nutzungsbedingungen. Weitere Informationen finde ich in unserer "
        "Datenschutzerklärung."
    ),
    "Aufklappen für Details zu Ihrer Einwilligung",
    "Hinterlasse einen Kommentar",
    "Anbieter zum Thema",
    "Tetap terinformasi dengan pembaruan gratis",
    "Cukup daftar untuk Ekonomi global myFT Digest -- dikirim langsung ke kotak masuk Anda.",
    "Disarankan",
    "Sign up for our daily newsletter",
    (
        "We use cookies to improve your experience on our site and to show you relevant "
        "advertising. Accept All Cookies"
    ),
    "1 min Lesedauer",
    "(ID:50498820)",
    # more of the same kinds, per language
    "Stay informed with free updates",
    "Simply sign up to the Global Economy myFT Digest -- delivered directly to your inbox.",
    "Unlock the Editor’s Digest for free",
    "Roula Khalaf, Editor of the FT, selects her favourite stories in this weekly newsletter.",
    "Leave a comment",
    "Your email address will not be published. Required fields are marked *",
    "Recommended",
    "Read more: Antwerp volumes climb as shipping lines shift routes",
    "5 min read",
    "Photo: Harbour Gazette/Pieter Bakker",
    (
        "Wir verwenden Cookies, um unser Angebot für Sie zu verbessern. Mehr Informationen finden "
        "Sie in unserer Datenschutzerklärung."
    ),
    "Alle akzeptieren",
    "Mehr zum Thema",
    "Lesen Sie auch: Stromverbrauch von Rechenzentren steigt weiter",
    "Lesezeit: 4 Minuten",
    "Foto: picture alliance/dpa",
    "Deine E-Mail-Adresse wird nicht veröffentlicht. Erforderliche Felder sind mit * markiert",
    "Dieser Artikel ist exklusiv für Abonnenten.",
    "Kami menggunakan cookie untuk meningkatkan pengalaman Anda di situs kami.",
    "Baca juga: Inflasi Januari didorong harga pangan",
    "Tinggalkan komentar",
    "Nous utilisons des cookies pour améliorer votre expérience sur notre site.",
    "Inscrivez-vous à notre newsletter",
    "Lire aussi : La BCE maintient ses taux",
    "Laisser un commentaire",
    "Utilizamos cookies para mejorar tu experiencia de navegación.",
    "Suscríbete a nuestro boletín",
    "Te puede interesar",
    "Deja un comentario",
]

# Real sentences that mention the same words: they must stay.
PROSE = [
    "One of the publishers told its readers in its morning newsletter that it would appeal.",
    "Comments left under the original ruling were mostly critical of the publishers.",
    (
        "The regulator found that the 'Accept all cookies' button was shown in bright colours "
        "while the option to refuse was hidden behind two further clicks."
    ),
    "We use cookies only when a reader has genuinely chosen them, the authority's chair said.",
    "Readers could not find a way to withdraw consent once they had given it.",
    "He invited readers to sign up to receive updates about the campaign.",
    "Der Newsletter des Ministeriums erreicht nach eigenen Angaben 40.000 Abonnenten.",
    "Die Datenschutzbehörde kritisierte, dass viele Seiten Cookies setzen, ohne zu informieren.",
    "In den Kommentaren unter dem Video überwog die Kritik an der Entscheidung.",
    "Wir verwenden Cookies nur mit Einwilligung, sagte der Sprecher des Verlags.",
    "Banyak pembaca menulis komentar yang mengkritik keputusan tersebut di media sosial.",
    "Pemerintah akan mengirim buletin harga pangan setiap pekan kepada pedagang pasar.",
    "Le journal a annoncé dans sa newsletter qu'il ferait appel de la décision.",
    "El periódico explicó en su boletín que recurrirá la multa.",
    "By Tuesday, the government will have to decide whether to extend the strike law.",
]


@pytest.mark.parametrize("text", BOILERPLATE)
def test_boilerplate_paragraphs_are_recognised(text: str) -> None:
    assert paragraph_category(text) is not None


@pytest.mark.parametrize("text", PROSE)
def test_prose_mentioning_cookies_newsletters_comments_is_kept(text: str) -> None:
    assert paragraph_category(text) is None


def test_long_paragraph_is_never_dropped() -> None:
    long_text = "Sign up for our newsletter. " + "The port reopened after the strike ended. " * 30
    assert paragraph_category(long_text) is None


def test_rules_compile_for_each_language_alone() -> None:
    for language in LANGUAGES:
        rules = load_rules((language,))
        assert rules.languages == (language,)
    assert paragraph_category("Jetzt Newsletter abonnieren", load_rules(("en",))) is None
    assert paragraph_category("Jetzt Newsletter abonnieren", load_rules(("de",))) == "newsletter"


def test_rules_are_picklable_data() -> None:
    rules = load_rules()
    assert pickle.loads(pickle.dumps(rules.paragraph)) == rules.paragraph


def test_prefilter_lets_every_boilerplate_example_through() -> None:
    rules = load_rules()
    for text in BOILERPLATE:
        assert rules.paragraph_prefilter.search(rule_data.normalise(text).lower()), text


def test_dom_prefilters_miss_no_marker_or_share_link_of_the_corpus_pages() -> None:
    """The prefilters only narrow down where the full patterns run: every class/id value and
    every link of the recorded pages that the full patterns match must be among their hits."""
    rules = load_rules()
    checked = 0
    for site, name in corpus_pages(True):
        page = gzip.decompress((CORPUS / "pages" / site / f"{name}.html.gz").read_bytes())
        tree = lxml_html.fromstring(page)
        values = dom_layer.scan_page(tree, rules).marker_values
        expected = [v for v in values if rules.dom_marker.search(v.lower())]
        found = {values[i] for i in dom_layer._hits(values, rules.marker_prefilter)}
        assert set(expected) <= found, (site, name)
        hrefs = dom_layer.HREF_VALUES(tree)
        expected_links = [h for h in hrefs if rules.share_link.search(h.lower())]
        found = {hrefs[i] for i in dom_layer._hits(hrefs, rules.share_prefilter)}
        assert set(expected_links) <= found, (site, name)
        checked += len(expected) + len(expected_links)
    assert checked > 1000  # the pages do carry such markers: the test compares something


# What each DOM rule looked for when it was an XPath query (the specification of scan_page).
RULE_QUERIES = {
    "dialogs": ".//*[@role='dialog' or @role='alertdialog' or @role='complementary'"
    " or @role='search'] | .//*[@aria-modal='true']",
    "buttons": ".//button | .//input[@type='submit' or @type='button'] | .//*[@role='button']",
    "headings": "(.//h1 | .//h2 | .//h3 | .//h4 | .//h5 | .//h6 | .//*[@role='heading'] | .//strong"
    " | .//b | .//p[not(*)] | .//div[not(*)] | .//span[not(*)])"
    "[string-length(normalize-space()) <= 50][string-length(normalize-space()) >= 4]",
    "bylines": ".//*[@rel='author' or @itemprop='author' or contains(@class, 'author')"
    " or contains(@class, 'byline') or contains(@id, 'author') or contains(@id, 'byline')"
    " or @data-testid='AuthorCard' or contains(@data-testid, 'author')"
    " or contains(@data-testid, 'byline')]"
    "[not(self::meta or self::link or self::script or self::style or self::img)]",
    "link_buttons": ".//a[contains(@class, 'button') or contains(@class, 'btn')]",
}
MARKER_QUERY = " | ".join(f".//*/@{name}" for name in dom_layer.MARKER_ATTRIBUTES)


def test_one_pass_scan_finds_what_each_rule_query_would_on_the_corpus_pages() -> None:
    """scan_page replaces one XPath query per rule (slow in libxml2) with one pass over the
    elements: on every recorded page it must find exactly the elements the queries find."""
    rules = load_rules()
    assert rules.dialog_roles == {"dialog", "alertdialog", "complementary", "search"}
    queries = {name: etree.XPath(query) for name, query in RULE_QUERIES.items()}
    found = dict.fromkeys(RULE_QUERIES, 0)
    for site, name in corpus_pages(True):
        page = gzip.decompress((CORPUS / "pages" / site / f"{name}.html.gz").read_bytes())
        tree = lxml_html.fromstring(page)
        scan = dom_layer.scan_page(tree, rules)
        headings = [e for e in scan.headings if not len(e) or 4 <= dom_layer._text_len(e) <= 50]
        for rule, elements in (("dialogs", scan.dialogs), ("buttons", scan.buttons),
                               ("headings", headings), ("bylines", scan.bylines),
                               ("link_buttons", scan.link_buttons)):
            assert elements == queries[rule](tree), (site, name, rule)
            found[rule] += len(elements)
        values = etree.XPath(MARKER_QUERY)(tree)
        assert scan.marker_values == values, (site, name)
        assert [v.getparent() for v in values] == scan.marked, (site, name)
    assert all(found.values()), found  # each rule has candidates on the pages: the test compares


def test_literal_prefixes() -> None:
    assert rule_data._literal_prefixes("^(?:this|the) (?:article|story) is") == [
        "this article is",
        "this story is",
        "the article is",
        "the story is",
    ]
    assert rule_data._literal_prefixes("comments?(?![a-z])") == ["comment"]
    assert rule_data._literal_prefixes("(?:a|b)?c") == []
    assert rule_data._literal_prefixes("foo|bar") == ["foo", "bar"]


@pytest.mark.parametrize(
    ("line", "names"),
    [
        ("Von Anna Schmidt", ["Anna Schmidt"]),
        ("Von Anna Schmidt und Jan de Vries, Berlin", ["Anna Schmidt", "Jan de Vries"]),
        ("By Maria Jansen and Tom Evers", ["Maria Jansen", "Tom Evers"]),
        ("By Maria Jansen | 5 min read", ["Maria Jansen"]),
        ("Oleh Budi Santoso", ["Budi Santoso"]),
        ("Par Claire Dubois", ["Claire Dubois"]),
        ("Por Lucía Gómez", ["Lucía Gómez"]),
        ("Von dpa", ["dpa"]),
        ("By Tuesday, the government will decide", None),
        ("Von der Leyen sprach in Brüssel über die Agrarpolitik", None),
        ("By signing up you agree to our Terms of Use", None),
        # where the author wrote from, a role, whose material was used: not authors
        ("By Jane Smith in London", ["Jane Smith"]),
        ("Von Anna Schmidt aus Kiew", ["Anna Schmidt"]),
        ("By Jane Smith, Senior Correspondent", ["Jane Smith"]),
        ("Von Anna Schmidt mit Material von dpa", ["Anna Schmidt"]),
        ("By Jane Smith and Tom Brown; additional reporting by Ali Khan", ["Jane Smith", "Tom Brown"]),
        ("By the time the vote came in London, it was late", None),
    ],
)
def test_bylines(line: str, names: list[str] | None) -> None:
    assert parse_byline(line) == names


def test_publisher_is_not_an_author() -> None:
    publishers = ["Deutsche Welle (www.dw.com)", "DW.COM", "www.dw.com"]
    meta = AuthorSources(meta=["Deutsche Welle (www.dw.com)"])
    assert choose_authors(meta, (list, list), [], publishers) == ["Deutsche Welle (www.dw.com)"]
    shown = (lambda: [], lambda: ["Roman Goncharenko"])
    assert choose_authors(meta, shown, [], publishers) == ["Roman Goncharenko"]
    both = AuthorSources(meta=["Heise Online", "Dirk Knop"])
    assert choose_authors(both, (list, list), [], ["heise online"]) == ["Dirk Knop"]


def test_json_ld_people_win_but_never_an_editor_or_the_publisher() -> None:
    shown = (lambda: ["Naufal Zuhdi"], list)
    # mediaindonesia.com: JSON-LD names the editor the page shows as "Editor : Heryadi"
    editor = AuthorSources(ld_people=["Heryadi"])
    assert choose_authors(editor, shown, ["Heryadi"], ["Media Indonesia"]) == ["Naufal Zuhdi"]
    assert choose_authors(editor, shown, [], ["Media Indonesia"]) == ["Heryadi"]
    # krautreporter.de: a Person node named after the publisher
    publisher = AuthorSources(ld_people=["Krautreporter"], meta=["Shany Littman"])
    assert choose_authors(publisher, (list, list), [], ["Krautreporter eG"]) == ["Shany Littman"]
    # bbc.co.uk: nobody named, the organisation is the author
    bbc = AuthorSources(ld_organisations=["BBC News"])
    assert choose_authors(bbc, (list, list), [], ["BBC News"]) == ["BBC News"]


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("Anna Muster, Max Mustermann", ["Anna Muster", "Max Mustermann"]),
        ("Scott Gilbertson,Gear Team", ["Scott Gilbertson", "Gear Team"]),
        ("Maria Jansen and Tom Evers", ["Maria Jansen", "Tom Evers"]),
        ("Mac & i", ["Mac & i"]),
        ("Deutsche Welle (www.dw.com)", ["Deutsche Welle (www.dw.com)"]),
        ("牛镛、岳弘彬", ["牛镛", "岳弘彬"]),
    ],
)
def test_split_authors(value: str, names: list[str]) -> None:
    assert split_authors(value) == names


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        ("Von FOCUS-Online-Experte Robin Tschöpe", "Robin Tschöpe"),
        ("Dpa", "dpa"),
        ("afp", "AFP"),
        ("REUTERS", "Reuters"),
        ("Elena Oberholzer (obe)", "Elena Oberholzer"),
        ("By Jane Doe", "Jane Doe"),
    ],
)
def test_clean_name(name: str, clean: str) -> None:
    assert clean_name(name) == clean


@pytest.mark.parametrize(
    ("line", "credit"),
    [
        ("Editor : Heryadi", ("editor", ["Heryadi"])),
        ("Autorin/Autor Roman Goncharenko", ("author", ["Roman Goncharenko"])),
        ("Auteur : Kossivi Tiassou", ("author", ["Kossivi Tiassou"])),
        ("(责编：牛镛、岳弘彬)", ("editor", ["牛镛", "岳弘彬"])),
        ("作者：张伟", ("author", ["张伟"])),
        ("Edited by Jane Doe and John Roe", ("editor", ["Jane Doe", "John Roe"])),
        ("Reporter Budi Santoso melaporkan dari Jakarta bahwa harga naik", None),
        ("Editorial: the case for a port strike law", None),
    ],
)
def test_credit_lines(line: str, credit: tuple[str, list[str]] | None) -> None:
    assert credit_line(line) == credit


# leftovers seen on real pages (the list), each of a kind that other pages have too
LEFTOVERS = [
    ("• Email:", "misc"),  # financialpost.com author box without its address
    ("-Aktualisiert am", "misc"),  # faz.net date label without its date
    (
        "Los geht’s: Von Montag an für 49 Euro monatlich im Nah- und Regionalverkehr. "
        "Bild: Maximilian von Lachner",
        "credits",
    ),
    ("Hundreds gathered outside parliament on Monday. Photo: Jane Doe/Reuters", "credits"),
    ("Headline", "misc"),  # mediaindonesia.com label above the headline
    ("分享让更多人看到", "misc"),  # people.com.cn share widget
    ("关注", "misc"),
    (
        "Nach dem Angriff auf Israel wurden auf dem EU-Gipfel schärfere Sanktionen beschlossen. "
        "18.04.2024 | 0:21 min",
        "misc",
    ),  # zdf.de video teaser
    (
        "Aktuelle Meldungen zu Russlands Angriff auf die Ukraine finden Sie jederzeit in "
        "unserem Liveblog:",
        "recommended",
    ),
]


@pytest.mark.parametrize(("text", "category"), LEFTOVERS)
def test_leftovers_are_boilerplate(text: str, category: str) -> None:
    assert paragraph_category(text) == category


@pytest.mark.parametrize(
    "text",
    [
        "Der Minister sagte am Montag in Berlin, das Foto sei echt. Die Regierung prüft den Fall.",
        "Photo agencies said the picture was taken on Monday. Reuters could not verify it.",
        "Aktuelle Entwicklungen zeigen, dass der Handel mit dem Iran weiter schrumpft, sagte er.",
        "The email was sent to all staff on Monday, the company said.",
    ],
)
def test_sentences_like_the_leftovers_are_kept(text: str) -> None:
    assert paragraph_category(text) is None


def test_markup_without_words_is_dropped() -> None:
    kept, report = clean_paragraphs(["()", "|", "The strike is scheduled to last until Saturday."])
    assert kept == ["The strike is scheduled to last until Saturday."]
    assert report.dropped["empty"] == 2


def test_signoff_paragraph_is_an_author_and_leaves_the_text() -> None:
    page = lxml_html.fromstring(
        "<html><body><article><p>Người đàn ông 63 tuổi đau bụng kéo dài, bác sĩ chẩn đoán ung "
        "thư.</p><p class='Normal' style='text-align:right;'><strong>Lê Phương</strong></p>"
        "</article></body></html>"
    )
    assert take_signoff(page) == ["Lê Phương"]
    assert "Lê Phương" not in page.text_content()
    prose = lxml_html.fromstring(
        "<html><body><p style='text-align: right'><b>Quoted at length in the report.</b></p>"
        "</body></html>"
    )
    assert take_signoff(prose) == []


def test_share_links() -> None:
    assert is_share_link("https://www.facebook.com/sharer/sharer.php?u=https://example.org/a")
    assert is_share_link("https://twitter.com/intent/tweet?url=x")
    assert is_share_link("mailto:?subject=Hello")
    assert not is_share_link("https://www.facebook.com/ExampleNews")
    assert not is_share_link("https://www.reuters.com/world/europe/story/")


# --- DOM layer ---------------------------------------------------------------------------------

PROSE_P = (
    "<p>The walkout was called by the union after talks with terminal operators broke down late "
    "on Tuesday, and the port authority said the disruption was costing shippers millions.</p>"
)


def _tree(body: str) -> lxml_html.HtmlElement:
    return lxml_html.document_fromstring(
        f"<html><head><title>t</title></head><body>{body}</body></html>"
    )


def _text(tree: lxml_html.HtmlElement) -> str:
    return " ".join(tree.text_content().split())


def test_newsletter_box_found_by_its_email_form_whatever_the_class_names() -> None:
    tree = _tree(
        '<div class="a1">'
        + PROSE_P * 2
        + '<div class="b7"><p class="c3"><b>Jetzt Newsletter abonnieren</b></p>'
        '<p class="c4">Täglich die wichtigsten Infos direkt in Ihr Postfach.</p>'
        '<form class="d2"><input type="email" name="x"><button>Abonnieren</button></form>'
        '<p class="c5">Mit Klick auf „Newsletter abonnieren“ erkläre ich mich '
        "einverstanden.</p></div>" + PROSE_P * 2 + "</div>"
    )
    report = clean_tree(tree)
    text = _text(tree)
    assert "Newsletter" not in text and "Postfach" not in text and "Klick" not in text
    assert text.count("The walkout was called") == 4
    assert report.removed == {"newsletter": 1}


def test_consent_banner_found_by_its_buttons() -> None:
    tree = _tree(
        '<div class="x1"><div class="x2"><p>We use cookies to personalise content and ads and to '
        "analyse our traffic.</p><span><button>Accept all</button>"
        "<button>Manage preferences</button>"
        "</span></div></div>" + '<div class="m">' + PROSE_P * 3 + "</div>"
    )
    clean_tree(tree)
    text = _text(tree)
    assert "cookies" not in text and "Accept" not in text
    assert text.count("The walkout was called") == 3


def test_consent_manager_found_by_vendor_markup() -> None:
    tree = _tree(
        '<div id="onetrust-consent-sdk"><div class="ot-sdk-row"><h2>Manage Consent Preferences</h2>'
        "<p>Strictly Necessary Cookies</p></div></div>" + PROSE_P * 3
    )
    report = clean_tree(tree)
    assert "Consent" not in _text(tree)
    assert report.removed["consent"] == 1


def test_related_block_found_by_its_heading_and_links() -> None:
    tree = _tree(
        "<div>" + PROSE_P + '<div class="q1"><div class="q2">Recommended</div>'
        '<div><a href="/a">Antwerp volumes climb as shipping lines shift routes</a></div>'
        '<div><a href="/b">Red Sea attacks push freight rates to two-year high</a></div></div>'
        + PROSE_P
        + "</div>"
    )
    clean_tree(tree)
    text = _text(tree)
    assert "Antwerp" not in text and "Recommended" not in text
    assert text.count("The walkout was called") == 2


def test_comment_form_found_by_its_textarea() -> None:
    tree = _tree(
        "<div>" + PROSE_P * 3 + "</div>"
        '<div class="w1"><p>Hinterlasse einen Kommentar</p><form><textarea name="t"></textarea>'
        "<button>Senden</button></form></div>"
    )
    report = clean_tree(tree)
    assert "Kommentar" not in _text(tree)
    assert report.removed == {"comments": 1}


def test_article_container_with_a_telling_class_is_protected() -> None:
    # reuters: class="article-body__content paywall-article"; wired: class="paywall" on each <p>
    tree = _tree('<div class="article-body__content paywall-article">' + PROSE_P * 4 + "</div>")
    report = clean_tree(tree)
    assert _text(tree).count("The walkout was called") == 4
    assert not report.paywall
    tree = _tree("<div>" + PROSE_P.replace("<p>", '<p class="paywall">') * 4 + "</div>")
    clean_tree(tree)
    assert _text(tree).count("The walkout was called") == 4


def test_paywall_box_is_removed_and_reported() -> None:
    tree = _tree(
        "<div>" + PROSE_P * 2 + '<div class="paywall-box"><p>Dieser Artikel ist exklusiv für '
        "Abonnenten.</p><a href='/abo'>Jetzt abonnieren</a></div></div>"
    )
    report = clean_tree(tree)
    assert "Abonnenten" not in _text(tree)
    assert report.paywall


def test_share_bar_links_are_removed() -> None:
    tree = _tree(
        "<div>"
        + PROSE_P * 2
        + '<ul class="k"><li><a href="https://www.facebook.com/sharer/sharer.php?u=x">'
        'Facebook</a></li><li><a href="https://x.com/intent/post?url=x">X</a></li></ul></div>'
    )
    clean_tree(tree)
    assert "Facebook" not in _text(tree)


def test_dom_layer_leaves_a_plain_article_alone() -> None:
    tree = _tree("<article><h1>Title of the story</h1>" + PROSE_P * 5 + "</article>")
    before = _text(tree)
    report = clean_tree(tree)
    assert _text(tree) == before
    assert report.removed == {}
