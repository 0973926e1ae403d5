"""Imported once by the fork server that starts the extraction workers (multiprocessing's
forkserver preload): every worker is forked from it with the extractor imported and warmed up,
instead of importing and loading models itself (seconds of CPU per worker on a busy machine)."""

import gc

from crawler.extract.analysis import warm_up

warm_up()
# What the extractor imported and warmed up lives as long as the workers: frozen, it is left out
# of their full garbage collections (a third of their collection time).
gc.freeze()
