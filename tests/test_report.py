"""The capture-quality report: `crawler report`, the anomalies a job run finds (and passes to its
on_anomaly command), and the health page, on a local site crawled by real job runs.

The site is a sitemap and a feed on tests/newsserver.py listing real corpus articles (English,
with dates and authors). After normal runs it turns bad the way sites do: some articles answer
with a Cloudflare challenge (200), others with a paywall teaser, and the sitemap answers 404.
"""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import REPO, run_crawler
from pngpixels import colour_counts
from sourcefixtures import CHALLENGE, RSS, XML, corpus_page, rss, teaser, urlset

from crawler.archive.report import anomalies, build_report
from crawler.config import AlertConfig

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
# English corpus articles with a date, an author and 300+ words of text
ARTICLES = [("apnews.com", "APNews_2024_09_03"), ("bbc.co.uk", "BBC_2024_08_01"),
            ("businessinsider.com", "BusinessInsider_2024_02_14"), ("cnbc.com", "CNBC_2023_04_28"),
            ("euronews.com", "EuronewsEN_2026_01_06"), ("financialpost.com", "FinancialPost_2026_06_06"),
            ("politico.eu", "PoliticoEu_2025_10_23"), ("reuters.com", "Reuters_2024_03_07"),
            ("taipeitimes.com", "TaipeiTimes_2024_10_15"), ("techcrunch.com", "TechCrunch_2024_04_28"),
            ("theintercept.com", "TheIntercept_2024_02_28"), ("voanews.com", "VoiceOfAmerica_2024_04_28"),
            ("washingtonpost.com", "WashingtonPost_2024_04_26"), ("theglobeandmail.com", "TheGlobeAndMail_2024_08_28"),
            ("techradar.com", "TechRadar_2026_05_21"), ("telegraph.co.uk", "TheTelegraph_2024_09_17")]
CF_HEADERS = [("Server", "cloudflare"), ("cf-mitigated", "challenge")]


def settings() -> AlertConfig:
    from scrapy.settings import Settings

    s = Settings()
    s.setmodule("crawler.settings")
    return AlertConfig.from_settings(s)


class Site:
    """A site on the news server: /<prefix>/a/<n> articles, a sitemap and a feed listing them."""

    def __init__(self, server, prefix: str):
        self.server, self.prefix = server, prefix
        self.count = 0

    def path(self, n: int) -> str:
        return f"/{self.prefix}/a/{n}"

    def publish(self, n: int, body: bytes | None = None, headers=None) -> None:
        site, name = ARTICLES[n % len(ARTICLES)]
        self.server.set_page(self.path(n), body if body is not None else corpus_page(site, name),
                             headers=headers or [])
        self.count = max(self.count, n + 1)
        self.listings()

    def listings(self, sitemap_status: int = 200) -> None:
        now = datetime.now(UTC)
        items = [(self.server.url(self.path(n)), now - timedelta(hours=n)) for n in range(self.count)]
        if sitemap_status == 200:
            self.server.set_page(f"/{self.prefix}/sitemap.xml", urlset(items), content_type=XML)
        else:
            self.server.set_page(f"/{self.prefix}/sitemap.xml", b"<h1>Not Found</h1>", status=sitemap_status)
        self.server.set_page(f"/{self.prefix}/feed.xml",
                             rss("Site", self.server.url("/"), [(u, d, f"Story {i}") for i, (u, d) in enumerate(items)]),
                             content_type=RSS)

    def jobs_file(self, tmp_path: Path, archive: Path, on_anomaly: str | None = None) -> Path:
        path = tmp_path / "jobs.toml"
        hook = f"on_anomaly = {json.dumps(on_anomaly)}\n" if on_anomaly else ""
        path.write_text(f"""
[[jobs]]
name = "watch"
sitemaps = ["{self.server.url(f'/{self.prefix}/sitemap.xml')}"]
feeds = ["{self.server.url(f'/{self.prefix}/feed.xml')}"]
every = "1h"
archive = "{archive}"
allow_private = true
{hook}
[jobs.settings]
DOWNLOAD_DELAY = 0
AUTOTHROTTLE_ENABLED = false
ARCHIVE_REQUISITES = false
""", encoding="utf-8")
        return path


def run_job(jobs: Path):
    return run_crawler("--log-json", "run-job", str(jobs), "watch", "--summary-file", str(jobs.with_suffix(".json")))


def report(archive: Path, *args: str) -> tuple[int, dict]:
    result = run_crawler("report", str(archive), "--json", *args)
    assert result.code in (0, 6), result.stderr
    return result.code, json.loads(result.stdout)


