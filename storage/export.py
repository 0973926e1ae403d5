"""Articles for analysis tools: the archive's article lines as Parquet, CSV or JSON Lines.

One row per article version (or, with `latest`, per article: its newest version), the JSON
schema's fields as columns, typed from storage/article.schema.json: strings, integers and
booleans as such, lists as lists (`authors`, `tags`, `links`, `citations`), objects as structs
(`warc`, `extractor`). CSV has no lists or structs: there they are JSON text. Rows go out in
batches of BATCH_ROWS through pyarrow's writers, so memory does not grow with the archive (with
`latest`, one small entry per article is kept from a first pass over the lines).

Only lines with an article are exported (pages that gave none have a `reason` and no text).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from storage.jsonl import iter_json_file
from storage.schema import load_schema
from storage.search_index import day_of
from storage.wacz import json_line_files

FORMATS = ("parquet", "csv", "jsonl")
BATCH_ROWS = 2000


@dataclass(frozen=True)
class ExportFilter:
    latest: bool = False
    since: str | None = None  # yyyy-mm-dd, on the article's date: published, else fetched
    until: str | None = None
    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()


@dataclass
class ExportReport:
    rows: int = 0
    files: int = 0
    problems: int = 0


def _arrow_type(spec: dict[str, Any]) -> pa.DataType:
    kinds = spec.get("type", "string")
    kinds = [k for k in (kinds if isinstance(kinds, list) else [kinds]) if k != "null"] or ["string"]
    kind = kinds[0]
    if kind == "integer":
        return pa.int64()
    if kind == "number":
        return pa.float64()
    if kind == "boolean":
        return pa.bool_()
    if kind == "array":
        return pa.list_(_arrow_type(spec.get("items") or {}))
    if kind == "object" and spec.get("properties"):
        return pa.struct([pa.field(name, _arrow_type(sub)) for name, sub in spec["properties"].items()])
    return pa.string()


def arrow_schema(schema: dict[str, Any] | None = None) -> pa.Schema:
    """The columns: one per property of the JSON schema, in its order."""
    props = (schema or load_schema())["properties"]
    return pa.schema([pa.field(name, _arrow_type(spec)) for name, spec in props.items()])


def _fit(value: Any, kind: pa.DataType) -> Any:
    """A JSON value shaped for its column (a struct keeps only its fields)."""
    if value is None:
        return None
    if pa.types.is_struct(kind):
        if not isinstance(value, dict):
            return None
        return {kind.field(i).name: _fit(value.get(kind.field(i).name), kind.field(i).type)
                for i in range(kind.num_fields)}
    if pa.types.is_list(kind):
        return [_fit(item, kind.value_type) for item in value] if isinstance(value, list) else None
    if pa.types.is_string(kind) and not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return value


def is_article(line: dict[str, Any]) -> bool:
    return line.get("reason") is None and isinstance(line.get("text"), str) and bool(line.get("url"))


def _article_key(line: dict[str, Any]) -> str:
    return str(line.get("final_url") or line.get("url"))


def _kept(line: dict[str, Any], rule: ExportFilter) -> bool:
    if not is_article(line):
        return False
    if rule.sources and line.get("source") not in rule.sources:
        return False
    if rule.languages and str(line.get("language") or "").split("-")[0].lower() not in rule.languages:
        return False
    day = day_of(line.get("published")) or day_of(line.get("fetched_at"))
    if rule.since and (day is None or day < rule.since):
        return False
    return not (rule.until and (day is None or day > rule.until))


def selected_lines(root: Path, rule: ExportFilter, on_problem: Callable[[str], None]) -> Iterator[dict[str, Any]]:
    """The article lines to export, in file order."""
    files = json_line_files(root)
    newest: dict[str, tuple[str, int, int]] = {}
    if rule.latest:
        for number, path in enumerate(files):
            for position, line in enumerate(iter_json_file(path, lambda _text: None)):
                if is_article(line):
                    key, seen = _article_key(line), (str(line.get("fetched_at")), number, position)
                    if key not in newest or seen > newest[key]:
                        newest[key] = seen
    for number, path in enumerate(files):
        for position, line in enumerate(iter_json_file(path, on_problem)):
            if not _kept(line, rule):
                continue
            if rule.latest and newest.get(_article_key(line), ("",))[1:] != (number, position):
                continue
            yield line


def _batches(lines: Iterator[dict[str, Any]], schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    rows: list[dict[str, Any]] = []
    for line in lines:
        rows.append({field.name: _fit(line.get(field.name), field.type) for field in schema})
        if len(rows) >= BATCH_ROWS:
            yield pa.RecordBatch.from_pylist(rows, schema=schema)
            rows = []
    if rows:
        yield pa.RecordBatch.from_pylist(rows, schema=schema)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else value


def export_articles(root: Path, out: Path, fmt: str, rule: ExportFilter = ExportFilter(), *,
                    on_problem: Callable[[str], None] | None = None) -> ExportReport:
    """Write the archive's article lines to `out` (written beside it, renamed when complete)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")
    report = ExportReport(files=len(json_line_files(root)))

    def problem(text: str) -> None:
        report.problems += 1
        if on_problem is not None:
            on_problem(text)

    schema = arrow_schema()
    lines = selected_lines(root, rule, problem)
    tmp = out.with_name(f".{out.name}.tmp")
    try:
        if fmt == "parquet":
            with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
                for batch in _batches(lines, schema):
                    writer.write_batch(batch)
                    report.rows += batch.num_rows
        elif fmt == "csv":
            with open(tmp, "w", encoding="utf-8", newline="") as fh:
                writer_csv = csv.writer(fh)
                writer_csv.writerow(schema.names)
                for batch in _batches(lines, schema):
                    for row in batch.to_pylist():
                        writer_csv.writerow([_csv_cell(row[name]) for name in schema.names])
                    report.rows += batch.num_rows
        else:
            with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
                for line in lines:
                    fh.write(json.dumps(line, ensure_ascii=False) + "\n")
                    report.rows += 1
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    return report
