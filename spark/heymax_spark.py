"""heymax's layers and marts as Spark jobs (`heymax run --engine spark`).

In: a job file (JSON) that `heymax run` writes: the input files (paths or Hadoop URIs),
the existing gold parts, the batch id and load time, and a local staging folder. Out, in
that folder: the batch's quarantine, bronze (partitioned by event date, clustered by user),
gold's new events (likewise; none when they are bronze's rows, which heymax then links),
dim_users, the five marts and the three lifecycle tables as Parquet, and `report.json`
(rows, seconds and a note per step). Settings (shuffle partitions, JVM flags) come from
spark-submit: heymax passes defaults sized to the job, and the user's `--spark-conf` wins. heymax then runs the
quality gates on what was written, records the run and commits it into the warehouse, so
`heymax serve` and `heymax export` read a Spark run exactly as a native one.

Every rule below is METRICS.md's; each step names the rule it implements. The native engine
(server/src/pipeline/) is the reference: the marts written here equal its marts byte for
byte (server/tests/it/spark.rs checks it).

Why lines are parsed in Python rather than by Spark's CSV reader in PERMISSIVE mode: the
quarantine must give the native engine's reasons (a wrong column count, an unbalanced
quote, a control byte, invalid UTF-8, an unparseable time, ...) with the physical line
number, and the event id is xxh3_64, which Spark does not have (its `xxhash64` is
XXH64). So the text source hands over raw line bytes (`value` cast to binary: no UTF-8
decoding on the way), and `mapInArrow` validates, normalises and hashes them in batches
on the executors, with the same limits as server/src/pipeline/ingest/row.rs.
"""

from __future__ import annotations

import json
import re
import sys
import time
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterator, Optional

import pyarrow as pa
import xxhash
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

# The input contract. See: METRICS.md, the input table.
INPUT_COLUMNS = [
    "event_time",
    "user_id",
    "event_type",
    "transaction_category",
    "miles_amount",
    "platform",
    "utm_source",
    "country",
]
EVENT_TIME, USER_ID, EVENT_TYPE, CATEGORY, MILES, PLATFORM, UTM_SOURCE, COUNTRY = range(8)
REQUIRED = [EVENT_TIME, USER_ID, EVENT_TYPE]

# The native engine's limits (server/src/pipeline/ingest/{split,row,chunk}.rs).
MAX_LINE_BYTES = 64 * 1024
MAX_FIELD_BYTES = 1024
RAW_LIMIT = 1024
# Native reads 16 MiB blocks; a longer line keeps only its first 512 bytes.
BLOCK_BYTES = 16 << 20
OVERLONG_PREFIX = 512
PREVIEW_CHARS = 40

MICROS_PER_DAY = 86_400_000_000
MAX_MICROS = 253_402_300_799_999_999
MAX_OFFSET_SECS = 18 * 3600
RETENTION_DAYS = [0, 1, 7, 30, 60, 90]


# ---------------------------------------------------------------------------------------
# Parsing one line, as server/src/pipeline/ingest/row.rs does
# ---------------------------------------------------------------------------------------


def preview(value: str) -> str:
    """A value as a reason quotes it: its first 40 characters."""
    return value if len(value) <= PREVIEW_CHARS else value[:PREVIEW_CHARS] + "\u2026"


def debug(value: str) -> str:
    """Rust's `{:?}` of a string: quoted, with quotes, backslashes and unprintable
    characters escaped (control characters never get here: they quarantine earlier)."""
    out = ['"']
    for c in value:
        if c in '"\\':
            out.append("\\" + c)
        elif unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Mn", "Me"):
            out.append("\\u{%x}" % ord(c))
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def quarantine_text(raw: bytes) -> str:
    """A bad line as the quarantine stores it: at most 1 KiB, invalid UTF-8 replaced,
    NUL shown as U+2400 (see chunk.rs `quarantine_text`)."""
    kept = raw[:RAW_LIMIT]
    text = kept.decode("utf-8", errors="replace").replace("\0", "\u2400")
    return text + "\u2026" if len(kept) < len(raw) else text


class Bad(Exception):
    """A line that goes to quarantine, with the native engine's reason text."""


class Refused(Exception):
    """The input cannot be loaded at all (a wrong header, no rows): nothing is written,
    and heymax shows this message."""


def split_quoted(record: bytes, delimiter: int) -> list[bytes]:
    """RFC 4180 fields, as the `csv` crate reads one line: a quote opens a quoted field
    only at its start, `""` inside is a quote, anything after the closing quote is kept."""
    fields: list[bytes] = []
    field = bytearray()
    state = "start"
    for b in record:
        if state == "start":
            if b == 0x22:
                state = "quoted"
            elif b == delimiter:
                fields.append(bytes(field))
                field.clear()
            else:
                field.append(b)
                state = "plain"
        elif state == "plain":
            if b == delimiter:
                fields.append(bytes(field))
                field.clear()
                state = "start"
            else:
                field.append(b)
        elif state == "quoted":
            if b == 0x22:
                state = "quote"
            else:
                field.append(b)
        else:  # "quote": right after a quote inside a quoted field
            if b == 0x22:
                field.append(b)
                state = "quoted"
            elif b == delimiter:
                fields.append(bytes(field))
                field.clear()
                state = "start"
            else:
                field.append(b)
                state = "plain"
    fields.append(bytes(field))
    return fields


