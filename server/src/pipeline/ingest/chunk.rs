//! Accumulates validated rows of one piece of a file into a bronze-shaped frame, slim
//! columns for the marts, and quarantined rows.

use polars::prelude::*;
use xxhash_rust::xxh3::xxh3_64;

use super::row::{Reason, Row};
use crate::pipeline::codes::{Interner, NULL_CODE};
use crate::pipeline::schema::{EVENT_ID, INPUT_COLUMNS};
use crate::pipeline::slim::{Dictionaries, Shared, SlimChunk};

/// A row that failed validation, kept with where it came from and why.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantineRow {
    pub line: u64,
    pub raw: String,
    pub reason: String,
}

/// What one piece of a file parsed into.
pub struct ParsedPiece {
    /// Input columns (typed) plus `event_id`.
    pub events: DataFrame,
    pub slim: SlimChunk,
    /// Line numbers are relative to the piece's first line (1-based).
    pub quarantine: Vec<QuarantineRow>,
    /// Data records seen (good + quarantined; blank lines excluded).
    pub records: u64,
    pub blank_lines: u64,
    pub lines: u64,
}

pub struct ChunkBuilder<'d> {
    event_time: Vec<i64>,
    user_id: StringChunkedBuilder,
    event_type: StringChunkedBuilder,
    category: StringChunkedBuilder,
    miles: Vec<Option<f64>>,
    platform: StringChunkedBuilder,
    utm_source: StringChunkedBuilder,
    country: StringChunkedBuilder,
    event_id: Vec<i64>,
    slim: SlimChunk,
    /// A parser thread's interners (its number, and their sizes when this piece began);
    /// `None`: the chunk's own.
    shared: Option<(usize, &'d mut Dictionaries, [usize; 3])>,
    hash_buf: Vec<u8>,
    pub quarantine: Vec<QuarantineRow>,
    pub records: u64,
    pub blank_lines: u64,
}

impl<'d> ChunkBuilder<'d> {
    /// A builder that codes text with `dicts`, parser thread `source`'s interners.
    pub fn with_shared(rows: usize, source: usize, dicts: &'d mut Dictionaries) -> Self {
        let lens = dicts.lens();
        Self {
            shared: Some((source, dicts, lens)),
            ..Self::with_capacity(rows)
        }
    }

    pub fn with_capacity(rows: usize) -> Self {
        let s = |name: &str| StringChunkedBuilder::new(name.into(), rows);
        Self {
            event_time: Vec::with_capacity(rows),
            user_id: s(INPUT_COLUMNS[1]),
            event_type: s(INPUT_COLUMNS[2]),
            category: s(INPUT_COLUMNS[3]),
            miles: Vec::with_capacity(rows),
            platform: s(INPUT_COLUMNS[5]),
            utm_source: s(INPUT_COLUMNS[6]),
            country: s(INPUT_COLUMNS[7]),
            event_id: Vec::with_capacity(rows),
            slim: SlimChunk::default(),
            shared: None,
            hash_buf: Vec::with_capacity(128),
            quarantine: Vec::new(),
            records: 0,
            blank_lines: 0,
        }
    }

    pub fn push(&mut self, row: &Row<'_>) {
        use crate::pipeline::schema::{CATEGORY, COUNTRY, EVENT_TYPE, PLATFORM, UTM_SOURCE};
        self.records += 1;
        self.event_time.push(row.event_time);
        self.user_id.append_value(row.user_id());
        self.event_type.append_value(&*row.fields[EVENT_TYPE]);
        append_opt(&mut self.category, row.text(CATEGORY));
        self.miles.push(row.miles);
        append_opt(&mut self.platform, row.text(PLATFORM));
        append_opt(&mut self.utm_source, row.text(UTM_SOURCE));
        append_opt(&mut self.country, row.text(COUNTRY));
        let fields: [&[u8]; 8] = std::array::from_fn(|i| row.fields[i].as_bytes());
        self.event_id.push(event_id(&mut self.hash_buf, &fields));

        let slim = &mut self.slim;
        let (users, categories, countries) = match &mut self.shared {
            Some((_, d, _)) => (&mut d.users, &mut d.categories, &mut d.countries),
            None => (&mut slim.users, &mut slim.categories, &mut slim.countries),
        };
        slim.user.push(users.intern(row.user_id()));
        slim.time.push(row.event_time);
        slim.event_type.push(row.event_type);
        slim.category.push(code(categories, row.text(CATEGORY)));
        slim.miles.push(row.miles.unwrap_or(0.0));
        slim.country.push(code(countries, row.text(COUNTRY)));
    }

