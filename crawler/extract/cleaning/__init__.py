"""Boilerplate removal in two layers around trafilatura: the DOM layer (`dom`, before it) and
the text layer (`text`, after it), with their `rules` and the byline handling (`authors`)."""
