//! `heymax.toml`: how heymax reads someone's own events. Every key is optional; a missing
//! file means the sample's layout (today's columns and five event types, UTC), so existing
//! warehouses and the sample keep working with no configuration.
//!
//! Found beside the input (the input folder, or the input file's folder) or passed with
//! `--config`. Errors name the file and the line that is wrong: the TOML parser's spans
//! for syntax and unknown keys, and `Spanned` values for the names checked here.
//! See: README, "Your own events"; METRICS.md, the input table.

use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use serde::Deserialize;
use toml::Spanned;

use super::time::{self, TimeFormat, TimeOptions};
pub use crate::pipeline::schema::Unknown;
use crate::pipeline::schema::{DEFAULT_EVENT_TYPES, EventTypes, INPUT_COLUMNS};

/// The file name looked for beside the input.
pub const FILE_NAME: &str = "heymax.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A syntax error or an unknown key: the parser's message names line and column.
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    #[error("{path}, line {line}: {message}")]
    Value {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// What `[input] format` may say; `Auto` goes by the file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormatChoice {
    #[default]
    Auto,
    Csv,
    Ndjson,
    Parquet,
}

/// `[values] country`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CountryCase {
    /// `sg` and `SG` are one country.
    #[default]
    Upper,
    AsIs,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    input: InputSection,
    #[serde(default)]
    columns: ColumnsSection,
    #[serde(default)]
    time: TimeSection,
    #[serde(default)]
    events: EventsSection,
    #[serde(default)]
    values: ValuesSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputSection {
    #[serde(default)]
    format: FormatChoice,
    delimiter: Option<Spanned<String>>,
}

