"""Scrapy add-ons: settings that depend on other settings, decided once at start."""

from __future__ import annotations

from scrapy.settings import BaseSettings

from crawler import software_version

ARCHIVE_HANDLER = "crawler.archive.handler.ArchiveDownloadHandler"
REPLAY_SOURCE = "crawler.archive.handler.ReplaySource"


class NewsArchiveAddon:
    """An honest user agent naming the operator's contact URL; and with ARCHIVE_REPLAY_FROM
    set, http and https answered from the archive."""

    def update_settings(self, settings: BaseSettings) -> None:
        # Scrapy's DOWNLOAD_MAXSIZE drops a larger body whole; set by a person, it becomes our cap,
        # which archives the body cut, with WARC-Truncated: length (one limit, not two).
        if maxsize := settings.getint("DOWNLOAD_MAXSIZE"):  # ours is 0: a person set it
            cap = settings.getint("ARCHIVE_MAX_BODY_BYTES")
            priority = max(settings.getpriority("DOWNLOAD_MAXSIZE") or 0,
                           settings.getpriority("ARCHIVE_MAX_BODY_BYTES") or 0)
            settings.set("ARCHIVE_MAX_BODY_BYTES", min(cap, maxsize) if cap else maxsize, priority=priority)
            settings.set("DOWNLOAD_MAXSIZE", 0, priority=priority)
        if not settings.get("USER_AGENT"):
            contact = settings.get("ARCHIVE_CONTACT_URL")
            agent = f"newsarchive/{software_version()} " + (f"(+{contact})" if contact else "(news archival crawler)")
            settings.set("USER_AGENT", agent, priority=settings.getpriority("USER_AGENT") or 0)
        if not settings.get("ARCHIVE_REPLAY_FROM"):
            return
        handlers = dict(settings.getdict("DOWNLOAD_HANDLERS"))
        handlers.update({"http": ARCHIVE_HANDLER, "https": ARCHIVE_HANDLER})
        # Our project settings name the live handler at "project" priority, above "addon".
        priority = max(settings.getpriority("DOWNLOAD_HANDLERS") or 0, 15)
        settings.set("DOWNLOAD_HANDLERS", handlers, priority=priority)
        extensions = dict(settings.getdict("EXTENSIONS"))
        extensions[REPLAY_SOURCE] = 0  # the archive, indexed once for both handlers
        settings.set("EXTENSIONS", extensions, priority=max(settings.getpriority("EXTENSIONS") or 0, 15))
