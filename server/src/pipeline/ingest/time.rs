//! Event times: the text of `event_time` -> microseconds since 1970-01-01 on the wall
//! clock of the reporting time zone (the periods are cut on that clock).
//! See: METRICS.md, the input table.

use crate::pipeline::schema::MICROS_PER_DAY;

/// How event times are read and which clock the periods are cut on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TimeOptions {}

impl TimeOptions {
    /// The event time of `text` as stored in the warehouse, or `None` when it is not a time.
    pub fn parse(&self, text: &[u8]) -> Option<i64> {
        parse_timestamp(text)
    }
}

/// Parses `YYYY-MM-DD[ T]HH:MM:SS[.f{1,9}]` (no zone) into microseconds since 1970-01-01.
///
/// Hand-written because it runs once per event (10M times in the benchmark) and the input has
/// one fixed layout; chrono still validates the calendar date.
pub fn parse_timestamp(s: &[u8]) -> Option<i64> {
    if s.len() < 19 || s[4] != b'-' || s[7] != b'-' || !matches!(s[10], b' ' | b'T') {
        return None;
    }
    if s[13] != b':' || s[16] != b':' {
        return None;
    }
    let num = |a: usize, b: usize| -> Option<u32> {
        s[a..b].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut micros = 0i64;
    if s.len() > 19 {
        let frac = &s[20..];
        if s[19] != b'.' || frac.is_empty() || frac.len() > 9 {
            return None;
        }
        let mut value = 0i64;
        for (i, &c) in frac.iter().enumerate() {
            if !c.is_ascii_digit() {
                return None;
            }
            if i < 6 {
                value = value * 10 + i64::from(c - b'0');
            }
        }
        micros = value * 10i64.pow(6u32.saturating_sub(frac.len() as u32));
    }
    use chrono::Datelike;
    let date = chrono::NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let days = i64::from(date.num_days_from_ce()) - 719_163; // 1970-01-01
    let secs = i64::from(hour * 3600 + minute * 60 + second);
    Some(days * MICROS_PER_DAY + secs * 1_000_000 + micros)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_to_microseconds() {
        assert_eq!(parse_timestamp(b"1970-01-01 00:00:00"), Some(0));
        assert_eq!(
            parse_timestamp(b"1970-01-02 00:00:01.5"),
            Some(86_401_500_000)
        );
        assert_eq!(
            parse_timestamp(b"2025-05-04 09:50:20.784808"),
            Some(1_746_352_220_784_808)
        );
        assert_eq!(
            parse_timestamp(b"2025-05-04T09:50:20"),
            Some(1_746_352_220_000_000)
        );
        for bad in [
            "2025-02-30 00:00:00",
            "2025-05-04",
            "2025-05-04 25:00:00",
            "2025-05-04 09:50:20.",
            "2025-05-04 09:50:20+01",
            "yesterday",
        ] {
            assert_eq!(parse_timestamp(bad.as_bytes()), None, "{bad}");
        }
    }
}
