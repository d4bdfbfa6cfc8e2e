//! `heymax init`'s guess: looks at the start of an event file (its format, compression,
//! delimiter, column names, the first rows) and proposes the `heymax.toml` that reads
//! it: each input column mapped to the source column whose name is a known alias (the
//! names Segment, RudderStack, PostHog, Amplitude and BigQuery exports use), the time
//! format seen in the first rows, and the event types seen there.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde_json::Value;

use super::IngestError;
use super::config::FILE_NAME;
use super::input::{self, Compression, Format};
use super::split::MAX_LINE_BYTES;
use crate::pipeline::schema::{DEFAULT_EVENT_TYPES, EVENT_TIME, EVENT_TYPE, INPUT_COLUMNS};

/// Rows looked at for the time format and the event types.
const SAMPLE_ROWS: usize = 10_000;
/// Event types listed at most (more is a sign the column is not the event type).
const MAX_TYPES: usize = 64;

/// Source names taken for each input column, most specific first (compared
/// case-insensitively with the whole name, then with its last `.` part).
const ALIASES: [&[&str]; 8] = [
    &[
        "event_time",
        "timestamp",
        "original_timestamp",
        "event_timestamp",
        "time",
        "ts",
        "occurred_at",
        "created_at",
        "sent_at",
        "received_at",
        "datetime",
        "date",
    ],
    &[
        "user_id",
        "userid",
        "distinct_id",
        "user_pseudo_id",
        "person_id",
        "customer_id",
        "anonymous_id",
        "uid",
        "user",
    ],
    &[
        "event_type",
        "event_name",
        "event",
        "type",
        "action",
        "name",
    ],
    &["transaction_category", "category", "product_category"],
    &["miles_amount", "miles", "amount", "value", "revenue"],
    &["platform", "os", "$os", "device_type", "device"],
    &["utm_source", "$utm_source", "source", "campaign_source"],
    &[
        "country",
        "country_code",
        "$geoip_country_code",
        "geo_country",
    ],
];

/// What `heymax init` saw and proposes.
#[derive(Debug, Clone)]
pub struct Guess {
    pub format: Format,
    pub compression: Compression,
    /// CSV only.
    pub delimiter: Option<u8>,
    /// Every column (or NDJSON path) the file has.
    pub names: Vec<String>,
    /// The source column proposed for each input column.
    pub mapped: [Option<String>; 8],
    pub time_format: &'static str,
    /// Example event times, as written.
    pub time_examples: Vec<String>,
    pub event_types: Vec<String>,
    pub rows_seen: usize,
}

pub fn guess(path: &Path) -> Result<Guess, IngestError> {
    let format = input::format_of(path).unwrap_or_else(|| sniff(path));
    let (names, rows, delimiter) = match format {
        Format::Parquet => super::parquet::sample(path, SAMPLE_ROWS)?,
        Format::Csv | Format::Ndjson => text_sample(path, format)?,
    };
    let mut mapped: [Option<String>; 8] = Default::default();
    for (i, aliases) in ALIASES.iter().enumerate() {
        mapped[i] = pick(&names, aliases, &mapped);
    }
    let column = |i: usize| {
        mapped[i]
            .as_ref()
            .and_then(|m| names.iter().position(|n| n == m))
    };
    let values = |i: usize| -> Vec<&str> {
        column(i).map_or(Vec::new(), |c| {
            rows.iter()
                .filter_map(|r| r.get(c).map(String::as_str))
                .filter(|v| !v.is_empty())
                .collect()
        })
    };
    let times = values(EVENT_TIME);
    // Types match in any case, so `APP_OPEN` and `app_open` are one type: the spelling
    // seen most often is the one declared.
    let mut spellings: BTreeMap<String, BTreeMap<&str, usize>> = BTreeMap::new();
    for t in values(EVENT_TYPE).into_iter().map(str::trim) {
        *spellings
            .entry(t.to_ascii_lowercase())
            .or_default()
            .entry(t)
            .or_default() += 1;
    }
    let types: Vec<&str> = spellings
        .values()
        .filter_map(|seen| {
            seen.iter()
                .max_by_key(|&(spelling, n)| (*n, std::cmp::Reverse(*spelling)))
                .map(|(spelling, _)| *spelling)
        })
        .collect();
    Ok(Guess {
        format,
        compression: input::compression_of(path)?,
        delimiter,
        mapped,
        time_format: time_format(&times),
        time_examples: times.iter().take(3).map(|t| t.to_string()).collect(),
        event_types: types
            .into_iter()
            .take(MAX_TYPES)
            .map(String::from)
            .collect(),
        rows_seen: rows.len(),
        names,
    })
}

/// A file without a known extension: `{` starts NDJSON, `PAR1` is Parquet, else CSV.
fn sniff(path: &Path) -> Format {
    let mut start = [0u8; 4];
    let read = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut start))
        .unwrap_or(0);
    match &start[..read] {
        b"PAR1" => Format::Parquet,
        [b'{', ..] => Format::Ndjson,
        _ => Format::Csv,
    }
}

