"""The JSON Lines contract: one schema file, every line checked against it as it is written.

Checked with jsonschema-rs (about 100 times faster than the pure-Python jsonschema, which the
tests use as an independent second reader). Formats ("uri", "date-time") are annotations, as
JSON Schema 2020-12 has them by default.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema_rs

SCHEMA_PATH = Path(__file__).with_name("article.schema.json")
SCHEMA_VERSION = "1.2"


def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _validator() -> Any:
    schema = load_schema()
    jsonschema_rs.meta.validate(schema)  # a broken schema file fails loudly, at first use
    return jsonschema_rs.validator_for(schema)


def schema_errors(record: dict[str, Any]) -> list[str]:
    """Human-readable problems with `record` (empty when it is valid). A value of a type JSON
    has no name for is a problem too, not an exception: the line is still written."""
    try:
        return [
            f"{'/'.join(str(p) for p in err.instance_path) or '<root>'}: {err.message}"
            for err in _validator().iter_errors(record)
        ]
    except ValueError as exc:  # jsonschema-rs refuses types it cannot map (a str subclass...)
        return [f"<root>: cannot be checked ({exc})"]
