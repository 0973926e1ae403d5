"""The `crawler` command as a newcomer meets it: one clear line per problem, checked settings,
dates and source names as people write them, help that says what each command does and returns
(issue: a command line a newcomer trusts)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import REPO, run_crawler
from dnsserver import ScriptedDNSServer
from warcutil import json_records

from crawler.cli.main import COMMANDS
from crawler.dates import parse_when


def on_terminal(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`crawler ARGS` on a pseudo-terminal (script(1)): what a person at a terminal sees."""
    command = shlex.join([sys.executable, "-m", "crawler", *args])
    return subprocess.run(["script", "-q", "-e", "-c", command, "/dev/null"], cwd=REPO, capture_output=True,
                          check=False, text=True, timeout=timeout, env={**os.environ, "TERM": "dumb"})


def test_a_small_run_with_failures_fits_on_a_terminal(tmp_path):
    """On a pseudo-terminal: no Scrapy banners, stats dumps or tracebacks for expected failures;
    one line per failure, the summary, and where the archive is."""
    archive = tmp_path / "archive"
    with ScriptedDNSServer({"nowhere.invalid": ["NXDOMAIN"]}) as dns:  # no look-up leaves loopback
        done = on_terminal("ingest", "http://127.0.0.1:9/closed", "http://nowhere.invalid/page", "--allow-private",
                           "--archive", str(archive), "-s", f"ARCHIVE_DNS_SERVERS={dns.address}")
    screen = done.stdout
    lines = [line for line in screen.splitlines() if line.strip()]
    assert len(lines) <= 40, screen
    for noise in ("Traceback", "Overridden settings", "Dumping Scrapy stats", "Versions:", "Gave up retrying"):
        assert noise not in screen, noise
    assert "http://127.0.0.1:9/closed  connection_refused" in screen
    assert "http://nowhere.invalid/page  dns_error" in screen
    assert f"archive: {archive}" in screen and "JSON Lines: json/ingest-" in screen
    assert done.returncode == 1


def test_failed_requisites_are_counted_on_a_terminal_not_listed(tmp_path, news_server):
    """A page whose 30 images are gone: the terminal gets their count by reason in the summary,
    the JSON log a line each."""
    images = "".join(f'<img src="/status/404?image={i}" alt="">' for i in range(30))
    paragraphs = "".join(f"<p>Paragraph {i} of the report on the port strike, which went on for a "
                         "third week as talks between the unions and the operators stalled again.</p>"
                         for i in range(6))
    news_server.set_page("/cli/images", (f"<html lang='en'><head><title>Port strike</title></head><body>"
                                         f"<article><h1>Port strike</h1>{images}{paragraphs}</article>"
                                         "</body></html>").encode())
    page = news_server.url("/cli/images")
    done = on_terminal("ingest", page, "--allow-private", "--archive", str(tmp_path / "archive"), timeout=180)
    screen = done.stdout
    assert "requisite_failed" not in screen and "search_indexed" not in screen
    assert "requisites: fetched 0  unchanged 0  failed 30  (error_status:404 30)" in screen, screen
    assert len([line for line in screen.splitlines() if line.strip()]) <= 10, screen
    logged = run_crawler("ingest", page, "--allow-private", "--archive", str(tmp_path / "json-logs"),
                         requisites=True)
    events = [json.loads(line)["event"] for line in logged.stderr.splitlines() if line.startswith("{")]
    assert events.count("requisite_failed") == 30


