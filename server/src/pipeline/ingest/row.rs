//! Validates one CSV record and appends it to a chunk, or says why it is quarantined.
//! See: METRICS.md, the input table (required columns, accepted event types).
//!
//! Limits, so that hostile input costs bounded memory and cannot bloat the marts or the
//! pages: a field holds at most [`MAX_FIELD_BYTES`] bytes and no control character (a line
//! break, a tab, NUL ...); a line at most `split::MAX_LINE_BYTES`. Reasons quote at most a
//! short, escaped prefix of a value.

use std::fmt;

use super::split::MAX_LINE_BYTES;

use std::borrow::Cow;

use super::IngestOptions;
use super::config::CountryCase;
use super::time::write_utc_text;
use crate::pipeline::schema::{COUNTRY, EVENT_TIME, EVENT_TYPE, INPUT_COLUMNS, MILES, USER_ID};

/// Why a record went to quarantine.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    LineTooLong {
        bytes: u64,
    },
    UnbalancedQuote,
    ColumnCount {
        expected: usize,
        found: usize,
    },
    FieldTooLong {
        column: &'static str,
        bytes: usize,
    },
    ControlByte {
        column: &'static str,
        byte: u8,
    },
    InvalidUtf8 {
        column: &'static str,
    },
    Timestamp {
        value: String,
    },
    EmptyUserId,
    EventType {
        value: String,
        expected: String,
    },
    Miles {
        value: String,
    },
    /// An NDJSON line that is not a JSON object.
    Json {
        message: String,
    },
    /// An NDJSON value that is an object or an array where a column's text should be.
    Nested {
        column: &'static str,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::LineTooLong { bytes } => write!(
                f,
                "line of {bytes} bytes, longer than the limit of {MAX_LINE_BYTES}"
            ),
            Reason::UnbalancedQuote => write!(
                f,
                "unbalanced double quote (a quoted field must close on the same line; write a literal quote as \"\")"
            ),
            Reason::FieldTooLong { column, bytes } => write!(
                f,
                "{column} is {bytes} bytes, longer than the limit of {MAX_FIELD_BYTES}"
            ),
            Reason::ControlByte { column, byte } => {
                write!(f, "control character 0x{byte:02x} in {column}")
            }
            Reason::ColumnCount { expected, found } => {
                write!(f, "wrong column count: expected {expected}, found {found}")
            }
            Reason::InvalidUtf8 { column } => write!(f, "invalid UTF-8 in {column}"),
            Reason::Timestamp { value } => write!(
                f,
                "unparseable event_time {value:?} (expected ISO 8601 like 2025-05-04T09:50:20.5+08:00, or epoch seconds/millis; a local time in a DST gap does not exist)"
            ),
            Reason::EmptyUserId => write!(f, "empty user_id"),
            Reason::EventType { value, expected } => write!(
                f,
                "unknown event_type {value:?} (expected one of {expected}; declare more in heymax.toml's [events] types, or keep unknown types with unknown = \"keep\")"
            ),
            Reason::Miles { value } => write!(f, "non-numeric miles_amount {value:?}"),
            Reason::Json { message } => write!(f, "not a JSON object: {}", preview(message)),
            Reason::Nested { column } => write!(
                f,
                "{column} is a JSON object or array: map it to a path that holds a value (e.g. properties.{column})"
            ),
        }
    }
}

/// The longest field accepted: an e-mail address, a UUID or a category name fits many
/// times over.
pub const MAX_FIELD_BYTES: usize = 1024;

/// How much of a value a reason quotes.
const PREVIEW_CHARS: usize = 40;

/// A value as a reason quotes it: its first characters (the caller escapes with `{:?}`).
pub fn preview(value: &str) -> String {
    match value.char_indices().nth(PREVIEW_CHARS) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_string(),
    }
}

/// Whether `bytes` hold a C0 control character or DEL (branch-free, so it vectorises).
fn has_control(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .fold(false, |found, &b| found | (b < 0x20) | (b == 0x7f))
}