def split_fields(record: bytes, delimiter: int) -> list[bytes]:
    """`row::with_fields`: a plain split unless the line holds a quote."""
    if len(record) > MAX_LINE_BYTES:
        raise Bad(f"line of {len(record)} bytes, longer than the limit of {MAX_LINE_BYTES}")
    if b'"' not in record:
        return record.split(bytes([delimiter]))
    if record.count(b'"') % 2 == 1:
        raise Bad(
            'unbalanced double quote (a quoted field must close on the same line; '
            'write a literal quote as "")'
        )
    return split_quoted(record, delimiter)


def days_from_civil(y: int, m: int, d: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (year 0 included, as chrono)."""
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (m <= 2), m, d


def valid_date(y: int, m: int, d: int) -> bool:
    if not 1 <= m <= 12 or d < 1:
        return False
    leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
    days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
    return d <= days


def parse_offset(z: bytes) -> tuple[bool, Optional[int]]:
    """(valid, offset seconds or None when absent); see time/text.rs `parse_offset`."""
    if not z:
        return True, None
    if z in (b"Z", b"z"):
        return True, 0
    if z[0:1] not in (b"+", b"-"):
        return False, None
    sign = 1 if z[0:1] == b"+" else -1
    rest = z[1:]
    if len(rest) == 2:
        h, m = rest, b"00"
    elif len(rest) == 5 and rest[2:3] == b":":
        h, m = rest[:2], rest[3:]
    elif len(rest) == 4:
        h, m = rest[:2], rest[2:]
    else:
        return False, None
    if not (h.isdigit() and m.isdigit()):
        return False, None
    hours, minutes = int(h), int(m)
    secs = hours * 3600 + minutes * 60
    if minutes >= 60 or secs > MAX_OFFSET_SECS:
        return False, None
    return True, sign * secs


def parse_iso(s: bytes) -> Optional[tuple[int, Optional[int]]]:
    """ISO 8601 (`T` or a space, 1-9 fraction digits, Z / ±HH:MM / ±HHMM / ±HH)."""
    if (
        len(s) < 19
        or s[4] != 0x2D
        or s[7] != 0x2D
        or s[10] not in (0x20, 0x54, 0x74)
        or s[13] != 0x3A
        or s[16] != 0x3A
    ):
        return None
    parts = (s[0:4], s[5:7], s[8:10], s[11:13], s[14:16], s[17:19])
    if not all(p.isdigit() for p in parts):
        return None
    year, month, day, hour, minute, second = (int(p) for p in parts)
    if hour > 23 or minute > 59 or second > 59:
        return None
    rest = s[19:]
    micros = 0
    if rest[:1] in (b".", b","):
        tail = rest[1:]
        digits = len(tail) - len(tail.lstrip(b"0123456789"))
        if digits == 0 or digits > 9:
            return None
        kept = min(digits, 6)
        micros = int(tail[:kept]) * 10 ** (6 - kept)
        rest = tail[digits:]
    ok, offset = parse_offset(rest)
    if not ok or not valid_date(year, month, day):
        return None
    secs = hour * 3600 + minute * 60 + second
    return days_from_civil(year, month, day) * MICROS_PER_DAY + secs * 1_000_000 + micros, offset


def parse_epoch(s: bytes) -> Optional[int]:
    """Epoch seconds (up to 11 digits, optional fraction) or milliseconds (12 to 14)."""
    int_digits = len(s) - len(s.lstrip(b"0123456789"))
    if int_digits == 0 or int_digits > 15:
        return None
    value, rest = int(s[:int_digits]), s[int_digits:]
    if int_digits <= 11:
        if not rest:
            micros = value * 1_000_000
        elif rest[:1] == b"." and 0 < len(rest) - 1 <= 9 and rest[1:].isdigit():
            frac = rest[1:]
            kept = min(len(frac), 6)
            micros = value * 1_000_000 + int(frac[:kept]) * 10 ** (6 - kept)
        else:
            return None
    elif int_digits <= 14:
        if rest:
            return None
        micros = value * 1_000
    else:
        return None
    return micros if micros <= MAX_MICROS else None


def is_utc_text(t: bytes) -> bool:
    if len(t) == 19:
        return t[10] == 0x20
    if len(t) == 26:
        return t[10] == 0x20 and t[19] == 0x2E and t[20:] != b"000000"
    return False


def utc_text(utc: int) -> str:
    """`write_utc_text`: `YYYY-MM-DD HH:MM:SS[.ffffff]`."""
    days, in_day = divmod(utc, MICROS_PER_DAY)
    y, m, d = civil_from_days(days)
    secs, micros = divmod(in_day, 1_000_000)
    year = f"-{abs(y):04d}" if y < 0 else f"{y:04d}"
    text = f"{year}-{m:02d}-{d:02d} {secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"
    return text + f".{micros:06d}" if micros else text


def parse_time(text: bytes) -> Optional[tuple[int, bool]]:
    """(UTC microseconds, rewritten): the `auto` format with UTC source and reporting
    zones, the defaults (time/mod.rs `TimeOptions::parse`). See: METRICS.md, Time zone."""
    if text[4:5] == b"-":
        parsed = parse_iso(text)
        if parsed is None:
            return None
        wall, offset = parsed
        if offset is None:
            return wall, not is_utc_text(text)
        return wall - offset * 1_000_000, True
    micros = parse_epoch(text)
    return None if micros is None else (micros, True)


def rust_float(s: str) -> Optional[float]:
    """Rust's `str::parse::<f64>` for finite numbers (no `_` separators, as Python allows)."""
    if "_" in s:
        return None
    try:
        v = float(s)
    except ValueError:
        return None
    return v if v == v and v not in (float("inf"), float("-inf")) else None


@dataclass(frozen=True)
class Layout:
    """Where each input column sits in a record (None: absent), and the field count."""

    order: tuple[Optional[int], ...]
    fields: int
    delimiter: int = 0x2C


def layout_of(header: str, path: str) -> Layout:
    """A CSV header -> its layout: names in any order and case, spaces trimmed; the three
    required columns must be there; other columns are ignored (header.rs)."""
    names = [n.strip(" ").lower() for n in header.lstrip("\ufeff").rstrip("\r").split(",")]
    order = tuple(names.index(c) if c in names else None for c in INPUT_COLUMNS)
    missing = [INPUT_COLUMNS[i] for i in REQUIRED if order[i] is None]
    if missing:
        found = preview(header)
        raise Refused(
            f"{path}: wrong header: expected columns [{', '.join(INPUT_COLUMNS)}] (any order), "
            f"found [{debug(found)}]; the required columns {', '.join(missing)} are missing"
        )
    return Layout(order, len(names))


# The fast path's shapes: printable ASCII but the quote; `YYYY-MM-DD HH:MM:SS[.ffffff]`.
PLAIN = re.compile(rb"[\x20\x21\x23-\x7e]*")
UTC_TEXT = re.compile(rb"(\d{4}-\d\d-\d\d) (\d\d):(\d\d):(\d\d)(?:\.(\d{6}))?")


class Parser:
    """Validates, normalises and types one record (`row::parse_row`) and hashes its id."""

    def __init__(self, event_types: list[str]):
        self.types = {t.encode().lower(): t for t in event_types}
        self.expected = preview(", ".join(event_types))
        # The fast path's caches: a date's day number (None: no such date).
        self.days: dict[bytes, Optional[int]] = {}

    def parse(self, record: bytes, layout: Layout) -> tuple:
        """The record's (UTC micros, eight normalised values, miles, event id), or `Bad`."""
        fast = self.parse_plain(record, layout)
        return fast if fast is not None else self.parse_any(record, layout)

    def parse_plain(self, record: bytes, layout: Layout) -> Optional[tuple]:
        """The common record, about five times faster: printable ASCII without quotes, the
        right field count, a valid event type and the canonical UTC time text. It returns
        what `parse_any` returns, or None for anything else (which `parse_any` then takes,
        with its reasons): it only ever accepts records `parse_any` accepts unchanged."""
        if len(record) > MAX_FIELD_BYTES or PLAIN.fullmatch(record) is None:
            return None
        fields = record.split(b",") if layout.delimiter == 0x2C else None
        if fields is None or len(fields) != layout.fields:
            return None
        raw = [fields[p].strip(b" ") if p is not None else b"" for p in layout.order]
        when = UTC_TEXT.fullmatch(raw[EVENT_TIME])
        if when is None or not raw[USER_ID]:
            return None
        date, hour, minute, second, fraction = when.groups()
        if fraction == b"000000":
            return None
        day = self.days.get(date, -1)
        if day == -1:
            y, m, d = int(date[:4]), int(date[5:7]), int(date[8:])
            day = self.days[date] = days_from_civil(y, m, d) if valid_date(y, m, d) else None
        h, mi, sec = int(hour), int(minute), int(second)
        if day is None or h > 23 or mi > 59 or sec > 59:
            return None
        declared = self.types.get(raw[EVENT_TYPE].lower())
        if declared is None:
            return None
        miles: Optional[float] = None
        if raw[MILES]:
            miles = rust_float(raw[MILES].decode())
            if miles is None:
                return None
        raw[COUNTRY] = raw[COUNTRY].upper()
        text = [f.decode() for f in raw]
        text[EVENT_TYPE] = declared
        utc = day * MICROS_PER_DAY + (h * 3600 + mi * 60 + sec) * 1_000_000 + int(fraction or 0)
        digest = xxhash.xxh3_64_intdigest("\x1f".join(text).encode() + b"\x1f")
        return utc, text, miles, (digest - (1 << 64) if digest >= 1 << 63 else digest)

    def parse_any(self, record: bytes, layout: Layout) -> tuple:
        """Any record, as `row::parse_row` reads it (the reference for the fast path)."""
        fields = split_fields(record, layout.delimiter)
        if len(fields) != layout.fields:
            raise Bad(f"wrong column count: expected {layout.fields}, found {len(fields)}")
        raw = [fields[p] if p is not None else b"" for p in layout.order]
        for i, f in enumerate(raw):
            if len(f) > MAX_FIELD_BYTES:
                raise Bad(
                    f"{INPUT_COLUMNS[i]} is {len(f)} bytes, longer than the limit of {MAX_FIELD_BYTES}"
                )
            for b in f:
                if b < 0x20 or b == 0x7F:
                    raise Bad(f"control character 0x{b:02x} in {INPUT_COLUMNS[i]}")
        text: list[str] = []
        for i, f in enumerate(raw):
            try:
                text.append(f.decode("utf-8").strip(" "))
            except UnicodeDecodeError:
                raise Bad(f"invalid UTF-8 in {INPUT_COLUMNS[i]}") from None
        # Values trimmed, countries upper-cased (ASCII only, as Rust's to_ascii_uppercase).
        text[COUNTRY] = text[COUNTRY].encode().upper().decode()
        parsed = parse_time(text[EVENT_TIME].encode())
        if parsed is None:
            raise Bad(
                f"unparseable event_time {debug(preview(text[EVENT_TIME]))} (expected ISO 8601 like "
                "2025-05-04T09:50:20.5+08:00, or epoch seconds/millis; a local time in a DST gap does not exist)"
            )
        utc, rewritten = parsed
        if rewritten:
            # The id hashes the instant's canonical text (see row.rs).
            text[EVENT_TIME] = utc_text(utc)
        if not text[USER_ID].strip():
            raise Bad("empty user_id")
        declared = self.types.get(text[EVENT_TYPE].encode().lower())
        if declared is None:
            raise Bad(
                f"unknown event_type {debug(preview(text[EVENT_TYPE]))} (expected one of {self.expected}; "
                "declare more in heymax.toml's [events] types, or keep unknown types with unknown = \"keep\")"
            )
        text[EVENT_TYPE] = declared
        miles: Optional[float] = None
        if text[MILES]:
            miles = rust_float(text[MILES].strip())
            if miles is None:
                raise Bad(f"non-numeric miles_amount {debug(preview(text[MILES]))}")
        # The deterministic event id: xxh3_64 of the eight stored fields, each followed by
        # 0x1f, as a signed 64-bit integer. See: METRICS.md, Layers (bronze, event_id).
        digest = xxhash.xxh3_64_intdigest(b"".join(t.encode() + b"\x1f" for t in text))
        event_id = digest - (1 << 64) if digest >= 1 << 63 else digest
        return utc, text, miles, event_id


PARSED = T.StructType(
    [
        T.StructField("file", T.IntegerType()),
        T.StructField("line_number", T.LongType()),
        T.StructField("ok", T.BooleanType()),
        T.StructField("blank", T.BooleanType()),
        T.StructField("event_time_us", T.LongType()),
        *[T.StructField(c, T.StringType()) for c in INPUT_COLUMNS[1:4]],
        T.StructField("miles_amount", T.DoubleType()),
        *[T.StructField(c, T.StringType()) for c in INPUT_COLUMNS[5:]],
        T.StructField("event_id", T.LongType()),
        T.StructField("raw", T.StringType()),
        T.StructField("reason", T.StringType()),
    ]
)


def parse_batches(layouts: list[Layout], event_types: list[str]):
    """The `mapInArrow` function: batches of (file, line_number, value) -> PARSED rows."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        parser = Parser(event_types)
        # One tuple per line in PARSED's order, then one column per field (a dict per
        # line cost more than the parsing itself).
        no_event = (None,) * 9
        for batch in batches:
            rows = []
            files = batch.column("file").to_pylist()
            lines = batch.column("line_number").to_pylist()
            values = batch.column("value").to_pylist()
            for file, line, value in zip(files, lines, values):
                record = value[:-1] if value.endswith(b"\r") else value
                if not record:
                    rows.append((file, line, False, True, *no_event, None, None))
                    continue
                try:
                    utc, text, miles, event_id = parser.parse(record, layouts[file])
                except Bad as bad:
                    raw = record
                    if len(record) > BLOCK_BYTES:
                        raw = record[:OVERLONG_PREFIX] + "\u2026".encode()
                    rows.append((file, line, False, False, *no_event, quarantine_text(raw), str(bad)))
                    continue
                rows.append(
                    (
                        file,
                        line,
                        True,
                        False,
                        utc,
                        text[USER_ID],
                        text[EVENT_TYPE],
                        text[CATEGORY] or None,
                        miles,
                        text[PLATFORM] or None,
                        text[UTM_SOURCE] or None,
                        text[COUNTRY] or None,
                        event_id,
                        None,
                        None,
                    )
                )
            columns = list(zip(*rows)) if rows else [() for _ in PARSED_ARROW]
            arrays = [pa.array(c, type=f.type) for c, f in zip(columns, PARSED_ARROW)]
            yield pa.RecordBatch.from_arrays(arrays, schema=PARSED_ARROW)

    return run


PARSED_ARROW = pa.schema(
    [
        pa.field(f.name, {"IntegerType": pa.int32(), "LongType": pa.int64(), "BooleanType": pa.bool_(),
                          "StringType": pa.string(), "DoubleType": pa.float64()}[type(f.dataType).__name__])
        for f in PARSED.fields
    ]
)


# ---------------------------------------------------------------------------------------
# The steps
# ---------------------------------------------------------------------------------------


class Report:
    """Rows, seconds and a note per step, for heymax's run history."""

    def __init__(self) -> None:
        self.steps: list[dict] = []
        self.values: dict = {}

    def step(self, task: str, started: float, rows: Optional[int], note: str = "") -> None:
        self.steps.append(
            {
                "task": task,
                "started_at": datetime.fromtimestamp(started, timezone.utc).isoformat(),
                "ended_at": datetime.now(timezone.utc).isoformat(),
                "seconds": round(time.time() - started, 3),
                "rows": rows,
                "note": note,
            }
        )


def numbered_lines(spark: SparkSession, paths: list[str]) -> DataFrame:
    """Every physical line of every file with its 1-based line number (the header is 1).
    The text source splits a file into blocks read by different tasks, in no set order;
    a line's number is the lines of the blocks before its own plus its place in its block
    (the rows of one block are contiguous in one task, so monotonically_increasing_id
    orders them). Only the per-block counts move between tasks, never the lines. Lines end
    at `\\n` only, as the native reader's: a lone `\\r` stays in its line.

    A file no larger than both `spark.sql.files.maxPartitionBytes` and
    `spark.sql.files.openCostInBytes` is one block whatever the cluster (Spark never cuts
    a split smaller than the lesser of the two), so its lines are numbered by their
    place in their one task (the lower 33 bits of monotonically_increasing_id) without
    the counting pass: a small batch saves a Spark job and a scan."""
    conf = spark.conf
    one_block = min(
        bytes_of(conf.get("spark.sql.files.maxPartitionBytes")),
        bytes_of(conf.get("spark.sql.files.openCostInBytes")),
    )
    frames = [
        spark.read.option("lineSep", "\n")
        .text(p)
        .select(
            F.lit(i).alias("file"),
            F.col("_metadata.file_block_start").alias("block"),
            F.monotonically_increasing_id().alias("seq"),
            F.col("value").cast("binary").alias("value"),
        )
        for i, p in enumerate(paths)
    ]
    small = [f for f, p in zip(frames, paths) if file_size(spark, p) <= one_block]
    large = [f for f, p in zip(frames, paths) if file_size(spark, p) > one_block]
    numbered = [
        f.select("file", ((F.col("seq").bitwiseAND(F.lit((1 << 33) - 1))) + 1).alias("line_number"), "value")
        for f in small
    ]
    if large:
        lines = union(large)
        blocks = lines.groupBy("file", "block").agg(F.count("*").alias("n"), F.min("seq").alias("first"))
        before = Window.partitionBy("file").orderBy("block").rowsBetween(Window.unboundedPreceding, -1)
        blocks = blocks.withColumn("base", F.coalesce(F.sum("n").over(before), F.lit(0)))
        joined = lines.join(F.broadcast(blocks.select("file", "block", "base", "first")), ["file", "block"])
        numbered.append(
            joined.select("file", (F.col("base") + F.col("seq") - F.col("first") + 1).alias("line_number"), "value")
        )
    return union(numbered)


def union(frames: list[DataFrame]) -> DataFrame:
    out = frames[0]
    for f in frames[1:]:
        out = out.unionByName(f)
    return out


def bytes_of(size: str) -> int:
    """A Spark size setting (`128m`, `4194304`, `4MB`) in bytes."""
    text = size.strip().lower().removesuffix("b")
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def file_size(spark: SparkSession, path: str) -> int:
    jvm = spark.sparkContext._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    return hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).getFileStatus(hpath).getLen()