def test_a_component_that_cannot_be_loaded_is_a_usage_error_naming_its_setting(tmp_path, news_server):
    result = run_crawler("ingest", news_server.url("/page"), "--allow-private", "--archive", str(tmp_path / "a"),
                         "-s", "ARCHIVE_STATE_STORE=no.such.module.Store")
    assert result.code == 2
    assert "ARCHIVE_STATE_STORE: cannot load 'no.such.module.Store'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("given, message", [
    ("CONCURENT_REQUESTS=2", "unknown setting CONCURENT_REQUESTS; did you mean CONCURRENT_REQUESTS?"),
    ("DOWNLOAD_DELAY=fast", "DOWNLOAD_DELAY is a number, got 'fast'"),
    ("ROBOTSTXT_OBEY=maybe", "ROBOTSTXT_OBEY is True or False"),
    ("ARCHIVE_MAX_BODY_BYTE=5", "did you mean ARCHIVE_MAX_BODY_BYTES?"),
])
def test_settings_are_checked_before_anything_is_fetched(tmp_path, news_server, given, message):
    news_server.clear_log()
    result = run_crawler("ingest", news_server.url("/page"), "--allow-private", "--archive", str(tmp_path / "a"),
                         "-s", given)
    assert result.code == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert news_server.hits("/page") == 0 and not (tmp_path / "a").exists()


def test_a_jobs_file_settings_table_is_checked_too(tmp_path):
    jobs = tmp_path / "jobs.toml"
    jobs.write_text('[[jobs]]\nname = "x"\nurls = ["https://example.org/a"]\nevery = "6h"\n'
                    f'archive = "{tmp_path / "a"}"\n[jobs.settings]\nCONCURENT_REQUESTS = 2\n'
                    'DOWNLOAD_DELAY = "fast"\n')
    result = run_crawler("schedule", str(jobs), "--check")
    assert result.code == 2
    assert "settings.CONCURENT_REQUESTS" in result.stderr and "did you mean CONCURRENT_REQUESTS" in result.stderr
    assert "settings.DOWNLOAD_DELAY" in result.stderr and "is a number" in result.stderr


def test_a_url_list_that_is_not_utf8_names_the_line_and_the_rest_goes_on(tmp_path, news_server):
    listing = tmp_path / "urls.txt"
    listing.write_bytes(news_server.url("/page/dw.com/DW_2024_01_30?utf=1").encode() + b"\n"
                        + b"http://example.org/caf\xe9\n" + news_server.url("/file.pdf?utf=1").encode() + b"\n")
    archive = tmp_path / "archive"
    result = run_crawler("ingest", "-i", str(listing), "--allow-private", "--archive", str(archive))
    assert f"{listing}:2: not UTF-8 text (byte 0xe9" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(json_records(archive)) == 2 and result.code == 1


def test_one_date_parser_for_every_since():
    now = datetime(2026, 12, 3, 10, 30, tzinfo=UTC)
    assert parse_when("7d", now) == now - timedelta(days=7)
    assert parse_when("24h", now) == now - timedelta(hours=24)
    assert parse_when("today", now) == datetime(2026, 12, 3, tzinfo=UTC)
    assert parse_when("yesterday", now) == datetime(2026, 12, 2, tzinfo=UTC)
    assert parse_when("2024-03-07", now) == datetime(2024, 3, 7, tzinfo=UTC)
    assert parse_when("2024-03-07T12:00+02:00", now) == datetime(2024, 3, 7, 10, tzinfo=UTC)
    assert parse_when("20240307", now) == datetime(2024, 3, 7, tzinfo=UTC)
    assert parse_when("2024", now) == datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="7d, 24h"):
        parse_when("last tuesday", now)


@pytest.mark.parametrize("since", ["7d", "yesterday", "2024-03-07"])
def test_since_is_understood_on_the_command_line_as_in_a_jobs_file(tmp_path, since):
    result = run_crawler("export-wacz", str(tmp_path / "none"), "-o", str(tmp_path / "x.wacz"), "--since", since)
    assert "--since" not in result.stderr  # refused for the archive, not for the date
    bad = run_crawler("crawl", "dw", "--since", "someday", "--archive", str(tmp_path / "a"))
    assert bad.code == 2 and "--since: not a date: 'someday'" in bad.stderr