/// The first alias some source name answers to, not taken by an earlier column.
fn pick(names: &[String], aliases: &[&str], taken: &[Option<String>; 8]) -> Option<String> {
    let free = |n: &&String| !taken.iter().flatten().any(|t| t == *n);
    let last = |n: &str| n.rsplit('.').next().unwrap_or(n).to_ascii_lowercase();
    for alias in aliases {
        if let Some(n) = names
            .iter()
            .filter(free)
            .find(|n| n.eq_ignore_ascii_case(alias))
        {
            return Some(n.clone());
        }
    }
    for alias in aliases {
        if let Some(n) = names.iter().filter(free).find(|n| last(n) == *alias) {
            return Some(n.clone());
        }
    }
    None
}

/// The time format the examples are in: epoch when every one is a number, else `auto`
/// (ISO 8601 and the sample's form are both told apart per value).
fn time_format(examples: &[&str]) -> &'static str {
    let numeric = |t: &&&str| {
        let t = t.trim();
        !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit() || b == b'.')
    };
    if examples.is_empty() || !examples.iter().all(|t| numeric(&t)) {
        return "auto";
    }
    let digits = |t: &str| t.trim().split('.').next().map_or(0, str::len);
    if examples.iter().all(|t| digits(t) >= 12) {
        "epoch_millis"
    } else {
        "epoch_seconds"
    }
}

/// A file's names, its first rows as texts, and (CSV) its delimiter.
pub type Sample = (Vec<String>, Vec<Vec<String>>, Option<u8>);

fn text_sample(path: &Path, format: Format) -> Result<Sample, IngestError> {
    let io = |source| IngestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = BufReader::new(input::open(path)?.reader);
    let mut lines = Vec::new();
    let mut line = Vec::new();
    while lines.len() <= SAMPLE_ROWS {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut line)
            .map_err(io)?;
        if n == 0 {
            break;
        }
        let text = super::header::first_line_text(&line);
        if !text.iter().all(u8::is_ascii_whitespace) {
            lines.push(text.to_vec());
        }
    }
    let Some(first) = lines.first() else {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
            expected: INPUT_COLUMNS.join(", "),
        });
    };
    if format == Format::Csv {
        let delimiter = super::header::detect_delimiter(first);
        let split = |l: &[u8]| -> Vec<String> {
            csv::ReaderBuilder::new()
                .has_headers(false)
                .delimiter(delimiter)
                .from_reader(l)
                .records()
                .next()
                .and_then(Result::ok)
                .map(|r| r.iter().map(|f| f.trim().to_string()).collect())
                .unwrap_or_default()
        };
        let names = split(first);
        let rows = lines[1..].iter().map(|l| split(l)).collect();
        return Ok((names, rows, Some(delimiter)));
    }
    // NDJSON: the paths of every scalar value in the objects, in first-seen order.
    let objects: Vec<Value> = lines
        .iter()
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect();
    let mut names: Vec<String> = Vec::new();
    for o in &objects {
        flatten(o, String::new(), &mut names);
    }
    let rows = objects
        .iter()
        .map(|o| {
            names
                .iter()
                .map(|n| {
                    let found = n.split('.').try_fold(o, |v, k| v.as_object()?.get(k));
                    match found {
                        Some(Value::String(s)) => s.clone(),
                        Some(Value::Null) | None => String::new(),
                        Some(v) => v.to_string(),
                    }
                })
                .collect()
        })
        .collect();
    Ok((names, rows, None))
}

fn flatten(value: &Value, prefix: String, names: &mut Vec<String>) {
    if let Value::Object(map) = value {
        for (k, v) in map {
            let path = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            if v.is_object() {
                flatten(v, path, names);
            } else if !names.contains(&path) && names.len() < 500 {
                names.push(path);
            }
        }
    }
}

/// A TOML string literal.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