def expand(spark: SparkSession, inputs: list[str]) -> list[str]:
    """The input files: a file as it is, a folder as its `*.csv` files sorted by name (as
    the native engine lists a folder), through Hadoop's file systems, so `s3a://`,
    `hdfs://` and `file:` folders list alike."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    files: list[str] = []
    for given in inputs:
        path = jvm.org.apache.hadoop.fs.Path(given)
        fs = path.getFileSystem(conf)
        if not fs.exists(path):
            raise Refused(f"input path {given} does not exist: pass an event CSV file or a folder of them")
        if not fs.getFileStatus(path).isDirectory():
            files.append(given)
            continue
        found = sorted(
            str(s.getPath().toString())
            for s in fs.listStatus(path)
            if s.isFile() and s.getPath().getName().endswith(".csv")
        )
        if not found:
            raise Refused(f"{given} holds no .csv files: put event CSVs in it, or pass a file")
        files.extend(found)
    return files


def first_line(spark: SparkSession, path: str) -> Optional[str]:
    """A file's first line (None: the file is empty), read by the driver through Hadoop's
    file systems and codecs, as the text source reads it: a Spark job (a `take(1)`) would
    cost seconds of scheduling and a Python worker for one line."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    hpath = jvm.org.apache.hadoop.fs.Path(path)
    stream = hpath.getFileSystem(conf).open(hpath)
    try:
        codec = jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(conf).getCodec(hpath)
        source = codec.createInputStream(stream) if codec is not None else stream
        return jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(source, "UTF-8")).readLine()
    finally:
        stream.close()


