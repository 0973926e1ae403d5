"""Crawl jobs: the jobs file, schedules, the per-job lock, `crawler run-job` and `crawler schedule`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import run_crawler

from crawler.jobs.lock import JobLock, JobLocked, read_lock
from crawler.jobs.definitions import (
    Job,
    JobsFileError,
    job_settings,
    job_spiders,
    load_jobs,
    lock_path,
    next_run,
    parse_duration,
)

ISSUE_EXAMPLE = """
[[jobs]]
name = "china-ai"
sources = ["dw", "restofworld"]      # and/or
urls = ["https://itif.org/publications/2024/09/16/china-is-rapidly-becoming-a-leading-innovator-in-advanced-industries/"]
schedule = "0 */6 * * *"             # cron, or every = "6h"
archive = "s3://my-bucket/news"      # or a local path
allow_private = false                # as ingest's --allow-private
max_pages = 500
"""


def write(tmp_path: Path, text: str, name: str = "jobs.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def json_events(text: str) -> list[dict]:
    events = []
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict):
            events.append(event)
    return events


# -- the jobs file ---------------------------------------------------------------------------

def test_the_issue_example_loads(tmp_path):
    jobs = load_jobs(write(tmp_path, ISSUE_EXAMPLE))
    (job,) = jobs.jobs
    assert job.name == "china-ai"
    assert job.sources == ("dw", "restofworld")
    assert job.urls[0].startswith("https://itif.org/publications/2024/09/16/")
    assert job.schedule == "0 */6 * * *" and job.every is None
    assert job.archive == "s3://my-bucket/news"
    assert job.allow_private is False and job.max_pages == 500


def test_every_field(tmp_path):
    path = write(tmp_path, """
        [defaults]
        archive = "archive"
        allow_private = true
        settings = { ARCHIVE_OPERATOR = "newsroom", CONCURRENT_REQUESTS = 4 }

        [[jobs]]
        name = "cited_1"
        urls = ["https://itif.org/a", "https://itif.org/a"]
        depth = 1
        every = "1h30m"
        max_duration = "2h"
        since = "7d"
        settings = { CONCURRENT_REQUESTS = 2 }

        [[jobs]]
        name = "dw-de"
        sources = ["dw"]
        schedule = "@daily"
        timezone = "Europe/Berlin"
        since = 2024-09-01
        archive = "file:///srv/news"
        allow_private = false
        """)
    cited, dw = load_jobs(path).jobs
    assert cited.archive == str((tmp_path / "archive").resolve())  # relative to the jobs file, not the cwd
    assert cited.urls == ("https://itif.org/a",) and cited.depth == 1
    assert cited.every == 5400 and cited.max_duration == 7200 and cited.since_age == 7 * 86400
    assert dict(cited.settings) == {"ARCHIVE_OPERATOR": "newsroom", "CONCURRENT_REQUESTS": 2}
    assert cited.allow_private is True
    assert dw.archive == "file:///srv/news" and dw.allow_private is False
    assert dw.since == datetime(2024, 9, 1, tzinfo=UTC)
    assert dw.timezone == "Europe/Berlin"


def test_every_problem_is_reported_naming_job_and_field(tmp_path):
    path = write(tmp_path, """
        [[jobs]]
        name = "china-ai"
        sources = ["dw", "nytimes"]
        schedule = "0 */6 * * * *"
        max_pages = "many"

        [[jobs]]
        name = "links"
        urls = ["ftp://example.org/x", "https://ok.example/"]
        schedule = "61 * * * *"
        archive = "gopher://x"
        alow_private = true

        [[jobs]]
        name = "china-ai"
        sources = ["dw"]
        every = "6 hours"
        archive = "a"
        since = "last week"
        settings = { archive_prefix = "x", ARCHIVE_URI = "y" }

        [[jobs]]
        name = "prefix"
        sources = ["dw"]
        schedule = "0 0 31 2 *"
        every = "1h"
        archive = "a"
        settings = { ARCHIVE_PREFIX = "not-allowed" }

        [[jobs]]
        sources = ["itif"]
        every = "1d"
        archive = "a"
        """)
    with pytest.raises(JobsFileError) as info:
        load_jobs(path)
    found = {(p.index, p.job, p.field) for p in info.value.problems}
    assert found == {
        (1, "china-ai", "sources[1]"), (1, "china-ai", "schedule"), (1, "china-ai", "archive"),
        (1, "china-ai", "max_pages"),
        (2, "links", "alow_private"), (2, "links", "urls[0]"), (2, "links", "schedule"),
        (2, "links", "archive"),
        (3, "china-ai", "every"), (3, "china-ai", "since"), (3, "china-ai", "settings.archive_prefix"),
        (3, "china-ai", "settings.ARCHIVE_URI"), (3, "china-ai", "name"),
        (4, "prefix", "schedule"), (4, "prefix", "settings"),
        (5, None, "name"),
    }
    text = str(info.value)
    for expected in [
        "jobs.toml:2: jobs[1] (china-ai): schedule: bad cron expression '0 */6 * * * *': expected 5 fields",
        "jobs[1] (china-ai): sources[1]: unknown source 'nytimes' (known: ",
        "jobs[1] (china-ai): archive: missing",
        "jobs[2] (links): schedule: bad cron expression '61 * * * *': ",
        "jobs[2] (links): alow_private: unknown key (did you mean 'allow_private'?)",
        "jobs[2] (links): urls[0]: unsupported scheme 'ftp'",
        "jobs[2] (links): archive: 'gopher://x': unsupported archive scheme",
        "jobs[3] (china-ai): name: duplicate: jobs[1] has the same name",
        "jobs[3] (china-ai): every: expected a duration like",
        "jobs[4] (prefix): schedule: give schedule (cron) or every (interval), not both",
        "jobs[4] (prefix): settings: ARCHIVE_PREFIX must be letters, digits or '_'",
        "jobs[5]: name: missing",
    ]:
        assert expected in text, expected
    assert "out of range" in text  # croniter's own reason for 61 minutes


def test_cron_that_never_matches_and_unknown_zone(tmp_path):
    path = write(tmp_path, """
        [[jobs]]
        name = "never"
        sources = ["dw"]
        schedule = "0 0 31 2 *"
        timezone = "Mars/Olympus"
        archive = "a"
        """)
    with pytest.raises(JobsFileError) as info:
        load_jobs(path)
    text = str(info.value)
    assert "jobs[1] (never): schedule: bad cron expression '0 0 31 2 *': it never matches a date" in text
    assert "jobs[1] (never): timezone: unknown time zone 'Mars/Olympus'" in text


@pytest.mark.parametrize("text, message", [
    ("[[jobs]\nname = 'x'", "not valid TOML"),
    ("[job]\nname = 'x'", "unknown top-level key 'job'"),
    ("", "no jobs"),
    ("[defaults]\nalow_private = true\n[[jobs]]\nname = 'x'\nsources = ['dw']\nevery = '1h'\narchive = 'a'",
     "defaults: alow_private: unknown key"),
])
def test_file_level_problems(tmp_path, text, message):
    with pytest.raises(JobsFileError) as info:
        load_jobs(write(tmp_path, text))
    assert message in str(info.value)
    assert not info.value.valid.jobs


def test_a_bad_default_is_reported_for_each_job_that_inherits_it(tmp_path):
    path = write(tmp_path, """
        [defaults]
        archive = "ftp://x"
        every = "1h"

        [[jobs]]
        name = "a"
        sources = ["dw"]

        [[jobs]]
        name = "b"
        sources = ["dw"]
        archive = "b"
        """)
    with pytest.raises(JobsFileError) as info:
        load_jobs(path)
    (problem,) = info.value.problems
    assert str(problem).startswith("jobs[1] (a): archive: 'ftp://x': unsupported archive scheme")
    assert str(problem).endswith("(from [defaults])")
    assert info.value.valid.names == ["b"]


def test_missing_file():
    with pytest.raises(JobsFileError, match="cannot read the jobs file"):
        load_jobs("/nonexistent/jobs.toml")


def test_the_cli_lists_every_problem_and_exits_2(tmp_path):
    path = write(tmp_path, """
        [[jobs]]
        name = "china-ai"
        sources = ["dw", "nytimes"]
        schedule = "every six hours"
        """)
    for args in (["schedule", str(path)], ["schedule", "--check", str(path)], ["run-job", str(path), "china-ai"]):
        result = run_crawler(*args)
        assert result.code == 2, result.stderr
        lines = [line for line in result.stderr.splitlines() if "jobs[1] (china-ai)" in line]
        assert len(lines) == 3, result.stderr  # sources[1], schedule, archive
        assert any("sources[1]: unknown source 'nytimes'" in line for line in lines)
        assert any("schedule: bad cron expression 'every six hours'" in line for line in lines)
        assert any("archive: missing" in line for line in lines)


def test_schedule_check_prints_next_runs(tmp_path):
    path = write(tmp_path, ISSUE_EXAMPLE)
    result = run_crawler("schedule", "--check", str(path))
    assert result.code == 0, result.stderr
    assert "china-ai" in result.stdout and "cron '0 */6 * * *' (UTC)" in result.stdout


@pytest.mark.parametrize("text, seconds", [
    ("90s", 90), ("30m", 1800), ("6h", 21600), ("1d", 86400), ("2w", 1209600), ("1h30m", 5400),
    (600, 600),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["6 hours", "h", "0m", 0, -5, True, 1.5, "6H x"])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


# -- schedules -------------------------------------------------------------------------------

def test_next_run_cron():
    job = Job(name="j", archive="a", sources=("dw",), schedule="0 */6 * * *")
    at = datetime(2024, 9, 16, 5, 59, 59, tzinfo=UTC)
    assert next_run(job, at) == datetime(2024, 9, 16, 6, 0, tzinfo=UTC)
    # strictly after: a run at 06:00 is followed by the one at 12:00
    assert next_run(job, datetime(2024, 9, 16, 6, 0, tzinfo=UTC)) == datetime(2024, 9, 16, 12, 0, tzinfo=UTC)
    # naive datetimes are UTC
    assert next_run(job, datetime(2024, 12, 31, 23, 0)) == datetime(2025, 1, 1, 0, 0, tzinfo=UTC)


def test_next_run_cron_in_a_time_zone():
    job = Job(name="j", archive="a", sources=("dw",), schedule="30 7 * * 1-5", timezone="Europe/Berlin")
    # Friday 2024-03-29 12:00 UTC -> Monday 07:30 in Berlin, which is summer time by then (UTC+2)
    assert next_run(job, datetime(2024, 3, 29, 12, 0, tzinfo=UTC)) == datetime(2024, 4, 1, 5, 30, tzinfo=UTC)


def test_an_interval_job_runs_one_interval_after_its_last_run(tmp_path):
    from crawler.jobs.schedule import Scheduler

    job = Job(name="j", archive=str(tmp_path / "a"), sources=("dw",), every=3600)
    scheduler = Scheduler(jobs_file_of(job), state_dir=None)
    now = datetime.now(UTC)
    assert scheduler.first_due(job, now) == now  # never ran: at once
    with JobLock(lock_path(job), "j") as lock:
        started = datetime.fromisoformat(lock.info.started)
    assert scheduler.first_due(job, now) == max(now, started + timedelta(hours=1))
    cron = Job(name="c", archive=str(tmp_path / "a"), sources=("dw",), schedule="@hourly")
    assert scheduler.first_due(cron, now) == next_run(cron, now)


def jobs_file_of(*jobs: Job):
    from crawler.jobs.definitions import JobsFile

    return JobsFile(Path("jobs.toml"), jobs)


def test_next_run_every():
    job = Job(name="j", archive="a", sources=("dw",), every=6 * 3600)
    at = datetime(2024, 9, 16, 5, 17, tzinfo=UTC)
    assert next_run(job, at) == at + timedelta(hours=6)


# -- what a run is made of -------------------------------------------------------------------

def test_job_spiders_and_settings(tmp_path):
    from spiders.ingest import IngestSpider
    from spiders.registry import SPIDERS

    path = write(tmp_path, """
        [[jobs]]
        name = "mixed"
        sources = ["dw", "itif"]
        urls = ["https://example.org/x"]
        depth = 2
        every = "6h"
        archive = "arch"
        max_pages = 20
        max_duration = "1h"
        since = "2d"
        allow_private = true
        settings = { DOWNLOAD_DELAY = 1.5 }
        """)
    (job,) = load_jobs(path).jobs
    now = datetime(2024, 9, 16, 12, 0, tzinfo=UTC)
    spiders = job_spiders(job, now)
    assert [cls for cls, _ in spiders] == [SPIDERS["dw"], SPIDERS["itif"], IngestSpider]
    since = datetime(2024, 9, 14, 12, 0, tzinfo=UTC)
    assert spiders[0][1] == {"since": since, "max_pages": 20}
    assert spiders[2][1] == {"urls": ["https://example.org/x"], "depth": 2}
    settings = job_settings(job)
    assert settings.get("ARCHIVE_URI") == str((tmp_path / "arch").resolve())
    assert settings.getbool("ARCHIVE_ALLOW_PRIVATE") is True
    assert settings.getint("CLOSESPIDER_TIMEOUT") == 3600
    assert settings.getfloat("DOWNLOAD_DELAY") == 1.5
    assert settings.get("ITEM_PIPELINES")  # the project's settings are there too
    assert lock_path(job) == (tmp_path / "arch").resolve() / "state" / "jobs" / "mixed.lock"


def test_s3_jobs_lock_in_the_local_spool(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    job = Job(name="j", archive="s3://bucket/news/de", sources=("dw",), every=60)
    spool = tmp_path / "cache" / "newsarchive" / "spool" / "bucket" / "news" / "de"
    assert lock_path(job) == spool / "state" / "jobs" / "j.lock"
    job = Job(name="j", archive="s3://bucket/news", sources=("dw",), every=60,
              settings={"STORAGE_SPOOL": str(tmp_path / "spool")})
    assert lock_path(job) == (tmp_path / "spool").resolve() / "state" / "jobs" / "j.lock"
    assert lock_path(job, tmp_path / "state") == (tmp_path / "state").resolve() / "jobs" / "j.lock"


# -- the lock --------------------------------------------------------------------------------

def test_lock_is_exclusive_and_says_who_holds_it(tmp_path):
    path = tmp_path / "jobs" / "j.lock"
    first = JobLock(path, "j")
    info = first.acquire()
    assert info.pid == os.getpid()
    with pytest.raises(JobLocked) as refused:
        JobLock(path, "j").acquire()  # a second open file description: refused, even in-process
    assert str(refused.value) == f"job j is already running (pid {os.getpid()} on host {info.host} since {info.started})"
    first.release(0)
    after = read_lock(path)
    assert after is not None and after.exit_status == 0 and after.finished
    with JobLock(path, "j") as again:
        assert again.previous == after and not again.crashed_before


LOCK_AND_WAIT = """
import sys, time
from crawler.jobs.lock import JobLock
JobLock(sys.argv[1], "j").acquire()
print("locked", flush=True)
time.sleep(600)
"""


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    path = tmp_path / "j.lock"
    proc = subprocess.Popen([sys.executable, "-c", LOCK_AND_WAIT, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(JobLocked, match=f"pid {proc.pid} "):
            JobLock(path, "j").acquire()
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    lock = JobLock(path, "j")
    lock.acquire()
    assert lock.crashed_before and lock.previous.pid == proc.pid
    lock.release(0)


# -- running jobs for real -------------------------------------------------------------------

def slow_job(tmp_path: Path, news_server, name: str, delay: float, tag: str, file: str = "jobs.toml",
             every: str = "1h") -> Path:
    return write(tmp_path, f"""
        [[jobs]]
        name = "{name}"
        urls = ["{news_server.url(f'/slow?delay={delay}&t={tag}')}"]
        every = "{every}"
        archive = "archive"
        allow_private = true
        """, file)


def crawler_popen(tmp_path: Path, tag: str, *args: str) -> tuple[subprocess.Popen, Path]:
    """`crawler ARGS` in the background; its stderr goes to the file returned (no pipes to fill
    or to be held open by grandchildren)."""
    err = tmp_path / f"{tag}.stderr"
    with err.open("wb") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "crawler", *args],
                                stdout=subprocess.DEVNULL, stderr=fh)
    return proc, err


def test_two_runs_of_one_job_at_the_same_time(tmp_path, news_server):
    path = slow_job(tmp_path, news_server, "china-ai", 3, "together")
    runs = [crawler_popen(tmp_path, f"run{i}", "run-job", str(path), "china-ai") for i in range(2)]
    procs = [proc for proc, _ in runs]
    ended: dict[int, float] = {}
    deadline = time.monotonic() + 240
    while len(ended) < 2 and time.monotonic() < deadline:
        for i, proc in enumerate(procs):
            if i not in ended and proc.poll() is not None:
                ended[i] = time.monotonic()
        time.sleep(0.05)
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderrs = [err.read_text() for _, err in runs]
    codes = sorted(proc.returncode for proc in procs)
    assert codes == [0, 5], stderrs
    winner = next(i for i, p in enumerate(procs) if p.returncode == 0)
    loser = 1 - winner
    stderr = stderrs[loser]
    assert "crawler: job china-ai is already running (pid " in stderr
    assert f"(pid {procs[winner].pid} on host " in stderr
    # The loser did not wait for the winner's crawl: it was done while the page was still slow.
    assert ended[loser] < ended[winner]
    assert news_server.hits(news_server.url("/slow?delay=3&t=together")) == 1
    last = read_lock(tmp_path / "archive" / "state" / "jobs" / "china-ai.lock")
    assert last is not None and last.pid == procs[winner].pid and last.exit_status == 0


def test_a_run_killed_with_sigkill_does_not_block_the_next(tmp_path, news_server):
    path = slow_job(tmp_path, news_server, "crashy", 30, "killed")
    lock = tmp_path / "archive" / "state" / "jobs" / "crashy.lock"
    proc, err = crawler_popen(tmp_path, "killed", "run-job", str(path), "crashy")
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            info = read_lock(lock)
            if info is not None and info.pid == proc.pid:
                break
            assert proc.poll() is None, err.read_text()
            time.sleep(0.1)
        else:
            pytest.fail("the first run never took the lock")
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    # Same job, same lock; a quick page this time.
    quick = slow_job(tmp_path, news_server, "crashy", 0, "after-kill", "quick.toml")
    result = run_crawler("--log-json", "run-job", str(quick), "crashy")
    assert result.code == 0, result.stderr
    crashed = [e for e in json_events(result.stderr) if e.get("event") == "previous_run_crashed"]
    assert crashed and crashed[0]["previous_pid"] == proc.pid


def test_run_job_runs_a_good_job_of_a_file_with_a_broken_one(tmp_path, news_server):
    path = write(tmp_path, f"""
        [[jobs]]
        name = "good"
        urls = ["{news_server.url('/page/dw.com/DW_2024_01_30')}"]
        every = "1h"
        archive = "archive"
        allow_private = true

        [[jobs]]
        name = "broken"
        sources = ["nowhere"]
        every = "1h"
        archive = "archive"
        """)
    result = run_crawler("--log-json", "run-job", str(path), "good", "--summary-file", str(tmp_path / "s.json"))
    assert result.code == 0, result.stderr
    assert "warning: " in result.stderr and "jobs[2] (broken): sources[0]: unknown source 'nowhere'" in result.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["job"] == "good" and summary["exit_status"] == 0 and summary["failed"] == 0
    assert "job good: archived: " in result.stdout
    bad = run_crawler("run-job", str(path), "broken")
    assert bad.code == 2 and "jobs[2] (broken): sources[0]" in bad.stderr


def test_unknown_job_name(tmp_path):
    result = run_crawler("run-job", str(write(tmp_path, ISSUE_EXAMPLE)), "nope")
    assert result.code == 2
    assert "no job named 'nope'" in result.stderr and "china-ai" in result.stderr


SUMMARY_FIELDS = ("new", "changed", "unchanged", "failed", "blocked", "bytes")


def test_schedule_once_runs_every_job_and_logs_json_summaries(tmp_path, news_server):
    path = write(tmp_path, f"""
        [defaults]
        archive = "archive"
        allow_private = true

        [[jobs]]
        name = "dw"
        urls = ["{news_server.url('/page/dw.com/DW_2024_01_30')}"]
        schedule = "0 */6 * * *"

        [[jobs]]
        name = "broken-link"
        urls = ["{news_server.url('/status/404')}"]
        every = "6h"
        """)
    result = run_crawler("schedule", "--once", str(path))
    events = json_events(result.stderr)
    assert result.code == 1, result.stderr  # broken-link's run exits 1
    started = {e["job"] for e in events if e.get("event") == "job_started"}
    assert started == {"dw", "broken-link"}
    summaries = {e["job"]: e for e in events if e.get("event") == "job_summary"}  # from the runs
    finished = {e["job"]: e for e in events if e.get("event") == "job_finished"}  # from the scheduler
    assert set(summaries) == set(finished) == {"dw", "broken-link"}
    for name, code in (("dw", 0), ("broken-link", 1)):
        assert summaries[name]["exit_status"] == code and finished[name]["exit_status"] == code, (
            name, summaries[name].get("error"), result.stderr[-3000:])
        for key in (*SUMMARY_FIELDS, "duration"):
            assert key in summaries[name], (name, key)
        for key in SUMMARY_FIELDS:
            assert finished[name]["summary"][key] == summaries[name][key]
    assert summaries["broken-link"]["failed"] == 1
    assert summaries["broken-link"]["failures"][0]["reason"] == "error_status:404"
    assert summaries["dw"]["failed"] == 0 and summaries["dw"]["bytes"] > 0
    # run on their own archive, each holding its own lock in turn
    for name in ("dw", "broken-link"):
        info = read_lock(tmp_path / "archive" / "state" / "jobs" / f"{name}.lock")
        assert info is not None and info.finished


def test_schedule_never_overlaps_a_job_and_passes_sigterm_on(tmp_path, news_server):
    # Due every second, but a run takes several: the runs that come due meanwhile are skipped.
    path = slow_job(tmp_path, news_server, "slowpoke", 4, "sigterm", every="1s")
    url = news_server.url("/slow?delay=4&t=sigterm")
    proc, err = crawler_popen(tmp_path, "scheduler", "--log-json", "schedule", str(path))
    try:
        deadline = time.monotonic() + 120
        while news_server.hits(url) == 0:  # the page is being fetched: the crawl is under way
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        # the page takes 4 s: the scheduler comes to the job again meanwhile and skips it
        while '"job_skipped"' not in err.read_text():
            assert time.monotonic() < deadline and proc.poll() is None
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    events = json_events(err.read_text())
    names = [e.get("event") for e in events]
    assert "scheduler_stopping" in names and "scheduler_stopped" in names
    assert names.count("job_started") == 1
    skipped = [e for e in events if e.get("event") == "job_skipped"]
    assert skipped and all(e["job"] == "slowpoke" and e["reason"] == "still_running" for e in skipped)
    (finished,) = [e for e in events if e.get("event") == "job_finished"]
    # the run ended cleanly (Scrapy's graceful shutdown), not killed
    assert finished["exit_status"] == 0 and finished["summary"]["failed"] == 0
    assert names.index("scheduler_stopping") < names.index("job_finished")


def test_sites_by_sitemap_and_feed_and_the_on_anomaly_command(tmp_path):
    from spiders.site import SiteSpider

    path = write(tmp_path, """
        [[jobs]]
        name = "sites"
        sitemaps = ["https://www.example.org/sitemap.xml", "https://news.example.net/sitemap.xml"]
        feeds = "https://example.org/feed.xml"
        every = "1h"
        archive = "a"
        on_anomaly = ["notify", "--chat", "ops"]

        [[jobs]]
        name = "broken"
        feeds = ["ftp://example.org/feed"]
        every = "1h"
        archive = "a"
        on_anomaly = 5
    """)
    with pytest.raises(JobsFileError) as failed:
        load_jobs(path)
    lines = failed.value.lines()
    assert len(lines) == 2 and "feeds[0]: unsupported scheme 'ftp'" in lines[0] and "on_anomaly: expected" in lines[1]
    job = failed.value.valid.get("sites")
    assert job.on_anomaly == ("notify", "--chat", "ops") and job.feeds == ("https://example.org/feed.xml",)
    spiders = [cls for cls, _kwargs in job_spiders(job)]
    assert all(issubclass(cls, SiteSpider) for cls in spiders)
    # one spider per host (www. or not), each reading that host's sitemaps and feeds
    assert [(cls.source.name, cls.source.sitemaps, cls.source.feeds) for cls in spiders] == [
        ("example.org", ("https://www.example.org/sitemap.xml",), ("https://example.org/feed.xml",)),
        ("news.example.net", ("https://news.example.net/sitemap.xml",), ())]
    assert spiders[0].source.is_article("https://example.org/2024/05/story") and not spiders[0].source.is_article(
        "https://other.example/2024/05/story")