def test_source_names_are_case_insensitive(tmp_path):
    result = run_crawler("crawl", "DW", "--max-pages", "0", "--archive", str(tmp_path / "a"),
                         "--from-archive", str(tmp_path), "-s", f"ARCHIVE_REPLAY_INDEX_DIR={tmp_path / 'i'}")
    assert "unknown source" not in result.stderr


def test_every_command_says_what_it_does_returns_and_how_to_use_it():
    version = run_crawler("--version")
    assert version.code == 0 and version.stdout.startswith("crawler (newsarchive) ")
    for name in COMMANDS:
        result = run_crawler(name, "--help")
        assert result.code == 0, name
        text = result.stdout
        assert "exit status:" in text and "\nexample:\n  crawler " + name in text, name
        description = text.split("\n\n")[1]
        assert len(description.strip()) > 10, name
    assert "5 the job is already running" in run_crawler("run-job", "--help").stdout
    assert "--from-archive" not in run_crawler("upload", "--help").stdout
    assert "1 with --follow-citations" in " ".join(run_crawler("ingest", "--help").stdout.split())


def test_the_run_summary_is_json_for_scheduled_jobs(tmp_path, news_server):
    result = run_crawler("ingest", news_server.url("/page/dw.com/DW_2024_01_30?json=1"), "--allow-private",
                         "--archive", str(tmp_path / "a"), "--log-json")
    summary = next(json.loads(line) for line in result.stderr.splitlines() if '"run_summary"' in line)
    assert summary["new"] == 1 and summary["archive"] == [str((tmp_path / "a").resolve())]
    assert summary["crawl_seconds"] > 0
    assert all(line.startswith("{") for line in result.stderr.splitlines()), result.stderr
    assert Path(tmp_path / "a" / "json" / summary["json_files"][0]).exists()


def test_a_source_crawl_fetches_each_robots_txt_once(tmp_path):
    from sourcefixtures import FIXTURES, write_fixture
    from warcutil import all_records

    warcs = write_fixture(FIXTURES["restofworld"](), tmp_path / "fixture")
    archive = tmp_path / "archive"
    result = run_crawler("crawl", "restofworld", "--from-archive", str(warcs), "--archive", str(archive),
                         "-s", f"ARCHIVE_REPLAY_INDEX_DIR={tmp_path / 'index'}", "-s", "DOWNLOAD_DELAY=0",
                         "-s", "AUTOTHROTTLE_ENABLED=False")
    assert result.code in (0, 1), result.stderr
    robots = [rec.uri for rec in all_records(archive) if rec.type == "request" and rec.uri.endswith("/robots.txt")]
    assert robots and len(robots) == len(set(robots)), robots  # each host's robots.txt once
    articles = [line for line in json_records(archive) if line["reason"] is None]
    assert articles  # its Sitemap: lines were followed


def test_download_maxsize_archives_a_bigger_body_cut_instead_of_dropping_it(news_server, tmp_path):
    from warcutil import responses

    url = news_server.url("/big?size=500000&maxsize=1")
    archive = tmp_path / "archive"
    result = run_crawler("ingest", url, "--allow-private", "--archive", str(archive), "-s", "DOWNLOAD_MAXSIZE=100000")
    assert result.code == 0, result.stdout + result.stderr
    record = responses(archive)[url]
    assert record.warc.get_header("WARC-Truncated") == "length" and 100000 < len(record.raw) <= 100000 + 65536
    (line,) = json_records(archive)
    assert line["truncated"] == "length"


def test_a_connection_reset_mid_body_archives_what_arrived(news_server, tmp_path):
    from warcutil import responses

    path = "/drop?size=100000&after=500&rst=1"
    url = news_server.url(path)
    archive = tmp_path / "archive"
    result = run_crawler("ingest", url, "--allow-private", "--archive", str(archive), "-s", "DOWNLOAD_TIMEOUT=20")
    record = responses(archive)[url]
    assert record.warc.get_header("WARC-Truncated") == "disconnect" and record.raw == news_server.sent[path]
    (line,) = json_records(archive)
    assert line["truncated"] == "disconnect" and result.code in (0, 1)