def test_a_site_that_turns_to_challenges_teasers_and_a_dead_sitemap_is_reported(news_server, tmp_path):
    site = Site(news_server, "degrading")
    archive = tmp_path / "archive"
    hook_out = tmp_path / "hook.json"
    jobs = site.jobs_file(tmp_path, archive, on_anomaly=f"cat > '{hook_out}'")
    for n in range(8):
        site.publish(n)
    for run in range(3):  # normal runs, one new article each time after the first
        if run:
            site.publish(7 + run)
        result = run_job(jobs)
        assert result.code == 0, result.stdout + result.stderr
        assert "degraded" not in result.stdout
    assert not hook_out.exists()
    name = f"127.0.0.1:{news_server.port}"
    code, before = report(archive)
    assert code == 0 and [s["source"] for s in before["sources"]] == [name]
    runs = before["sources"][0]["runs"]
    assert [r["new_articles"] for r in runs] == [8, 1, 1] and [r["unchanged"] for r in runs] == [0, 8, 9]
    assert all(r["date_share"] == 1.0 and r["author_share"] >= 0.8 and r["median_words"] > 300 for r in runs)
    assert runs[0]["discovered"] == 8 and runs[0]["discovery"] == {"fetched": 2, "failed": 0, "failures": []}

    # The site changes: challenges for some articles, teasers for others, the sitemap gone.
    for n in range(4):
        site.publish(n, CHALLENGE, headers=CF_HEADERS)
    for n in range(4, 8):
        site.publish(n, teaser(corpus_page(*ARTICLES[n])))
    site.listings(sitemap_status=404)
    bad = run_job(jobs)
    assert bad.code == 6, bad.stdout + bad.stderr
    assert f"job watch: {name} degraded: blocked_rise" in bad.stdout
    summary = json.loads(jobs.with_suffix(".json").read_text())
    assert summary["status"] == "degraded" and {a["kind"] for a in summary["anomalies"]} >= {"blocked_rise"}
    logged = [json.loads(line) for line in bad.stderr.splitlines() if line.startswith("{")]
    assert any(e.get("event") == "source_degraded" and e.get("kind") == "discovery_failing" for e in logged)

    code, after = report(archive)
    assert code == 6
    found = {a["kind"]: a for a in after["sources"][0]["anomalies"]}
    expected = {"blocked_rise", "paywall_rise", "discovery_failing"}
    assert expected <= set(found) <= expected | {"word_count_drop"}, found  # (teasers are short, too)
    assert found["blocked_rise"]["latest"] == pytest.approx(4 / 10) and found["blocked_rise"]["before"] == 0
    assert "challenge 4" in found["blocked_rise"]["detail"] or "cloudflare 4" in found["blocked_rise"]["detail"]
    assert found["discovery_failing"]["urls"] == [{"url": news_server.url("/degrading/sitemap.xml"),
                                                   "reason": "error_status:404"}]
    latest = after["sources"][0]["runs"][-1]
    assert latest["blocked"] == 4 and latest["paywalled"] == 4 and latest["new_articles"] == 0
    # the job's on_anomaly command got the same judgement on its standard input
    handed = json.loads(hook_out.read_text())
    assert handed["job"] == "watch" and [s["source"] for s in handed["sources"]] == [name]
    assert {a["kind"] for a in handed["sources"][0]["anomalies"]} == set(found)

    # The terminal report, then the health page in a browser.
    text = run_crawler("report", str(archive), "--html", str(tmp_path / "health.html"))
    assert text.code == 6 and "! blocked_rise: 40% of the pages fetched were blocked" in text.stdout
    assert "1 source(s), 1 degraded in their latest run" in text.stdout
    if CHROMIUM.exists():
        shot = ARTIFACTS / "report-health.png"
        ARTIFACTS.mkdir(exist_ok=True)
        subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,900",
                        f"--screenshot={shot}", (tmp_path / "health.html").as_uri()], capture_output=True,
                       timeout=120, check=True)
        colours = colour_counts(shot, {"blocked": (0xdd, 0x33, 0x33), "archived": (0x22, 0xaa, 0x77),
                                       "words": (0x33, 0x66, 0xcc)})
        assert colours["blocked"] > 100 and colours["archived"] > 500 and colours["words"] > 50, colours
        dom = subprocess.run([str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                              (tmp_path / "health.html").as_uri()], capture_output=True, timeout=120, check=True)
        assert "blocked_rise" in dom.stdout.decode() and "discovery_failing" in dom.stdout.decode()


def test_a_steady_source_over_ten_runs_raises_no_alarm(news_server, tmp_path):
    site = Site(news_server, "steady")
    archive = tmp_path / "archive"
    hook_out = tmp_path / "hook.json"
    jobs = site.jobs_file(tmp_path, archive, on_anomaly=f"cat > '{hook_out}'")
    for n in range(5):
        site.publish(n)
    for run in range(10):
        if run:
            site.publish(4 + run)  # a new article
            if run % 3 == 0:  # an article rewritten (another text, another length)
                site.publish(run - 1, corpus_page(*ARTICLES[(run + 7) % len(ARTICLES)]))
        result = run_job(jobs)
        assert result.code == 0, result.stdout + result.stderr
        assert "degraded" not in result.stdout
    code, found = report(archive)
    assert code == 0 and len(found["sources"]) == 1
    runs = found["sources"][0]["runs"]
    assert len(runs) == 10 and found["sources"][0]["anomalies"] == []
    assert sum(r["changed"] for r in runs) >= 3 and all(r["new_articles"] >= 1 for r in runs)
    words = [r["median_words"] for r in runs]
    assert max(words) != min(words)  # the word counts did vary
    assert not hook_out.exists()
    # --since / --source choose the runs shown; a source not there gives an empty report
    assert len(report(archive, "--since", runs[5]["started"])[1]["sources"][0]["runs"]) == 5
    assert report(archive, "--source", "nowhere")[1] == {"sources": []}