impl Guess {
    /// The commented `heymax.toml` for the file.
    pub fn to_toml(&self, file: &Path) -> String {
        let mut out = String::new();
        let mut line = |s: String| {
            out.push_str(&s);
            out.push('\n');
        };
        line(format!(
            "# heymax.toml: how heymax reads {} (written by `heymax init`; edit freely).",
            file.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        ));
        line(
            "# heymax finds it beside the input, or takes it with `heymax run --config <file>`."
                .into(),
        );
        line(String::new());
        line("[input]".into());
        line(format!(
            "format = {}          # auto (by extension), csv, ndjson or parquet; seen: {}{}",
            quoted("auto"),
            self.format.name(),
            match self.compression {
                Compression::None => "",
                Compression::Gzip => ", gzip",
                Compression::Zstd => ", zstd",
            }
        ));
        if let Some(d) = self.delimiter {
            let d = if d == b'\t' {
                "\\t".to_string()
            } else {
                (d as char).to_string()
            };
            line(format!(
                "delimiter = \"{d}\"       # auto, \",\", \";\", \"\\t\" or \"|\""
            ));
        }
        line(String::new());
        line("# heymax column = the column in your file (for NDJSON a path such as properties.country).".into());
        line(
            "# Required: event_time, user_id, event_type. A missing optional column is empty."
                .into(),
        );
        line("[columns]".into());
        for (i, m) in self.mapped.iter().enumerate() {
            match m {
                Some(name) => line(format!("{} = {}", INPUT_COLUMNS[i], quoted(name))),
                None => line(format!(
                    "# {} = \"?\"   # not found: name yours",
                    INPUT_COLUMNS[i]
                )),
            }
        }
        let others: Vec<&String> = self
            .names
            .iter()
            .filter(|n| !self.mapped.iter().flatten().any(|m| m == *n))
            .take(40)
            .collect();
        if !others.is_empty() {
            let list: Vec<String> = others.iter().map(|n| n.to_string()).collect();
            line(format!("# not read: {}", list.join(", ")));
        }
        line(String::new());
        line("[time]".into());
        line(format!(
            "format = {}   # auto, iso, epoch_seconds or epoch_millis; first values: {}",
            quoted(self.time_format),
            self.time_examples.join(" | ")
        ));
        line("# Times without an offset are in this zone:".into());
        line("source_timezone = \"UTC\"".into());
        line("# Days, weeks, months and cohorts are cut in this zone (an IANA name, e.g. Asia/Singapore):".into());
        line("timezone = \"UTC\"".into());
        line(String::new());
        line("[events]".into());
        line(format!(
            "# The types seen in the first {} rows; growth counts any event, the interactions mart these.",
            self.rows_seen
        ));
        let types: Vec<String> = if self.event_types.is_empty() {
            DEFAULT_EVENT_TYPES.iter().map(|t| quoted(t)).collect()
        } else {
            self.event_types.iter().map(|t| quoted(t)).collect()
        };
        line(format!("types = [{}]", types.join(", ")));
        line(
            "# quarantine (a type not listed is set aside with its reason) or keep (loaded and"
                .into(),
        );
        line("# counted as activity, left out of the interactions mart):".into());
        line("unknown = \"quarantine\"".into());
        line(String::new());
        line("[values]".into());
        line("trim = true          # spaces around values are dropped".into());
        line("country = \"upper\"    # upper (sg and SG are one country) or as_is".into());
        out
    }

    /// The file `heymax init` writes for `file` unless told otherwise.
    pub fn default_path(file: &Path) -> std::path::PathBuf {
        file.parent().unwrap_or(Path::new(".")).join(FILE_NAME)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::ingest::config::SourceConfig;

    #[test]
    fn a_segment_style_csv_is_mapped_and_the_guess_parses() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.csv");
        std::fs::write(
            &path,
            "TIMESTAMP;distinct_id;event;session_id;Country\n1746352220123;u1;app_open;s;sg\n1746352221123;u2;purchase;s;MY\n1746352222123;u2;PURCHASE;s;MY\n1746352223123;u3;purchase;s;MY\n",
        )
        .unwrap();
        let g = guess(&path).unwrap();
        assert_eq!(g.format, Format::Csv);
        assert_eq!(g.delimiter, Some(b';'));
        assert_eq!(g.mapped[0].as_deref(), Some("TIMESTAMP"));
        assert_eq!(g.mapped[1].as_deref(), Some("distinct_id"));
        assert_eq!(g.mapped[2].as_deref(), Some("event"));
        assert_eq!(g.mapped[7].as_deref(), Some("Country"));
        assert_eq!(g.time_format, "epoch_millis");
        assert_eq!(g.event_types, ["app_open", "purchase"]);
        let text = g.to_toml(&path);
        let config = SourceConfig::parse(&text, Path::new("heymax.toml")).unwrap();
        assert_eq!(config.columns[1], "distinct_id");
        assert_eq!(config.delimiter, Some(b';'));
        assert_eq!(config.events.names(), ["app_open", "purchase"]);
    }

    #[test]
    fn ndjson_paths_are_found_in_nested_objects() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        std::fs::write(
            &path,
            r#"{"event":"signup","userId":"u1","timestamp":"2025-05-04T09:50:20Z","properties":{"country":"SG","platform":"ios"}}"#,
        )
        .unwrap();
        let g = guess(&path).unwrap();
        assert_eq!(g.format, Format::Ndjson);
        assert_eq!(g.mapped[1].as_deref(), Some("userId"));
        assert_eq!(g.mapped[7].as_deref(), Some("properties.country"));
        assert_eq!(g.mapped[5].as_deref(), Some("properties.platform"));
        assert_eq!(g.time_format, "auto");
        SourceConfig::parse(&g.to_toml(&path), Path::new("heymax.toml")).unwrap();
    }
}
