//! NDJSON: one JSON object per line (what Segment, RudderStack, PostHog and BigQuery
//! exports write). Each input column is read at its configured path (`properties.country`
//! walks into nested objects); a string is taken as it is, a number or boolean as JSON
//! writes it, null or a missing key is empty. A line that is not an object, or a column
//! whose value is an object or array, is quarantined with the reason.
//!
//! Lines are split, limited and parsed on all cores exactly as CSV lines are (`split.rs`).

use std::path::Path;

use serde_json::Value;

use super::IngestError;
use super::config::SourceConfig;
use super::header::{self, Header, REQUIRED};
use super::input::Format;
use super::row::{Reason, preview};
use crate::pipeline::schema::INPUT_COLUMNS;

/// The paths of the configured columns, checked against the file's first object: a
/// required path missing there is a mapping mistake, not a bad line.
pub fn read_header(path: &Path, line: &[u8], config: &SourceConfig) -> Result<Header, IngestError> {
    let expected = header::expected(config);
    header::check_first_line(path, line, &expected)?;
    let text = header::first_line_text(line);
    if text.iter().all(u8::is_ascii_whitespace) {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
            expected,
        });
    }
    let mut header = header::blank(path, Format::Ndjson);
    header.paths =
        std::array::from_fn(|i| config.columns[i].split('.').map(String::from).collect());
    let first: Value = serde_json::from_slice(text).map_err(|e| IngestError::BadHeader {
        path: path.to_path_buf(),
        expected: expected.clone(),
        found: preview(&String::from_utf8_lossy(text))
            .escape_debug()
            .to_string(),
        hint: format!(
            "the first line is not a JSON object ({e}): is this NDJSON, one object per line?"
        ),
    })?;
    let Value::Object(object) = &first else {
        return Err(IngestError::BadHeader {
            path: path.to_path_buf(),
            expected,
            found: preview(&first.to_string()).escape_debug().to_string(),
            hint: "the first line is not a JSON object: NDJSON holds one object per line".into(),
        });
    };
    let keys: Vec<String> = object.keys().cloned().collect();
    for (i, p) in header.paths.iter().enumerate() {
        let present = lookup(&first, p).is_some();
        let name = &config.columns[i];
        if !present && REQUIRED.contains(&i) {
            return Err(IngestError::BadHeader {
                path: path.to_path_buf(),
                expected,
                found: keys
                    .iter()
                    .take(12)
                    .map(|k| preview(k).escape_debug().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                hint: format!(
                    "the first object has no {:?} (for {}): map the path in heymax.toml ([columns] {} = \"properties.your_key\"); `heymax init <file>` writes one for your file",
                    preview(name),
                    INPUT_COLUMNS[i],
                    INPUT_COLUMNS[i]
                ),
            });
        }
        if !present {
            header.detected.missing.push(INPUT_COLUMNS[i].to_string());
        } else if name != INPUT_COLUMNS[i] {
            header.detected.mapped.push(format!(
                "{} <- {}",
                INPUT_COLUMNS[i],
                preview(name).escape_debug()
            ));
        }
    }
    let used: Vec<&str> = header
        .paths
        .iter()
        .filter_map(|p| p.first().map(String::as_str))
        .collect();
    header.detected.ignored = keys
        .into_iter()
        .filter(|k| !used.contains(&k.as_str()))
        .collect();
    Ok(header)
}

fn lookup<'v>(value: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter()
        .try_fold(value, |v, key| v.as_object()?.get(key))
}

/// The input columns' texts of one NDJSON line, in [`INPUT_COLUMNS`] order.
pub fn fields(record: &[u8], paths: &[Vec<String>; 8]) -> Result<[String; 8], Reason> {
    let value: Value = serde_json::from_slice(record).map_err(|e| Reason::Json {
        message: e.to_string(),
    })?;
    if !value.is_object() {
        return Err(Reason::Json {
            message: "the line is not a JSON object".into(),
        });
    }
    let mut out: [String; 8] = Default::default();
    for (i, path) in paths.iter().enumerate() {
        out[i] = match lookup(&value, path) {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Bool(b)) => b.to_string(),
            Some(Value::Array(_) | Value::Object(_)) => {
                return Err(Reason::Nested {
                    column: INPUT_COLUMNS[i],
                });
            }
        };
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(config: &SourceConfig) -> [Vec<String>; 8] {
        std::array::from_fn(|i| config.columns[i].split('.').map(String::from).collect())
    }

    #[test]
    fn nested_paths_numbers_and_nulls() {
        let mut config = SourceConfig::default();
        config.columns[1] = "distinct_id".into();
        config.columns[7] = "properties.country".into();
        config.columns[4] = "properties.miles".into();
        let line = br#"{"event_time":"2025-05-04T09:50:20Z","distinct_id":"u_1","event_type":"like","properties":{"country":"SG","miles":516.0},"platform":null}"#;
        let f = fields(line, &paths(&config)).unwrap();
        assert_eq!(f[0], "2025-05-04T09:50:20Z");
        assert_eq!(f[1], "u_1");
        assert_eq!(f[4], "516.0");
        assert_eq!(f[5], "");
        assert_eq!(f[7], "SG");
    }

    #[test]
    fn bad_lines_say_why() {
        let p = paths(&SourceConfig::default());
        assert!(matches!(fields(b"[1,2]", &p), Err(Reason::Json { .. })));
        assert!(matches!(fields(b"{\"a\":", &p), Err(Reason::Json { .. })));
        assert_eq!(
            fields(br#"{"user_id":{"id":1}}"#, &p),
            Err(Reason::Nested { column: "user_id" })
        );
    }

    #[test]
    fn the_first_object_must_hold_the_required_paths() {
        let config = SourceConfig::default();
        let ok = br#"{"event_time":"2025-05-04 09:50:20","user_id":"u","event_type":"like","session":"s"}"#;
        let h = read_header(Path::new("a.ndjson"), ok, &config).unwrap();
        assert_eq!(h.detected.ignored, ["session"]);
        assert!(h.detected.missing.contains(&"country".to_string()));
        let err = read_header(
            Path::new("a.ndjson"),
            br#"{"timestamp":1,"user_id":"u"}"#,
            &config,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("no \"event_time\""), "{err}");
        let err = read_header(Path::new("a.ndjson"), b"not json", &config)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a JSON object"), "{err}");
    }
}