def ingest(spark: SparkSession, job: dict, report: Report) -> tuple[DataFrame, DataFrame]:
    """Ingest: every physical line is a loaded row, a quarantined row with its line number
    and reason, or blank; nothing is dropped silently. See: METRICS.md, the input table."""
    started = time.time()
    paths = expand(spark, job["input"])
    if not job.get("sources"):
        job["sources"] = paths
    layouts = []
    for p in paths:
        header = first_line(spark, p)
        if header is None:
            raise Refused(f"{p} is empty: expected a header line ({','.join(INPUT_COLUMNS)}) followed by events")
        layouts.append(layout_of(header, p))
    lines = numbered_lines(spark, paths).filter(F.col("line_number") > 1)
    parsed = lines.mapInArrow(parse_batches(layouts, job["event_types"]), PARSED).persist()
    counts = parsed.groupBy().agg(
        F.count("*").alias("lines"),
        F.sum(F.col("blank").cast("long")).alias("blank"),
        F.sum(F.col("ok").cast("long")).alias("good"),
    ).first()
    lines_n, blank, good = (int(counts[k] or 0) for k in ("lines", "blank", "good"))
    records = lines_n - blank
    quarantined = records - good
    if records == 0:
        raise Refused(f"no events in {paths[0]}: the input has a header but no rows")
    report.values["stats"] = {
        "files": len(paths),
        "records": records,
        "good": good,
        "quarantined": quarantined,
        "blank_lines": blank,
    }
    report.step("ingest", started, records, f"{len(paths)} file(s), {quarantined} quarantined; parsed on Spark")
    return parsed.filter("ok"), parsed.filter("NOT ok AND NOT blank")