def test_a_failure_after_redirects_keeps_the_url_given_and_names_the_hop(news_server, tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}/gone"
    news_server.set_page("/to-dead", b"moved", status=302, headers=[("Location", dead)])
    given = news_server.url("/to-dead")
    archive = tmp_path / "archive"
    run_crawler("ingest", given, "--allow-private", "--archive", str(archive))
    (line,) = json_records(archive)
    assert line["url"] == given and line["final_url"] == dead and line["reason"] == "connection_refused"


def test_a_jobs_runs_are_named_after_it_and_a_missing_contact_url_is_said_once(news_server, tmp_path):
    jobs = tmp_path / "jobs.toml"
    archive = tmp_path / "archive"
    jobs.write_text(f'[[jobs]]\nname = "china-ai"\nurls = ["{news_server.url("/page/dw.com/DW_2024_01_30?job=1")}"]\n'
                    f'every = "6h"\narchive = "{archive}"\nallow_private = true\n')
    result = run_crawler("run-job", str(jobs), "china-ai")
    assert result.code == 0, result.stdout + result.stderr
    assert [p.name.split("-")[0] for p in (archive / "warc").iterdir()] == ["china_ai_ingest"]
    assert [p.name.split("-")[0] for p in (archive / "json").iterdir()] == ["china_ai_ingest"]
    assert result.stderr.count("ARCHIVE_CONTACT_URL") == 1
    quiet = run_crawler("ingest", news_server.url("/page/dw.com/DW_2024_01_30?job=2"), "--allow-private",
                        "--archive", str(archive), "-s", "ARCHIVE_CONTACT_URL=https://example.org/contact")
    assert "ARCHIVE_CONTACT_URL" not in quiet.stderr


def test_a_wacz_is_titled_after_the_archive_it_packs(news_server, tmp_path):
    import zipfile

    archive = tmp_path / "archive"
    run_crawler("ingest", news_server.url("/page/dw.com/DW_2024_01_30?title=1"), "--allow-private",
                "--archive", str(archive))
    out = tmp_path / "x.wacz"
    assert run_crawler("export-wacz", str(archive), "-o", str(out)).code == 0
    with zipfile.ZipFile(out) as zf:
        package = json.loads(zf.read("datapackage.json"))
    assert package["title"] == f"News archive {archive.resolve()}"


def test_an_uncompressed_warc_replays_into_valid_lines_and_counts_add_up(news_server, tmp_path):
    import gzip as gz

    from warcutil import schema_errors

    archive = tmp_path / "archive"
    urls = [news_server.url("/page/dw.com/DW_2024_01_30?plain=1"), news_server.url("/file.pdf?plain=1")]
    run_crawler("ingest", *urls, "--allow-private", "--archive", str(archive))
    (packed,) = (archive / "warc").glob("*.warc.gz")
    plain = tmp_path / packed.name.removesuffix(".gz")
    plain.write_bytes(gz.decompress(packed.read_bytes()))  # every member: one uncompressed WARC
    out = tmp_path / "again.jsonl"
    result = run_crawler("replay", str(plain), "--out", str(out))
    assert result.code == 0, result.stdout + result.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 2 and not [error for line in lines for error in schema_errors(line)]
    assert lines[0]["warc"]["filename"] == plain.name
    assert "replayed 2 pages (1 articles, 1 without one)" in result.stdout
    assert "Error" not in result.stderr


def test_crawling_from_an_archive_indexes_it_once(news_server, tmp_path):
    archive = tmp_path / "archive"
    run_crawler("ingest", news_server.url("/page/dw.com/DW_2024_01_30?once=1"), "--allow-private",
                "--archive", str(archive))
    again = run_crawler("ingest", news_server.url("/page/dw.com/DW_2024_01_30?once=1"), "--archive",
                        str(tmp_path / "second"), "--from-archive", str(archive / "warc"), "--log-json",
                        "-s", f"ARCHIVE_REPLAY_INDEX_DIR={tmp_path / 'index'}")
    assert again.code == 0, again.stderr
    assert again.stderr.count('"replay_index"') == 1