/// A record's fields, validated, normalised and typed; borrowed from the record unless
/// normalising changed them.
#[derive(Debug, PartialEq)]
pub struct Row<'a> {
    pub event_time: i64,
    /// The event type's code (see `EventTypes::code`).
    pub event_type: u8,
    pub miles: Option<f64>,
    /// The fields as stored, in [`INPUT_COLUMNS`] order: trimmed, the country in upper
    /// case, the event type in its declared spelling. The event id hashes these.
    pub fields: [Cow<'a, str>; 8],
}

impl Row<'_> {
    /// Field `i` as text, `None` when empty.
    pub fn text(&self, i: usize) -> Option<&str> {
        Some(&*self.fields[i]).filter(|s| !s.is_empty())
    }

    pub fn user_id(&self) -> &str {
        &self.fields[USER_ID]
    }
}

/// Where each input column sits in a record, and how many fields a record has.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// `order[i]`: the record position of input column `i`, `None` when the source has
    /// no such column (an optional one: it is empty for every event).
    pub order: [Option<usize>; 8],
    pub fields: usize,
}

impl Layout {
    /// Records that hold exactly the input columns in their order (NDJSON, Parquet).
    pub fn canonical() -> Self {
        Self {
            order: std::array::from_fn(Some),
            fields: INPUT_COLUMNS.len(),
        }
    }
}

/// Calls `f` with the record's fields: a plain split on the delimiter unless the record holds a
/// quote, in which case the `csv` crate parses it (RFC 4180 quoting and escapes). A record
/// over the line limit or with an odd number of quotes is refused before it is split.
pub fn with_fields<R>(
    record: &[u8],
    delimiter: u8,
    f: impl FnOnce(&[&[u8]]) -> R,
) -> Result<R, Reason> {
    if record.len() > MAX_LINE_BYTES {
        return Err(Reason::LineTooLong {
            bytes: record.len() as u64,
        });
    }
    const MAX: usize = 32;
    let mut fields: [&[u8]; MAX] = [&[]; MAX];
    let mut n = 0;
    if memchr::memchr(b'"', record).is_none() {
        for field in record.split(|&b| b == delimiter) {
            if n < MAX {
                fields[n] = field;
            }
            n += 1;
        }
        // More fields than fit: report the count with empty fields standing in.
        let extra: Vec<&[u8]> = if n > MAX { vec![&[]; n] } else { Vec::new() };
        return Ok(f(if n > MAX { &extra } else { &fields[..n] }));
    }
    if memchr::memchr_iter(b'"', record).count() % 2 == 1 {
        return Err(Reason::UnbalancedQuote);
    }
    let mut parsed = csv::ByteRecord::new();
    // The record is one line already: only `\n` may end it (the crate's default also
    // ends a record at a lone `\r`, which would drop the rest of the line unseen; a `\r`
    // inside a field is a control character and quarantines the line).
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(record);
    if !matches!(reader.read_byte_record(&mut parsed), Ok(true)) {
        return Ok(f(&[]));
    }
    let all: Vec<&[u8]> = parsed.iter().collect();
    Ok(f(&all))
}

/// Validates fields (in record order, placed by `layout`), normalises them as the
/// options say and types them.
pub fn parse_row<'a>(
    fields: &[&'a [u8]],
    layout: &Layout,
    options: &'a IngestOptions,
) -> Result<Row<'a>, Reason> {
    parse_row_in(fields, layout, options, None)
}