def write_quarantine(bad: DataFrame, job: dict, out: str) -> list:
    """Quarantine: the batch's bad rows with file, line, raw text and reason."""
    sources = F.element_at(F.array(*[F.lit(s) for s in job["sources"]]), F.col("file") + 1)
    rows = (
        bad.select(
            "file",
            sources.alias("source_file"),
            "line_number",
            "raw",
            "reason",
            F.lit(job["batch_id"]).cast("long").alias("batch_id"),
            loaded_at(job).alias("loaded_at"),
        )
        .orderBy("file", "line_number")
        .drop("file")
    )
    rows.coalesce(1).write.parquet(f"{out}/quarantine")
    return [
        [r["source_file"], r["line_number"], r["reason"]]
        for r in rows.select("source_file", "line_number", "reason").limit(5).collect()
    ]


def loaded_at(job: dict):
    return F.timestamp_micros(F.lit(job["loaded_at"])).cast("timestamp_ntz")


def bronze_frame(good: DataFrame, job: dict) -> DataFrame:
    """Bronze: the batch exactly as it arrived (typed), plus event_id, batch_id and
    loaded_at. See: METRICS.md, Layers (bronze)."""
    return good.select(
        F.timestamp_micros("event_time_us").cast("timestamp_ntz").alias("event_time"),
        *INPUT_COLUMNS[1:],
        "event_id",
        F.lit(job["batch_id"]).cast("long").alias("batch_id"),
        loaded_at(job).alias("loaded_at"),
    )