def test_lookup_get_and_history_find_a_page_by_its_clean_and_its_canonical_url(news_server, tmp_path):
    from test_citations import _article

    body = _article("Tracked story", []).replace(b"<head>", b'<head><link rel="canonical" href="https://news.example/story-1">')
    news_server.set_page("/tracked/story", body)
    fed = news_server.url("/tracked/story?utm_source=rss&utm_medium=feed&id=7")
    clean = news_server.url("/tracked/story?id=7")
    archive = tmp_path / "archive"
    assert run_crawler("ingest", fed, "--allow-private", "--archive", str(archive)).code == 0
    for given, said in ((clean, "with tracking parameters"), ("https://news.example/story-1", "canonical URL")):
        lookup = run_crawler("lookup", given, "--archive", str(archive))
        assert lookup.code == 0 and fed in lookup.stdout and said in lookup.stderr, lookup.stderr
        got = run_crawler("get", given, "--archive", str(archive), "-o", str(tmp_path / "page.html"))
        assert got.code == 0 and b"Tracked story" in (tmp_path / "page.html").read_bytes()
    history = run_crawler("history", clean, "--archive", str(archive))
    assert history.code == 0 and "version 1" in history.stdout
    assert run_crawler("lookup", news_server.url("/tracked/other"), "--archive", str(archive)).code == 1


def test_every_archive_reading_command_takes_wacz_and_warc_files(news_server, tmp_path):
    archive = tmp_path / "archive"
    url = news_server.url("/page/dw.com/DW_2024_01_30?forms=1")
    run_crawler("ingest", url, "--allow-private", "--archive", str(archive))
    wacz = tmp_path / "all.wacz"
    assert run_crawler("export-wacz", str(archive), "-o", str(wacz)).code == 0
    (warc,) = (archive / "warc").glob("*.warc.gz")
    for form in (archive, wacz, warc, archive / "warc"):
        history = run_crawler("history", url, "--archive", str(form))
        lookup = run_crawler("lookup", url, "--archive", str(form))
        assert lookup.code == 0 and url in lookup.stdout, (form, lookup.stderr)
        if form != warc and form != archive / "warc":  # JSON lines (or a WACZ's page list) hold the text
            assert history.code == 0 and "version 1" in history.stdout, (form, history.stdout + history.stderr)
        repacked = run_crawler("export-wacz", str(form), "-o", str(tmp_path / f"re-{form.name}.wacz"))
        assert repacked.code == 0, (form, repacked.stderr)


def test_scrapy_crawl_says_and_returns_what_crawler_crawl_does(tmp_path):
    """Every discovery URL of the source fails (an empty archive answers for the web): the same
    summary and exit status 1 as `crawler crawl`, the archive where -s ARCHIVE_URI says."""
    from sourcefixtures import SiteFixture, write_fixture

    warcs = write_fixture(SiteFixture("dw", [], {}, [], [], []), tmp_path / "fixture")
    archive = tmp_path / "archive"
    common = ("-s", f"ARCHIVE_URI={archive}", "-s", f"ARCHIVE_REPLAY_FROM={warcs}",
              "-s", f"ARCHIVE_REPLAY_INDEX_DIR={tmp_path / 'index'}")
    ours = subprocess.run([sys.executable, "-m", "scrapy", "crawl", "DW", *common], cwd=REPO, capture_output=True,
                          text=True, timeout=240)
    theirs = run_crawler("crawl", "dw", *common)
    assert ours.returncode == theirs.code == 1, ours.stdout + ours.stderr
    assert "failed: 3" in ours.stdout and f"archive: {archive}" in ours.stdout
    assert not (REPO / "archive").exists()