    pub fn reject(&mut self, line: u64, raw: &[u8], reason: Reason) {
        self.records += 1;
        self.quarantine.push(QuarantineRow {
            line,
            raw: quarantine_text(raw),
            reason: reason.to_string(),
        });
    }

    pub fn finish(mut self, lines: u64) -> PolarsResult<ParsedPiece> {
        if let Some((source, dicts, lens)) = self.shared.take() {
            self.slim.shared = Some(Shared {
                source,
                gains: vec![(source, dicts.gained_since(lens))],
            });
        }
        let height = self.event_time.len();
        let time = Int64Chunked::from_vec(INPUT_COLUMNS[0].into(), self.event_time)
            .into_datetime(TimeUnit::Microseconds, None)
            .into_column();
        let miles: Float64Chunked = self.miles.into_iter().collect();
        let events = DataFrame::new(
            height,
            vec![
                time,
                self.user_id.finish().into_column(),
                self.event_type.finish().into_column(),
                self.category.finish().into_column(),
                miles.with_name(INPUT_COLUMNS[4].into()).into_column(),
                self.platform.finish().into_column(),
                self.utm_source.finish().into_column(),
                self.country.finish().into_column(),
                Column::new(EVENT_ID.into(), self.event_id),
            ],
        )?;
        Ok(ParsedPiece {
            events,
            slim: self.slim,
            quarantine: self.quarantine,
            records: self.records,
            blank_lines: self.blank_lines,
            lines,
        })
    }
}

/// How much of a bad line the quarantine keeps (the reason gives its full length).
pub const RAW_LIMIT: usize = 1024;

/// A bad line as the quarantine stores it: at most [`RAW_LIMIT`] bytes, invalid UTF-8
/// replaced, and NUL shown as `␀` (PostgreSQL's text cannot hold NUL; a table that refuses
/// one row refuses the whole batch).
pub fn quarantine_text(raw: &[u8]) -> String {
    let kept = &raw[..raw.len().min(RAW_LIMIT)];
    let mut text = String::from_utf8_lossy(kept).into_owned();
    if text.contains('\0') {
        text = text.replace('\0', "\u{2400}");
    }
    if kept.len() < raw.len() {
        text.push('…');
    }
    text
}

fn append_opt(builder: &mut StringChunkedBuilder, value: Option<&str>) {
    match value {
        Some(v) => builder.append_value(v),
        None => builder.append_null(),
    }
}

fn code(interner: &mut Interner, value: Option<&str>) -> u32 {
    value.map_or(NULL_CODE, |v| interner.intern(v))
}

/// Deterministic surrogate key: xxh3 of the event's eight fields as stored (trimmed, the
/// country in upper case, the declared type spelling; the time as written when it is a
/// zone-less UTC time, else the UTC time written `YYYY-MM-DD HH:MM:SS[.ffffff]`), in
/// canonical column order, separated by a unit separator. The same event has the same id
/// whatever file format brought it. Stored as i64 (bit pattern)
/// so that every backend has a native type for it.
/// See: METRICS.md, Layers (event_id is a hash of the event's own fields).
pub fn event_id(buf: &mut Vec<u8>, fields: &[&[u8]; 8]) -> i64 {
    buf.clear();
    for f in fields {
        buf.extend_from_slice(f);
        buf.push(0x1f);
    }
    xxh3_64(buf) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarantined_text_is_bounded_and_has_no_nul() {
        assert_eq!(quarantine_text(b"a,\0b,\xff"), "a,\u{2400}b,\u{fffd}");
        let long = quarantine_text(&vec![b'x'; 10 * RAW_LIMIT]);
        assert_eq!(long.len(), RAW_LIMIT + '…'.len_utf8());
    }

    #[test]
    fn event_id_depends_on_every_field_and_nothing_else() {
        let mut buf = Vec::new();
        let a: [&[u8]; 8] = [b"t", b"u", b"like", b"", b"", b"web", b"g", b"SG"];
        let mut b = a;
        b[7] = b"MY";
        let mut shifted = a;
        shifted[3] = b"x";
        shifted[4] = b"";
        assert_eq!(event_id(&mut buf, &a), event_id(&mut buf, &a));
        assert_ne!(event_id(&mut buf, &a), event_id(&mut buf, &b));
        let mut c = a;
        c[4] = b"x";
        assert_ne!(event_id(&mut buf, &shifted), event_id(&mut buf, &c));
    }
}