/// heymax column = the source's name for it (a header name, an NDJSON path such as
/// `properties.country`, or a Parquet column).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnsSection {
    event_time: Option<Spanned<String>>,
    user_id: Option<Spanned<String>>,
    event_type: Option<Spanned<String>>,
    transaction_category: Option<Spanned<String>>,
    miles_amount: Option<Spanned<String>>,
    platform: Option<Spanned<String>>,
    utm_source: Option<Spanned<String>>,
    country: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeSection {
    pub format: Option<Spanned<String>>,
    pub source_timezone: Option<Spanned<String>>,
    pub timezone: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsSection {
    types: Option<Spanned<Vec<String>>>,
    #[serde(default)]
    unknown: Unknown,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ValuesSection {
    #[serde(default = "yes")]
    trim: bool,
    #[serde(default)]
    country: CountryCase,
}

impl Default for ValuesSection {
    fn default() -> Self {
        Self {
            trim: true,
            country: CountryCase::Upper,
        }
    }
}

fn yes() -> bool {
    true
}

/// How the input is read: what ingest needs from `heymax.toml` (the time keys go to
/// `TimeOptions`, see [`SourceConfig::time_options`]).
#[derive(Debug, Clone)]
pub struct SourceConfig {
    /// Where it came from (`None`: no file, the defaults).
    pub path: Option<PathBuf>,
    pub format: FormatChoice,
    /// `None`: detected from each CSV file's header line.
    pub delimiter: Option<u8>,
    /// The source's name of each input column, in [`INPUT_COLUMNS`] order.
    pub columns: [String; 8],
    pub events: EventTypes,
    pub trim: bool,
    pub country: CountryCase,
    /// `[time]`, as written (checked where the time options are built).
    pub time: TimeKeys,
}

/// The time settings given on the command line (`None`: not given).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeChoice {
    pub source_zone: Option<Tz>,
    pub zone: Option<Tz>,
}

/// `[time]`'s values with the line each is on.
#[derive(Debug, Clone, Default)]
pub struct TimeKeys {
    pub format: Option<(String, usize)>,
    pub source_timezone: Option<(String, usize)>,
    pub timezone: Option<(String, usize)>,
}

impl Default for SourceConfig {
    fn default() -> Self {
        Self {
            path: None,
            format: FormatChoice::Auto,
            delimiter: None,
            columns: INPUT_COLUMNS.map(String::from),
            events: EventTypes::default(),
            trim: true,
            country: CountryCase::Upper,
            time: TimeKeys::default(),
        }
    }
}

impl SourceConfig {
    /// The configuration for `input`: `explicit` if given, else `heymax.toml` beside the
    /// input if there is one, else the defaults.
    pub fn find(input: &Path, explicit: Option<&Path>) -> Result<Self, ConfigError> {
        if let Some(path) = explicit {
            return Self::load(path);
        }
        let folder = if input.is_dir() {
            Some(input)
        } else {
            input.parent()
        };
        match folder.map(|f| f.join(FILE_NAME)) {
            Some(path) if path.is_file() => Self::load(&path),
            _ => Ok(Self::default()),
        }
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let file: File = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        let line = |span: std::ops::Range<usize>| {
            text.as_bytes()[..span.start.min(text.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1
        };
        let bad = |span: std::ops::Range<usize>, message: String| ConfigError::Value {
            path: path.to_path_buf(),
            line: line(span),
            message,
        };
        let delimiter = match &file.input.delimiter {
            None => None,
            Some(d) => match d.get_ref().as_str() {
                "auto" => None,
                "," => Some(b','),
                ";" => Some(b';'),
                "\t" | "tab" => Some(b'\t'),
                "|" => Some(b'|'),
                other => {
                    return Err(bad(
                        d.span(),
                        format!(
                            "delimiter {:?} is not one of \"auto\", \",\", \";\", \"\\t\", \"|\"",
                            short(other)
                        ),
                    ));
                }
            },
        };
        let c = &file.columns;
        let given = [
            &c.event_time,
            &c.user_id,
            &c.event_type,
            &c.transaction_category,
            &c.miles_amount,
            &c.platform,
            &c.utm_source,
            &c.country,
        ];
        let mut columns = INPUT_COLUMNS.map(String::from);
        for (i, name) in given.iter().enumerate() {
            if let Some(name) = name {
                let value = name.get_ref().trim();
                if value.is_empty() {
                    return Err(bad(
                        name.span(),
                        format!(
                            "columns.{} is empty: name the source column",
                            INPUT_COLUMNS[i]
                        ),
                    ));
                }
                if let Some(j) = given[..i].iter().position(|g| {
                    g.as_ref()
                        .is_some_and(|g| g.get_ref().trim().eq_ignore_ascii_case(value))
                }) {
                    return Err(bad(
                        name.span(),
                        format!(
                            "columns.{} and columns.{} both name {:?}: each heymax column needs its own source column",
                            INPUT_COLUMNS[j],
                            INPUT_COLUMNS[i],
                            short(value)
                        ),
                    ));
                }
                columns[i] = value.to_string();
            }
        }
        let events = match &file.events.types {
            None => DEFAULT_EVENT_TYPES.iter().map(|s| s.to_string()).collect(),
            Some(types) => {
                let list = types.get_ref();
                if let Err(message) = EventTypes::check(list) {
                    return Err(bad(types.span(), message));
                }
                list.iter().map(|t| t.trim().to_string()).collect()
            }
        };
        let keys = |v: &Option<Spanned<String>>| {
            v.as_ref()
                .map(|s| (s.get_ref().trim().to_string(), line(s.span())))
        };
        Ok(Self {
            path: Some(path.to_path_buf()),
            format: file.input.format,
            delimiter,
            columns,
            events: EventTypes::new(events, file.events.unknown),
            trim: file.values.trim,
            country: file.values.country,
            time: TimeKeys {
                format: keys(&file.time.format),
                source_timezone: keys(&file.time.source_timezone),
                timezone: keys(&file.time.timezone),
            },
        })
    }

    /// How event times are read: each of `cli`'s settings (`--timezone`,
    /// `--source-timezone`) wins over `[time]`'s, which wins over the default (ISO or epoch
    /// detected, UTC). A bad `[time]` value is an error naming its line.
    pub fn time_options(&self, cli: TimeChoice) -> Result<TimeOptions, ConfigError> {
        let zone = |key: &Option<(String, usize)>| -> Result<Option<Tz>, ConfigError> {
            key.as_ref()
                .map(|(name, line)| {
                    time::parse_zone(name).map_err(|e| self.time_error(*line, e.to_string()))
                })
                .transpose()
        };
        let format = match &self.time.format {
            Some((name, line)) => {
                TimeFormat::parse(name).map_err(|message| self.time_error(*line, message))?
            }
            None => TimeFormat::Auto,
        };
        Ok(TimeOptions {
            format,
            source_zone: match cli.source_zone {
                Some(tz) => tz,
                None => zone(&self.time.source_timezone)?.unwrap_or(Tz::UTC),
            },
            zone: match cli.zone {
                Some(tz) => tz,
                None => zone(&self.time.timezone)?.unwrap_or(Tz::UTC),
            },
        })
    }

    /// A `[time]` value's error, pointing at its line.
    pub fn time_error(&self, line: usize, message: String) -> ConfigError {
        ConfigError::Value {
            path: self.path.clone().unwrap_or_else(|| FILE_NAME.into()),
            line,
            message,
        }
    }
}

/// A value as an error quotes it: short and escaped by the caller's `{:?}`.
fn short(value: &str) -> String {
    super::row::preview(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SourceConfig, ConfigError> {
        SourceConfig::parse(text, Path::new("heymax.toml"))
    }

    #[test]
    fn an_empty_file_is_the_sample_layout() {
        let c = parse("").unwrap();
        assert_eq!(c.columns, INPUT_COLUMNS.map(String::from));
        assert_eq!(c.events.names().len(), 5);
        assert_eq!(c.events.unknown(), Unknown::Quarantine);
        assert!(c.trim);
        assert_eq!(c.delimiter, None);
    }

    #[test]
    fn a_full_file_maps_columns_types_and_values() {
        let c = parse(
            r#"
[input]
format = "ndjson"
delimiter = ";"

[columns]
user_id = "distinct_id"
event_time = "timestamp"
event_type = "event"
country = "properties.country"

[time]
timezone = "Asia/Singapore"

[events]
types = ["app_open", "signup", "purchase"]
unknown = "keep"

[values]
trim = false
country = "as_is"
"#,
        )
        .unwrap();
        assert_eq!(c.format, FormatChoice::Ndjson);
        assert_eq!(c.delimiter, Some(b';'));
        assert_eq!(c.columns[1], "distinct_id");
        assert_eq!(c.columns[7], "properties.country");
        assert_eq!(c.columns[5], "platform");
        assert_eq!(c.events.names(), ["app_open", "signup", "purchase"]);
        assert_eq!(c.events.unknown(), Unknown::Keep);
        assert!(!c.trim);
        assert_eq!(c.country, CountryCase::AsIs);
        assert_eq!(c.time.timezone, Some(("Asia/Singapore".into(), 13)));
    }

    #[test]
    fn errors_point_at_the_wrong_line() {
        let cases = [
            ("[columns]\nuser_id = \"a\"\nevent_tim = \"t\"\n", "line 3"),
            ("[columns]\nuser_id = \n", "line 2"),
            ("[input]\n\ndelimiter = \"::\"\n", "line 3"),
            (
                "[columns]\nuser_id = \"a\"\n\nevent_type = \"A\"\n",
                "line 4",
            ),
            ("[events]\ntypes = []\n", "line 2"),
            ("[events]\nunknown = \"drop\"\n", "line 2"),
            ("[values]\ncountry = \"lower\"\n", "line 2"),
            ("[columns]\ncountry = \"  \"\n", "line 2"),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
            assert!(err.starts_with("heymax.toml"), "{err}");
        }
    }

    #[test]
    fn found_beside_the_input_or_passed() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("events.csv");
        std::fs::write(&input, "x").unwrap();
        assert!(SourceConfig::find(&input, None).unwrap().path.is_none());
        std::fs::write(dir.path().join(FILE_NAME), "[events]\nunknown = \"keep\"\n").unwrap();
        let found = SourceConfig::find(&input, None).unwrap();
        assert_eq!(found.events.unknown(), Unknown::Keep);
        assert_eq!(
            SourceConfig::find(dir.path(), None).unwrap().path,
            Some(dir.path().join(FILE_NAME))
        );
        let other = dir.path().join("other.toml");
        std::fs::write(&other, "[values]\ntrim = false\n").unwrap();
        assert!(!SourceConfig::find(&input, Some(&other)).unwrap().trim);
        assert!(matches!(
            SourceConfig::find(&input, Some(&dir.path().join("none.toml"))),
            Err(ConfigError::Io { .. })
        ));
    }
}