def write_by_date(frame: DataFrame, path: str) -> None:
    """Partitioned by event date (a new day's batch adds new partitions and touches no
    old file), clustered by user inside each file (per-user work stays in one task and
    reads few row groups); one file per date."""
    partitions = int(frame.sparkSession.conf.get("spark.sql.shuffle.partitions"))
    (
        frame.withColumn("event_date", F.to_date("event_time"))
        # A set number of partitions, which adaptive execution keeps: merged into one, a
        # small batch's dates would all be written in turn by one task.
        .repartition(partitions, "event_date")
        .sortWithinPartitions("event_date", "user_id", "event_time")
        .write.partitionBy("event_date")
        .parquet(path)
    )


def gold_new(bronze: DataFrame, existing: Optional[DataFrame]) -> DataFrame:
    """Gold fact_events: each event once, deduplicated by event_id (first load wins: an
    id already in gold is skipped; within a batch, rows with one id hold the same eight
    fields, so any of them is the event). See: METRICS.md, Layers (gold)."""
    new = bronze.dropDuplicates(["event_id"])
    if existing is not None:
        new = new.join(existing.select("event_id"), "event_id", "left_anti")
    return new.select(*bronze.columns)


def new_ids(bronze: DataFrame, existing: Optional[DataFrame]) -> int:
    """How many events `gold_new` keeps, from the ids alone (8 bytes a row move, not the
    row): when it is all of bronze, gold's new rows are bronze's and need no step of their own."""
    ids = bronze.select("event_id").distinct()
    if existing is not None:
        ids = ids.join(existing.select("event_id"), "event_id", "left_anti")
    return ids.count()


DAILY_SQL = """
-- daily: one row per user and active day, with its events, the user's latest
-- (event_time, country) that day and the day's first and last events. Gold is scanned
-- and shuffled once for dim_users, activity, lifecycle and retention (all of them are
-- per user and day, or coarser). See: METRICS.md, Growth accounting (active: any event).
SELECT user_id, to_date(event_time) AS day, COUNT(*) AS events,
       MAX(CASE WHEN country IS NOT NULL THEN struct(event_time, country) END) AS latest,
       MIN(event_time) AS first_seen_at, MAX(event_time) AS last_seen_at
FROM gold GROUP BY user_id, to_date(event_time)
"""

ACTIVITY_SQL = """
-- activity: who was active on which day (any event), with the events of the day and the
-- user's dim_users attributes (country; the cohort, the first event's date).
-- See: METRICS.md, Growth accounting and Retention.
SELECT a.user_id, a.day, a.events, d.country, to_date(d.first_seen_at) AS cohort
FROM daily a JOIN dim_users d ON d.user_id = a.user_id
"""

DIM_USERS_SQL = """
-- dim_users: one row per user, the latest country (the country of the latest event that
-- has one; a tie on time: the greater name), first and last seen.
-- See: METRICS.md, Layers (gold: dim_users) and the input table (latest country wins).
SELECT user_id, MAX(latest).country AS country,
       MIN(first_seen_at) AS first_seen_at, MAX(last_seen_at) AS last_seen_at
FROM daily GROUP BY user_id
"""


# The grains: a day's period start, the next period's start. See: METRICS.md, Periods.
GRAINS = {
    "day": ("{d}", "date_add({p}, 1)", "INTERVAL 1 DAY"),
    "week": ("CAST(date_trunc('WEEK', {d}) AS DATE)", "date_add({p}, 7)", "INTERVAL 7 DAYS"),
    "month": ("trunc({d}, 'MM')", "add_months({p}, 1)", "INTERVAL 1 MONTH"),
}


