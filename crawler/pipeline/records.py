"""The normalised JSON record an item becomes, without Scrapy (offline replay builds the same).

A page item (crawler/pipeline/items.py) carries the decoded body to extraction and loses it
there; a failure item carries the reason a URL gave no response. Both become exactly one JSON
line, and an archived page a WARC metadata record.
"""

from __future__ import annotations

from datetime import datetime, timezone
from importlib.metadata import version as package_version
from typing import Any

from crawler import meta
from crawler.extract.analysis import analyse_page
from crawler.extract.options import RESULT_KEYS
from storage.schema import SCHEMA_VERSION

# Outcomes that count as "rejected" (we refused) rather than "failed" (the fetch went wrong).
REJECTED_REASONS = {meta.REFUSED_PRIVATE, "invalid_url", "unsupported_scheme", "credentials_in_url", "url_too_long"}
BLOCKED_REASONS = {"blocked", "robots_disallowed"}


def iso_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


async def analyse_item(pool: Any, item: dict[str, Any], body: bytes, headers: Any, options: Any,
                       requisites: Any = None) -> dict[str, Any]:
    """Extraction of one page item in the worker pool, as the live crawl does it: sets
    `extraction`, and `reason` (and `error`) when there is no article. Shared by the live
    pipeline and replay."""
    from crawler.pipeline.workers import WorkerCrashed, WorkerTimeout

    if item.get("reason"):  # decided before extraction (a body too large to decode)
        return item
    try:
        reason, item["extraction"] = await pool.run(
            analyse_page, item.get("status") or 0, headers, body, item["final_url"],
            item.get("content_type"), options, requisites)
        if reason:
            item["reason"] = reason
    except WorkerTimeout as exc:
        item["reason"], item["error"] = "extract_timeout", str(exc)
    except WorkerCrashed as exc:
        item["reason"], item["error"] = "extract_crashed", str(exc)
    return item


def extractor_info(version: str) -> dict[str, str]:
    return {"name": "newsarchive", "version": version, "trafilatura": package_version("trafilatura")}


def build_record(item: dict[str, Any], extractor: dict[str, str]) -> dict[str, Any]:
    """The normalised JSON object of the contract (storage/article.schema.json)."""
    extraction: dict[str, Any] = item.get("extraction") or {}
    record: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "source": item["source"],
        "url": item["url"],
        "final_url": item["final_url"],
        "canonical_url": extraction.get("canonical_url"),
        "fetched_at": item["fetched_at"],
        "extracted_at": iso_now(),
        "status": item.get("status"),
        "content_type": item.get("content_type"),
        "truncated": item.get("truncated"),
    }
    for name in RESULT_KEYS:
        if name in ("canonical_url", "reason", "error"):
            continue
        default: Any = [] if name in ("authors", "tags", "links", "citations") else None
        if name == "word_count":
            default = 0
        elif name in ("paywalled", "teaser"):
            default = False
        value = extraction.get(name, default)
        record[name] = default if value is None and default is not None else value
    reason = item.get("reason") or extraction.get("reason")
    record["reason"] = reason
    if reason:
        record["text"] = None
        record["word_count"] = 0
        record["text_digest"] = None
    # a failed extraction keeps the exception's type and message ("extraction_error")
    record["error"] = item.get("error") or (extraction.get("error") if reason else None)
    record["depth"] = item.get("depth", 0)
    record["version"] = item.get("version", 1)
    record["previous_fetched_at"] = item.get("previous_fetched_at")
    record["warc"] = item.get("warc")
    record["extractor"] = extractor
    return record


def outcome_of(record: dict[str, Any]) -> str:
    reason = record["reason"]
    if reason is None:
        return "changed" if record.get("version", 1) > 1 else "new"
    base = reason.split(":", 1)[0]
    if base in REJECTED_REASONS:
        return "rejected"
    if base in BLOCKED_REASONS:
        return "blocked"
    if record.get("warc") and (record.get("status") or 0) < 400:
        return "new"  # archived as served, no article in it (PDF, image, short page)
    return "failed"


def capture_metadata(record: dict[str, Any], requisites: Any = ()) -> list[tuple[str, str]]:
    """The WARC metadata record of a page: what replay needs to rebuild its JSON line
    (the URL as requested, the source, the version), the links cited in the article, and
    the page's requisites ("requisite: URL kind")."""
    fields = [("source", record["source"]), ("requested-url", record["url"]),
              ("depth", str(record.get("depth", 0))), ("version", str(record.get("version", 1)))]
    if record.get("previous_fetched_at"):
        fields.append(("previous-fetched-at", record["previous_fetched_at"]))
    if record.get("reason"):
        fields.append(("reason", record["reason"]))
    if record.get("text_digest"):
        fields.append(("text-digest", record["text_digest"]))
    fields.append(("extractor", f"{record['extractor']['name']}/{record['extractor']['version']}"))
    fields += [("outlink", link) for link in record.get("links") or []]
    return fields + requisite_fields(requisites or ())


def requisite_fields(requisites: Any) -> list[tuple[str, str]]:
    """The metadata fields listing a capture's requisites (``(url, kind)`` pairs): a page's,
    or a stylesheet's own; export-wacz follows them."""
    return [("requisite", f"{url} {kind}") for url, kind in requisites]