# -- the judgement on its own, on run figures ------------------------------------------------------
def run(**figures) -> dict:
    base = {"started": "2026-12-01T00:00:00+00:00", "fetched": 40, "new": 10, "changed": 0, "unchanged": 30,
            "blocked": 0, "paywalled": 0, "articles": 10, "new_articles": 10, "pages_with_text": 10,
            "median_words": 800, "date_share": 1.0, "author_share": 0.9, "title_share": 1.0,
            "discovery": {"fetched": 2, "failed": 0, "failures": []}}
    return {**base, **figures}


def test_each_anomaly_kind_and_its_threshold():
    alerts = settings()
    history = [run(median_words=700 + 50 * i, blocked=i % 2) for i in range(6)]
    assert anomalies(run(), history, alerts) == []
    assert [a["kind"] for a in anomalies(run(median_words=300), history, alerts)] == ["word_count_drop"]
    assert anomalies(run(median_words=450), history, alerts) == []  # less than half: not yet
    dropped = anomalies(run(date_share=0.4, author_share=0.85), history, alerts)
    assert [(a["kind"], a["field"]) for a in dropped] == [("coverage_drop", "date")]
    # a tiny run is not judged on shares
    assert anomalies(run(fetched=3, blocked=3, articles=1, pages_with_text=1, median_words=20), history, alerts) == []
    quiet = [*history, run(new_articles=0), run(new_articles=0)]
    assert [a["kind"] for a in anomalies(run(new_articles=0), quiet, alerts)] == ["no_new_articles"]
    assert anomalies(run(new_articles=0), history, alerts) == []  # one quiet run is no news
    rare = [run(new_articles=i % 2) for i in range(6)]  # a source that rarely has new articles
    assert anomalies(run(new_articles=0), [*rare, run(new_articles=0), run(new_articles=0)], alerts) == []
    assert anomalies(run(blocked=30), [], alerts) == []  # no history: nothing to compare with


def test_build_report_takes_the_latest_run_in_the_window(tmp_path):
    alerts = settings()
    runs = [{"file": f"r{i}.json", "job": "j", "started": f"2026-12-0{i + 1}T00:00:00+00:00",
             "sources": {"s": run(blocked=30 if i == 3 else 0)}} for i in range(5)]
    full = build_report(runs, alerts)
    assert full["sources"][0]["anomalies"] == []  # the last run is fine again
    until = build_report(runs, alerts, until=datetime(2026, 12, 4, 12, tzinfo=UTC))
    assert [a["kind"] for a in until["sources"][0]["anomalies"]] == ["blocked_rise"]
    assert len(until["sources"][0]["runs"]) == 4


def test_report_usage_errors(tmp_path):
    assert run_crawler("report", str(tmp_path / "none")).code == 2
    (tmp_path / "a" / "warc").mkdir(parents=True)
    empty = run_crawler("report", str(tmp_path / "a"))
    assert empty.code == 0 and "no runs recorded" in empty.stdout
    bad = run_crawler("report", str(tmp_path / "a"), "--since", "not a date")
    assert bad.code == 2 and bad.stderr.startswith("crawler report: --since")
    wrong = run_crawler("report", str(tmp_path / "a"), "-s", "ARCHIVE_ALERT_BLOCKED_SHARE=5")
    assert wrong.code == 2 and "ARCHIVE_ALERT_BLOCKED_SHARE" in wrong.stderr and "Traceback" not in wrong.stderr
    (tmp_path / "a" / "runs").mkdir()
    (tmp_path / "a" / "runs" / "broken.json").write_text("{not json")
    said = run_crawler("report", str(tmp_path / "a"))
    assert said.code == 0 and "broken.json: skipped" in said.stderr and "Traceback" not in said.stderr


def test_a_killed_run_keeps_its_figures_so_far(news_server, tmp_path):
    import signal
    import sys
    import time

    archive = tmp_path / "archive"
    quick = [news_server.url(f"/page/{site}/{name}") for site, name in ARTICLES[:3]]
    proc = subprocess.Popen([sys.executable, "-m", "crawler", "ingest", "--allow-private", "--archive", str(archive),
                             "-s", "ARCHIVE_PROGRESS_INTERVAL=0.5", *quick, news_server.url("/slow?delay=60&t=killed")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            lines = [p for p in (archive / "json").glob("*.open")] if (archive / "json").is_dir() else []
            if lines and lines[0].read_text(errors="replace").count("\n") >= 3:
                break
            time.sleep(0.1)
        time.sleep(1.5)  # a checkpoint after the third page
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    code, found = report(archive)
    runs = found["sources"][0]["runs"]
    assert code == 0 and len(runs) == 1 and runs[0]["new_articles"] == 3 and runs[0]["discovered"] == 4