/// A field as text: sliced out of `valid` (text already checked as UTF-8 that holds it)
/// when it lies inside, else checked on its own. Checking a CSV piece once and slicing its
/// fields took UTF-8 validation, eight short calls per row, from 4 % of a 10M-event run's
/// profile (`core::str::from_utf8`) to nothing measurable.
fn as_text<'a>(field: &'a [u8], valid: Option<&'a str>) -> Option<&'a str> {
    if let Some(text) = valid {
        let start = (field.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
        if let Some(s) = text.get(start..start.saturating_add(field.len()))
            && std::ptr::eq(s.as_ptr(), field.as_ptr())
        {
            return Some(s);
        }
    }
    std::str::from_utf8(field).ok()
}

/// [`parse_row`] for fields that may lie inside `valid`, text checked as UTF-8 already.
pub fn parse_row_in<'a>(
    fields: &[&'a [u8]],
    layout: &Layout,
    options: &'a IngestOptions,
    valid: Option<&'a str>,
) -> Result<Row<'a>, Reason> {
    if fields.len() != layout.fields {
        return Err(Reason::ColumnCount {
            expected: layout.fields,
            found: fields.len(),
        });
    }
    let raw: [&[u8]; 8] = std::array::from_fn(|i| layout.order[i].map_or(&b""[..], |p| fields[p]));
    for (i, field) in raw.iter().enumerate() {
        let column = INPUT_COLUMNS[i];
        if field.len() > MAX_FIELD_BYTES {
            return Err(Reason::FieldTooLong {
                column,
                bytes: field.len(),
            });
        }
        if has_control(field) {
            let byte = field
                .iter()
                .copied()
                .find(|&b| b < 0x20 || b == 0x7f)
                .unwrap_or(0);
            return Err(Reason::ControlByte { column, byte });
        }
    }
    let source = &options.source;
    let mut text: [Cow<'a, str>; 8] = Default::default();
    for (i, field) in raw.iter().enumerate() {
        let value = as_text(field, valid).ok_or(Reason::InvalidUtf8 {
            column: INPUT_COLUMNS[i],
        })?;
        text[i] = Cow::Borrowed(if source.trim {
            value.trim_matches(' ')
        } else {
            value
        });
    }
    if source.country == CountryCase::Upper && text[COUNTRY].bytes().any(|b| b.is_ascii_lowercase())
    {
        text[COUNTRY] = Cow::Owned(text[COUNTRY].to_ascii_uppercase());
    }
    let time = options
        .time
        .parse(text[EVENT_TIME].as_bytes())
        .ok_or_else(|| Reason::Timestamp {
            value: preview(&text[EVENT_TIME]),
        })?;
    if time.rewritten {
        // The id hashes the instant's canonical text, so the same event has the same id
        // whether its time came as `...T09:50:20Z`, `+08:00`, epoch millis or the sample's.
        let mut canonical = Vec::with_capacity(26);
        write_utc_text(time.utc, &mut canonical);
        text[EVENT_TIME] = Cow::Owned(String::from_utf8_lossy(&canonical).into_owned());
    }
    if text[USER_ID].trim().is_empty() {
        return Err(Reason::EmptyUserId);
    }
    let events = &source.events;
    let event_type = events
        .code(text[EVENT_TYPE].as_bytes())
        .ok_or_else(|| Reason::EventType {
            value: preview(&text[EVENT_TYPE]),
            expected: preview(&events.names().join(", ")),
        })?;
    if let Some(name) = events.name(event_type)
        && name != text[EVENT_TYPE]
    {
        text[EVENT_TYPE] = Cow::Borrowed(name);
    }
    let miles = match &*text[MILES] {
        "" => None,
        s => match s.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => return Err(Reason::Miles { value: preview(s) }),
        },
    };
    Ok(Row {
        event_time: time.local,
        event_type,
        miles,
        fields: text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    static DEFAULTS: std::sync::LazyLock<IngestOptions> =
        std::sync::LazyLock::new(IngestOptions::default);

    fn parse(line: &str) -> Result<Row<'_>, Reason> {
        parse_with(line, &DEFAULTS)
    }

    fn parse_with<'a>(line: &'a str, options: &'a IngestOptions) -> Result<Row<'a>, Reason> {
        let fields: Vec<&[u8]> = line.as_bytes().split(|&b| b == b',').collect();
        parse_row(&fields, &Layout::canonical(), options)
    }

    #[test]
    fn fields_inside_checked_text_are_sliced_and_others_checked() {
        let text = "ab,cd";
        let bytes = text.as_bytes();
        assert_eq!(as_text(&bytes[3..5], Some(text)), Some("cd"));
        assert_eq!(as_text(&bytes[5..], Some(text)), Some(""));
        let outside = b"x\xff".to_vec();
        assert_eq!(as_text(&outside[..1], Some(text)), Some("x"));
        assert_eq!(as_text(&outside, Some(text)), None);
        assert_eq!(as_text(&outside, None), None);
    }

    #[test]
    fn a_good_row_is_typed() {
        let row = parse("2025-05-04 09:50:20.784808,u_1,miles_earned,dining,516.0,web,organic,TH")
            .unwrap();
        assert_eq!(row.user_id(), "u_1");
        assert_eq!(row.event_type, 0);
        assert_eq!(row.miles, Some(516.0));
        assert_eq!(row.text(COUNTRY), Some("TH"));
        let row = parse("2025-05-04 09:50:20,u_1,share,,,web,organic,TH").unwrap();
        assert_eq!((row.text(3), row.miles), (None, None));
    }

    #[test]
    fn values_are_normalised_as_configured() {
        let row =
            parse("2025-05-04 09:50:20, u_1 ,MILES_EARNED, dining , 5 ,web,organic, sg ").unwrap();
        assert_eq!(row.user_id(), "u_1");
        assert_eq!(row.fields[EVENT_TYPE], "miles_earned");
        assert_eq!(row.text(3), Some("dining"));
        assert_eq!(row.miles, Some(5.0));
        assert_eq!(row.text(COUNTRY), Some("SG"));
        let mut options = IngestOptions::default();
        options.source.trim = false;
        options.source.country = CountryCase::AsIs;
        let row = parse_with("2025-05-04 09:50:20,u_1,like,,,web,organic, sg", &options).unwrap();
        assert_eq!(row.text(COUNTRY), Some(" sg"));
    }

    #[test]
    fn declared_event_types_replace_the_sample_ones() {
        use crate::pipeline::schema::{EventTypes, UNDECLARED, Unknown};
        let mut options = IngestOptions::default();
        options.source.events = EventTypes::new(
            vec!["app_open".into(), "purchase".into()],
            Unknown::Quarantine,
        );
        let line = "2025-05-04 09:50:20,u_1,Purchase,,,web,organic,SG";
        assert_eq!(parse_with(line, &options).unwrap().event_type, 1);
        let share = "2025-05-04 09:50:20,u_1,share,,,web,organic,SG";
        let reason = parse_with(share, &options).unwrap_err().to_string();
        assert!(reason.contains("app_open, purchase"), "{reason}");
        options.source.events = EventTypes::new(vec!["app_open".into()], Unknown::Keep);
        let row = parse_with(share, &options).unwrap();
        assert_eq!(row.event_type, UNDECLARED);
        assert_eq!(row.fields[EVENT_TYPE], "share");
    }

    #[test]
    fn missing_optional_columns_are_empty() {
        let layout = Layout {
            order: [Some(1), Some(0), Some(2), None, None, None, None, None],
            fields: 3,
        };
        let fields: [&[u8]; 3] = [b"u_1", b"2025-05-04 09:50:20", b"like"];
        let row = parse_row(&fields, &layout, &DEFAULTS).unwrap();
        assert_eq!(row.user_id(), "u_1");
        assert_eq!(row.text(COUNTRY), None);
        let short: [&[u8]; 2] = [b"u_1", b"x"];
        assert!(matches!(
            parse_row(&short, &layout, &DEFAULTS),
            Err(Reason::ColumnCount {
                expected: 3,
                found: 2
            })
        ));
    }

    #[test]
    fn bad_rows_say_why() {
        let cases = [
            ("x,u_1,share,,,web,organic,TH", "unparseable event_time"),
            (
                "2025-05-04 09:50:20,,share,,,web,organic,TH",
                "empty user_id",
            ),
            (
                "2025-05-04 09:50:20,u_1,poke,,,web,organic,TH",
                "unknown event_type",
            ),
            (
                "2025-05-04 09:50:20,u_1,share,,ten,web,organic,TH",
                "non-numeric miles",
            ),
            (
                "2025-05-04 09:50:20,u_1,share,,inf,web,organic,TH",
                "non-numeric miles",
            ),
            ("2025-05-04 09:50:20,u_1,share", "wrong column count"),
        ];
        for (line, want) in cases {
            let reason = parse(line).unwrap_err().to_string();
            assert!(reason.contains(want), "{line}: {reason}");
        }
        let fields: Vec<&[u8]> = vec![
            b"2025-05-04 09:50:20",
            b"u\xff",
            b"share",
            b"",
            b"",
            b"",
            b"",
            b"",
        ];
        assert_eq!(
            parse_row(&fields, &Layout::canonical(), &DEFAULTS).unwrap_err(),
            Reason::InvalidUtf8 { column: "user_id" }
        );
    }

    #[test]
    fn quoted_fields_are_split_by_the_csv_crate() {
        let out = with_fields(b"a,\"b,c\",\"d\"\"e\"", b',', |f| {
            f.iter().map(|x| x.to_vec()).collect::<Vec<_>>()
        });
        assert_eq!(
            out,
            Ok(vec![b"a".to_vec(), b"b,c".to_vec(), b"d\"e".to_vec()])
        );
        assert_eq!(with_fields(&[b','; 40], b',', |f| f.len()), Ok(41));
    }

    #[test]
    fn hostile_records_are_refused_with_a_short_reason() {
        // A quote opened and never closed: this line only, not the rest of the file.
        assert_eq!(
            with_fields(
                b"2025-05-04 09:50:20,\"u_1,share,,,web,organic,TH",
                b',',
                |f| f.len()
            ),
            Err(Reason::UnbalancedQuote)
        );
        let long = vec![b'a'; MAX_LINE_BYTES + 1];
        assert_eq!(
            with_fields(&long, b',', |f| f.len()),
            Err(Reason::LineTooLong {
                bytes: long.len() as u64
            })
        );
        let big = "x".repeat(MAX_FIELD_BYTES + 1);
        let line = format!("2025-05-04 09:50:20,u_1,share,,,web,organic,{big}");
        assert_eq!(
            parse(&line).unwrap_err(),
            Reason::FieldTooLong {
                column: "country",
                bytes: MAX_FIELD_BYTES + 1
            }
        );
        for (line, byte) in [
            ("2025-05-04 09:50:20,u\x00_1,share,,,web,organic,TH", 0u8),
            ("2025-05-04 09:50:20,u_1,share,,,web\t,organic,TH", 9),
            ("2025-05-04 09:50:20,u_1,share,,,web,organic,T\rH", 13),
            ("2025-05-04 09:50:20,u_1,share,,,web,organic,TH\u{7f}", 0x7f),
        ] {
            let reason = parse(line).unwrap_err();
            assert!(
                matches!(reason, Reason::ControlByte { byte: b, .. } if b == byte),
                "{line:?}: {reason}"
            );
        }
        // A lone `\r` in a quoted line does not end it early (the rest is not dropped).
        let line = "2025-05-04 09:50:20,\"u_1\",share,,,web,organic,TH\r2025-05-04 09:50:20,u_2";
        assert!(matches!(
            with_fields(line.as_bytes(), b',', |f| parse_row(
                f,
                &Layout::canonical(),
                &DEFAULTS
            )
            .map(|_| ())),
            Ok(Err(Reason::ColumnCount { .. } | Reason::ControlByte { .. }))
        ));
        // A reason quotes a short prefix of a value, escaped.
        let time = format!("{}\u{1b}[31m", "9".repeat(5000));
        let line = format!("{time},u_1,share,,,web,organic,TH");
        let reason = parse(&line).unwrap_err().to_string();
        assert!(reason.len() < 200, "{reason}");
        let reason = Reason::EventType {
            value: preview("po\u{1b}[2Jke"),
            expected: String::new(),
        }
        .to_string();
        assert!(reason.contains("\\u{1b}"), "{reason}");
    }
}
