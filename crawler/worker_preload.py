"""Imported once by the fork server that starts the extraction workers (multiprocessing's
forkserver preload): every worker is forked from it with the extractor imported and warmed up,
instead of importing and loading models itself (seconds of CPU per worker on a busy machine)."""

from crawler.analysis import warm_up

warm_up()