def lifecycle_sql(grain: str, last_day: str) -> str:
    """user_lifecycle_<grain>: one row per user per period in which the user has a status.
    new: no earlier active period; retained: active in t and t-1; resurrected: active in
    t, not in t-1, active before; churned: active in t-1, not in t, once (in the period
    right after an active one, never again for later inactive periods); the last active
    period before the data's last period churns in the next one.
    See: METRICS.md, Growth accounting and Drill-down."""
    start, nxt, _ = GRAINS[grain]
    period = start.format(d="day")
    last_period = start.format(d=f"DATE'{last_day}'")
    return f"""
    WITH periods AS (
      SELECT user_id, country, {period} AS period, SUM(events) AS events
      FROM activity GROUP BY user_id, country, {period}
    ), ordered AS (
      SELECT user_id, country, period, events,
             LAG(period) OVER (PARTITION BY user_id ORDER BY period) AS prev,
             LEAD(period) OVER (PARTITION BY user_id ORDER BY period) AS next
      FROM periods
    ), statuses AS (
      SELECT user_id, country, period,
             CASE WHEN prev IS NULL THEN 'new'
                  WHEN {nxt.format(p='prev')} = period THEN 'retained'
                  ELSE 'resurrected' END AS status,
             events
      FROM ordered
      UNION ALL
      -- A churned period has no events (the user is not active in it).
      SELECT user_id, country, {nxt.format(p='period')} AS period, 'churned' AS status, 0L AS events
      FROM ordered
      WHERE (next IS NULL AND period < {last_period})
         OR (next IS NOT NULL AND next <> {nxt.format(p='period')})
    )
    SELECT period, user_id, country, status, events FROM statuses
    """


def growth_sql(grain: str, first_day: str, last_day: str) -> str:
    """user_growth_metrics_<grain>: the lifecycle counted per period x country on a
    gap-free grid (every period from the first to the last, every country with a user);
    active = new + retained + resurrected; growth = new + resurrected - churned;
    quick_ratio = (new + resurrected) / churned, null when churned = 0; is_complete when
    the period's last day is before the data's last date. See: METRICS.md, Growth
    accounting and Periods."""
    start, nxt, step = GRAINS[grain]
    first_period = start.format(d=f"DATE'{first_day}'")
    last_period = start.format(d=f"DATE'{last_day}'")
    return f"""
    WITH grid AS (
      SELECT p.period, c.country
      FROM (SELECT explode(sequence({first_period}, {last_period}, {step})) AS period) p
      CROSS JOIN countries c
    ), counts AS (
      SELECT period, country,
             COUNT_IF(status = 'new') AS n, COUNT_IF(status = 'retained') AS r,
             COUNT_IF(status = 'resurrected') AS s, COUNT_IF(status = 'churned') AS c
      FROM lifecycle_{grain} GROUP BY period, country
    )
    SELECT g.period, g.country,
           COALESCE(n, 0) AS new_users, COALESCE(r, 0) AS retained_users,
           COALESCE(s, 0) AS resurrected_users, COALESCE(c, 0) AS churned_users,
           COALESCE(n, 0) + COALESCE(r, 0) + COALESCE(s, 0) AS active_users,
           COALESCE(n, 0) + COALESCE(s, 0) - COALESCE(c, 0) AS growth,
           CASE WHEN COALESCE(c, 0) <> 0
                THEN CAST(COALESCE(n, 0) + COALESCE(s, 0) AS DOUBLE) / CAST(c AS DOUBLE) END AS quick_ratio,
           {nxt.format(p='g.period')} <= DATE'{last_day}' AS is_complete
    FROM grid g LEFT JOIN counts k ON k.period = g.period AND k.country <=> g.country
    """


def retention_sql(last_day: str) -> str:
    """user_retention: per signup cohort (the date of a user's first event) and country,
    dN_retained = the cohort's users with an event on exactly day N; right-censored (null)
    when cohort + N is after the data's last date; dN_retention_rate = 100 * dN_retained /
    cohort_size as a double. See: METRICS.md, Retention."""
    flags = ", ".join(f"MAX(CAST(day = date_add(cohort, {n}) AS INT)) AS f{n}" for n in RETENTION_DAYS)
    observed = lambda n: f"date_add(cohort, {n}) <= DATE'{last_day}'"  # noqa: E731
    retained = ", ".join(
        f"CASE WHEN {observed(n)} THEN CAST(SUM(f{n}) AS BIGINT) END AS d{n}_retained" for n in RETENTION_DAYS
    )
    rates = ", ".join(
        f"CASE WHEN {observed(n)} THEN 100D * CAST(SUM(f{n}) AS DOUBLE) / CAST(COUNT(*) AS DOUBLE) END"
        f" AS d{n}_retention_rate"
        for n in RETENTION_DAYS
    )
    return f"""
    WITH users AS (
      SELECT user_id, cohort, country, {flags}
      FROM activity GROUP BY user_id, cohort, country
    )
    SELECT cohort AS cohort_date, country, COUNT(*) AS cohort_size, {retained}, {rates}
    FROM users GROUP BY cohort, country
    """


INTERACTIONS_SQL = """
-- user_interactions: per (dim_users country, event_type, transaction_category), the
-- events, distinct users, miles (0 when none) and the share of the (country, event_type)
-- total. See: METRICS.md, Interactions. Gold is first summed per user (a user is one row
-- of `per_user` per group, so its rows count the distinct users), and only those sums
-- meet dim_users: the join moves users, not events.
WITH per_user AS (
  SELECT user_id, event_type, transaction_category,
         COUNT(*) AS n, SUM(COALESCE(miles_amount, 0D)) AS miles
  FROM gold GROUP BY user_id, event_type, transaction_category
)
SELECT d.country, u.event_type, u.transaction_category,
       SUM(u.n) AS interactions, COUNT(*) AS users, SUM(u.miles) AS miles,
       CAST(SUM(u.n) AS DOUBLE)
         / CAST(SUM(SUM(u.n)) OVER (PARTITION BY d.country, u.event_type) AS DOUBLE) AS share
FROM per_user u JOIN dim_users d ON d.user_id = u.user_id
GROUP BY d.country, u.event_type, u.transaction_category
"""


