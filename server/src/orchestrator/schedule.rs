//! `--schedule "<cron expression>"`: when the next scheduled run starts. Takes the usual
//! five fields (`minute hour day month weekday`, e.g. `0 * * * *` hourly) or six with
//! seconds first (`*/10 * * * * *`), evaluated in UTC, parsed by the `cron` crate.

use std::str::FromStr;

use chrono::{DateTime, Utc};

#[derive(Debug, thiserror::Error)]
#[error(
    "--schedule {expr:?} is not a cron expression ({reason}); use five fields \"minute hour day month weekday\", e.g. \"0 * * * *\" for hourly or \"*/15 * * * *\" every 15 minutes (UTC)"
)]
pub struct ScheduleError {
    expr: String,
    reason: String,
}

/// When the schedule fires next, shared between its thread and the API.
pub type NextRun = std::sync::Arc<std::sync::Mutex<Option<DateTime<Utc>>>>;

#[derive(Debug, Clone)]
pub struct Schedule {
    expr: String,
    cron: cron::Schedule,
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(expr: &str) -> Result<Self, Self::Err> {
        let fields = expr.split_whitespace().count();
        // The crate wants seconds first; a classic five-field line starts on the minute.
        let full = if fields == 5 {
            format!("0 {expr}")
        } else {
            expr.to_string()
        };
        let err = |reason: String| ScheduleError {
            expr: expr.to_string(),
            reason,
        };
        if !(5..=7).contains(&fields) {
            return Err(err(format!("{fields} fields")));
        }
        let cron = cron::Schedule::from_str(&full).map_err(|e| err(e.to_string()))?;
        Ok(Self {
            expr: expr.to_string(),
            cron,
        })
    }
}

impl Schedule {
    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The first time strictly after `now` the schedule fires.
    pub fn next_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron.after(&now).next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn five_fields_fire_on_the_minute() {
        let s: Schedule = "*/15 * * * *".parse().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 10, 7, 30).unwrap();
        assert_eq!(
            s.next_after(now),
            Some(Utc.with_ymd_and_hms(2026, 11, 26, 10, 15, 0).unwrap())
        );
        let hourly: Schedule = "0 * * * *".parse().unwrap();
        assert_eq!(
            hourly.next_after(now),
            Some(Utc.with_ymd_and_hms(2026, 11, 26, 11, 0, 0).unwrap())
        );
    }

    #[test]
    fn six_fields_have_seconds() {
        let s: Schedule = "*/2 * * * * *".parse().unwrap();
        let now = Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 1).unwrap();
        assert_eq!(
            s.next_after(now),
            Some(Utc.with_ymd_and_hms(2026, 11, 26, 10, 0, 2).unwrap())
        );
    }

    #[test]
    fn a_wrong_expression_says_what_to_write() {
        let err = "every hour".parse::<Schedule>().unwrap_err().to_string();
        assert!(
            err.contains("\"every hour\"") && err.contains("0 * * * *"),
            "{err}"
        );
        assert!("61 * * * *".parse::<Schedule>().is_err());
    }
}
