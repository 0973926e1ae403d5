"""The JSON Lines contract: one schema file, validated with jsonschema."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA_PATH = Path(__file__).with_name("article.schema.json")
SCHEMA_VERSION = "1.0"


@lru_cache(maxsize=1)
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def schema_errors(record: dict[str, Any]) -> list[str]:
    """Human-readable problems with `record` (empty when it is valid)."""
    return [
        f"{'/'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.message}"
        for err in _validator().iter_errors(record)
    ]