def build(spark: SparkSession, job: dict) -> Report:
    """Every step, with as few Spark jobs as the outputs allow: each action costs seconds of
    scheduling on a small cluster, so nothing is counted that is known already."""
    report = Report()
    out = job["out"]
    good, bad = ingest(spark, job, report)

    started = time.time()
    stats = report.values["stats"]
    # heymax reads the quarantine only when the batch has bad rows.
    report.values["quarantine_sample"] = write_quarantine(bad, job, out) if stats["quarantined"] else []
    bronze = bronze_frame(good, job)
    write_by_date(bronze, f"{out}/bronze")
    bronze_rows = stats["good"]
    report.step("bronze", started, bronze_rows, "partitioned by event_date, clustered by user_id")

    # Silver is bronze's files appended as one more batch: heymax links them (no write).
    # See: METRICS.md, Layers (silver).
    started = time.time()
    existing = spark.read.parquet(*job["gold"]) if job["gold"] else None
    new_rows = new_ids(bronze, existing)
    # The usual batch has no duplicate and nothing gold holds already: its new gold rows
    # are bronze's rows, and heymax links bronze's files into gold instead of a second
    # write of the same rows.
    gold_is_bronze = new_rows == bronze_rows
    if gold_is_bronze:
        new = bronze
    else:
        new = gold_new(bronze, existing).persist()
        write_by_date(new, f"{out}/gold")
    gold = new if existing is None else existing.select(*new.columns).unionByName(new)
    gold_total = new_rows + (existing.count() if existing is not None else 0)
    gold.createOrReplaceTempView("gold")
    # Everything after gold is per user: the daily table is spread by user once, and every
    # per-user step below (dim_users, the lifecycle windows, retention's cohorts) runs in
    # the task that holds its users, with no further shuffle.
    partitions = int(spark.conf.get("spark.sql.shuffle.partitions"))
    daily = spark.sql(DAILY_SQL).repartition(partitions, "user_id").persist()
    daily.createOrReplaceTempView("daily")
    dim = spark.sql(DIM_USERS_SQL).persist()
    dim.createOrReplaceTempView("dim_users")
    dim.coalesce(1).write.parquet(f"{out}/dim_users")
    dim_rows = dim.count()
    report.values.update(
        bronze_rows=bronze_rows, gold_new=new_rows, gold_is_bronze=gold_is_bronze, gold_total=gold_total, dim_users=dim_rows
    )
    report.step("gold", started, new_rows, f"{bronze_rows - new_rows} duplicates skipped; dim_users {dim_rows} rows")
    if gold_total == 0:
        report.values["marts"] = False
        return report

    # Activity: who was active on which day. See: METRICS.md, Growth accounting.
    started = time.time()
    activity = spark.sql(ACTIVITY_SQL).persist()
    activity.createOrReplaceTempView("activity")
    daily.unpersist()
    span = activity.agg(F.min("day").alias("first"), F.max("day").alias("last"), F.count("*").alias("n")).first()
    first_day, last_day = span["first"].isoformat(), span["last"].isoformat()
    # The growth grid's countries (every country with a user, null included): a few rows
    # the driver keeps, so that no grid waits for a shuffle of dim_users.
    countries = [r["country"] for r in dim.select("country").distinct().collect()]
    spark.createDataFrame([(c,) for c in countries], "country string").createOrReplaceTempView("countries")
    report.values.update(first_day=first_day, last_day=last_day, marts=True)
    report.step("activity", started, int(span["n"]), "active (user, day) pairs")

    def write(name: str, frame: DataFrame, order: list[str]) -> None:
        """A mart is small: one file, in its key's order (nulls first, as the native
        engine's). heymax counts its rows when it adopts it."""
        begun = time.time()
        frame.coalesce(1).sortWithinPartitions(*order).write.parquet(f"{out}/marts/{name}")
        report.step(f"mart_{name}", begun, None)

    for grain in GRAINS:
        lifecycle = spark.sql(lifecycle_sql(grain, last_day)).persist()
        lifecycle.createOrReplaceTempView(f"lifecycle_{grain}")
        # Per user and period: written by as many tasks as computed it (heymax sorts it).
        begun = time.time()
        lifecycle.write.parquet(f"{out}/marts/user_lifecycle_{grain}")
        report.step(f"mart_user_lifecycle_{grain}", begun, None)
        write(f"user_growth_metrics_{grain}", spark.sql(growth_sql(grain, first_day, last_day)), ["period", "country"])
        lifecycle.unpersist()
    write("user_retention", spark.sql(retention_sql(last_day)), ["cohort_date", "country"])
    write("user_interactions", spark.sql(INTERACTIONS_SQL), ["country", "event_type", "transaction_category"])
    return report


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: spark-submit heymax_spark.py <job.json> (heymax run --engine spark writes it)")
    with open(sys.argv[1], encoding="utf-8") as f:
        job = json.load(f)
    spark = (
        SparkSession.builder.appName(f"heymax batch {job['batch_id']}")
        # Event times carry no zone and periods are UTC days: no session-zone shifts.
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "20000")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("WARN")
    try:
        report = build(spark, job)
    except Refused as refused:
        print(f"heymax-spark: {refused}", file=sys.stderr)
        spark.stop()
        sys.exit(3)
    with open(f"{job['out']}/report.json", "w", encoding="utf-8") as f:
        json.dump({"steps": report.steps, **report.values}, f, indent=1)
    spark.stop()


if __name__ == "__main__":
    main()
