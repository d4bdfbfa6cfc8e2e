//! Validates one CSV record and appends it to a chunk, or says why it is quarantined.
//! See: METRICS.md, the input table (required columns, accepted event types).
//!
//! Limits, so that hostile input costs bounded memory and cannot bloat the marts or the
//! pages: a field holds at most [`MAX_FIELD_BYTES`] bytes and no control character (a line
//! break, a tab, NUL ...); a line at most `split::MAX_LINE_BYTES`. Reasons quote at most a
//! short, escaped prefix of a value.

use std::fmt;

use super::split::MAX_LINE_BYTES;
use super::time::TimeOptions;

use crate::pipeline::schema::{
    CATEGORY, COUNTRY, EVENT_TIME, EVENT_TYPE, EVENT_TYPES, INPUT_COLUMNS, MILES, PLATFORM,
    USER_ID, UTM_SOURCE, event_type_code,
};

/// Why a record went to quarantine.
#[derive(Debug, Clone, PartialEq)]
pub enum Reason {
    LineTooLong { bytes: u64 },
    UnbalancedQuote,
    ColumnCount { expected: usize, found: usize },
    FieldTooLong { column: &'static str, bytes: usize },
    ControlByte { column: &'static str, byte: u8 },
    InvalidUtf8 { column: &'static str },
    Timestamp { value: String },
    EmptyUserId,
    EventType { value: String },
    Miles { value: String },
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
            Reason::EventType { value } => write!(
                f,
                "unknown event_type {value:?} (expected one of {})",
                EVENT_TYPES.join(", ")
            ),
            Reason::Miles { value } => write!(f, "non-numeric miles_amount {value:?}"),
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

/// A record's fields, validated and typed, borrowed from the record.
#[derive(Debug, PartialEq)]
pub struct Row<'a> {
    pub event_time: i64,
    pub user_id: &'a str,
    pub event_type: u8,
    pub category: Option<&'a str>,
    pub miles: Option<f64>,
    pub platform: Option<&'a str>,
    pub utm_source: Option<&'a str>,
    pub country: Option<&'a str>,
    /// The fields in canonical column order, for the event id.
    pub raw: [&'a [u8]; 8],
}

/// Calls `f` with the record's fields: a plain comma split unless the record holds a
/// quote, in which case the `csv` crate parses it (RFC 4180 quoting and escapes). A record
/// over the line limit or with an odd number of quotes is refused before it is split.
pub fn with_fields<R>(record: &[u8], f: impl FnOnce(&[&[u8]]) -> R) -> Result<R, Reason> {
    if record.len() > MAX_LINE_BYTES {
        return Err(Reason::LineTooLong {
            bytes: record.len() as u64,
        });
    }
    const MAX: usize = 32;
    let mut fields: [&[u8]; MAX] = [&[]; MAX];
    let mut n = 0;
    if memchr::memchr(b'"', record).is_none() {
        for field in record.split(|&b| b == b',') {
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
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(record);
    if !matches!(reader.read_byte_record(&mut parsed), Ok(true)) {
        return Ok(f(&[]));
    }
    let all: Vec<&[u8]> = parsed.iter().collect();
    Ok(f(&all))
}

/// Validates fields (in file order; `order[i]` is the file position of input column `i`).
pub fn parse_row<'a>(
    fields: &[&'a [u8]],
    order: &[usize; 8],
    time: &TimeOptions,
) -> Result<Row<'a>, Reason> {
    if fields.len() != INPUT_COLUMNS.len() {
        return Err(Reason::ColumnCount {
            expected: INPUT_COLUMNS.len(),
            found: fields.len(),
        });
    }
    let raw: [&[u8]; 8] = std::array::from_fn(|i| fields[order[i]]);
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
    let text = |i: usize| -> Result<&'a str, Reason> {
        std::str::from_utf8(raw[i]).map_err(|_| Reason::InvalidUtf8 {
            column: INPUT_COLUMNS[i],
        })
    };
    let optional = |i: usize| -> Result<Option<&'a str>, Reason> {
        text(i).map(|s| if s.is_empty() { None } else { Some(s) })
    };
    let time_text = text(EVENT_TIME)?;
    let event_time = time
        .parse(time_text.as_bytes())
        .map(|t| t.local)
        .ok_or_else(|| Reason::Timestamp {
            value: preview(time_text),
        })?;
    let user_id = text(USER_ID)?;
    if user_id.trim().is_empty() {
        return Err(Reason::EmptyUserId);
    }
    let type_text = text(EVENT_TYPE)?;
    let event_type = event_type_code(raw[EVENT_TYPE]).ok_or_else(|| Reason::EventType {
        value: preview(type_text),
    })?;
    let miles = match optional(MILES)? {
        None => None,
        Some(s) => match s.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Some(v),
            _ => {
                return Err(Reason::Miles { value: preview(s) });
            }
        },
    };
    Ok(Row {
        event_time,
        user_id,
        event_type,
        category: optional(CATEGORY)?,
        miles,
        platform: optional(PLATFORM)?,
        utm_source: optional(UTM_SOURCE)?,
        country: optional(COUNTRY)?,
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: [usize; 8] = [0, 1, 2, 3, 4, 5, 6, 7];

    fn parse(line: &str) -> Result<Row<'_>, Reason> {
        let fields: Vec<&[u8]> = line.as_bytes().split(|&b| b == b',').collect();
        parse_row(&fields, &ORDER, &TimeOptions::default())
    }

    #[test]
    fn a_good_row_is_typed() {
        let row = parse("2025-05-04 09:50:20.784808,u_1,miles_earned,dining,516.0,web,organic,TH")
            .unwrap();
        assert_eq!(row.user_id, "u_1");
        assert_eq!(row.event_type, 0);
        assert_eq!(row.miles, Some(516.0));
        assert_eq!(row.country, Some("TH"));
        let row = parse("2025-05-04 09:50:20,u_1,share,,,web,organic,TH").unwrap();
        assert_eq!((row.category, row.miles), (None, None));
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
            parse_row(&fields, &ORDER, &TimeOptions::default()).unwrap_err(),
            Reason::InvalidUtf8 { column: "user_id" }
        );
    }

    #[test]
    fn quoted_fields_are_split_by_the_csv_crate() {
        let out = with_fields(b"a,\"b,c\",\"d\"\"e\"", |f| {
            f.iter().map(|x| x.to_vec()).collect::<Vec<_>>()
        });
        assert_eq!(
            out,
            Ok(vec![b"a".to_vec(), b"b,c".to_vec(), b"d\"e".to_vec()])
        );
        assert_eq!(with_fields(&[b','; 40], |f| f.len()), Ok(41));
    }

    #[test]
    fn hostile_records_are_refused_with_a_short_reason() {
        // A quote opened and never closed: this line only, not the rest of the file.
        assert_eq!(
            with_fields(b"2025-05-04 09:50:20,\"u_1,share,,,web,organic,TH", |f| f
                .len()),
            Err(Reason::UnbalancedQuote)
        );
        let long = vec![b'a'; MAX_LINE_BYTES + 1];
        assert_eq!(
            with_fields(&long, |f| f.len()),
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
            with_fields(line.as_bytes(), |f| parse_row(
                f,
                &ORDER,
                &TimeOptions::default()
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
        }
        .to_string();
        assert!(reason.contains("\\u{1b}"), "{reason}");
    }
}
