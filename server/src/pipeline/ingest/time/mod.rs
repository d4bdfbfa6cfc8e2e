//! Event times: the text of `event_time` -> the instant it names and its wall clock in the
//! reporting time zone. The warehouse stores that wall clock (microseconds since
//! 1970-01-01 on the reporting zone's clock) as `event_time`, so every period downstream
//! (day, week, month, cohort date, "day N") is cut in the reporting zone with no change
//! to the marts. See: METRICS.md, Time zone.
//!
//! Accepted (README, Time formats): ISO 8601 with `T` or a space, any fraction of a second
//! (1 to 9 digits, kept to the microsecond) or none, and `Z`, `±HH:MM`, `±HHMM` or `±HH`;
//! a time without an offset is in the source zone (UTC unless `--source-timezone`). Epoch
//! seconds (with an optional fraction) and milliseconds; a detected bare number is seconds
//! up to 11 integer digits and milliseconds with 12 to 14.
//!
//! `text.rs` reads and writes the text, `zone.rs` converts between zones.

mod text;
mod zone;

use chrono_tz::Tz;

use crate::pipeline::ingest::preview;
use crate::warehouse::State;

use text::{EpochUnit, is_utc_text, parse_epoch, parse_iso};
pub use text::{MAX_MILLIS_DIGITS, MAX_SECONDS_DIGITS, write_utc_text};

/// How `event_time` is written in the input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TimeFormat {
    /// ISO 8601, or a bare number as epoch seconds (up to 11 integer digits) or
    /// milliseconds (12 to 14).
    #[default]
    Auto,
    Iso,
    /// Seconds since 1970-01-01T00:00:00Z, with an optional fraction.
    EpochSeconds,
    /// Whole milliseconds since 1970-01-01T00:00:00Z.
    EpochMillis,
}

impl TimeFormat {
    pub const NAMES: [&str; 4] = ["auto", "iso", "epoch_seconds", "epoch_millis"];

    pub fn parse(name: &str) -> Result<Self, String> {
        match name.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "iso" => Ok(Self::Iso),
            "epoch_seconds" => Ok(Self::EpochSeconds),
            "epoch_millis" => Ok(Self::EpochMillis),
            _ => Err(format!(
                "unknown time format {:?}: use one of {}",
                preview(name),
                Self::NAMES.join(", ")
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Iso => "iso",
            Self::EpochSeconds => "epoch_seconds",
            Self::EpochMillis => "epoch_millis",
        }
    }
}

/// How event times are read and which clock the periods are cut on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeOptions {
    pub format: TimeFormat,
    /// The zone of times written without an offset.
    pub source_zone: Tz,
    /// The reporting zone: every period is a calendar period on its clock.
    pub zone: Tz,
}

/// One event's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTime {
    /// The wall clock of the instant in the reporting zone, microseconds since 1970-01-01:
    /// what the warehouse stores as `event_time`.
    pub local: i64,
    /// The instant, microseconds since 1970-01-01T00:00:00Z.
    pub utc: i64,
    /// The text is not the instant's UTC wall clock as [`write_utc_text`] writes it (it had
    /// an offset or was an epoch, the source zone is not UTC, or it is written another way:
    /// `T`, a fraction of other than six digits): the event id hashes [`write_utc_text`] of `utc`
    /// instead, so the same event has the same id whatever form its time came in.
    pub rewritten: bool,
}

impl TimeOptions {
    /// The event time of `text`, or `None` when it is not a time in an accepted form or
    /// names a wall clock that does not exist in the source zone (a DST gap).
    pub fn parse(&self, text: &[u8]) -> Option<EventTime> {
        let (utc, rewritten) = match self.format {
            TimeFormat::Auto if text.get(4) == Some(&b'-') => self.instant_of_iso(text)?,
            TimeFormat::Auto => (parse_epoch(text, EpochUnit::Detect)?, true),
            TimeFormat::Iso => self.instant_of_iso(text)?,
            TimeFormat::EpochSeconds => (parse_epoch(text, EpochUnit::Seconds)?, true),
            TimeFormat::EpochMillis => (parse_epoch(text, EpochUnit::Millis)?, true),
        };
        let local = if self.zone == Tz::UTC {
            utc
        } else {
            zone::utc_to_local(self.zone, utc)?
        };
        Some(EventTime {
            local,
            utc,
            rewritten,
        })
    }

    fn instant_of_iso(&self, text: &[u8]) -> Option<(i64, bool)> {
        match parse_iso(text)? {
            // The common case (the sample): zone-less UTC, as fast as before zones.
            (wall, None) if self.source_zone == Tz::UTC => Some((wall, !is_utc_text(text))),
            (wall, None) => Some((zone::local_to_utc(self.source_zone, wall)?, true)),
            (wall, Some(offset)) => Some((wall.checked_sub(i64::from(offset) * 1_000_000)?, true)),
        }
    }

    /// Refuses a run whose reporting zone is not the one the warehouse's periods are cut
    /// in. A warehouse with no record (from before zones were recorded) is UTC; one where
    /// no batch has loaded yet takes any zone.
    pub fn check_warehouse(&self, state: &State) -> Result<(), ZoneError> {
        if !state.batches.iter().any(|b| b.status == "loaded") {
            return Ok(());
        }
        let recorded = state.timezone.as_deref().unwrap_or("UTC");
        if recorded == self.zone.name() {
            return Ok(());
        }
        Err(ZoneError::Mismatch {
            warehouse: preview(recorded),
            run: self.zone.name().to_string(),
        })
    }

    /// Records the reporting zone in the state a run commits.
    pub fn record(&self, state: &mut State) {
        state.timezone = Some(self.zone.name().to_string());
    }
}

/// Parses `event_time` without an offset in UTC (the fast path of [`TimeOptions::parse`]).
pub fn parse_timestamp(text: &[u8]) -> Option<i64> {
    match parse_iso(text)? {
        (wall, None) => Some(wall),
        (_, Some(_)) => None,
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ZoneError {
    #[error(
        "unknown time zone {name:?}: use an IANA name such as Asia/Singapore, Europe/Berlin or UTC{hint}"
    )]
    Unknown { name: String, hint: String },
    /// Periods already in the warehouse were cut on another clock; mixing clocks would
    /// put the same hour in two days. Nothing is written.
    #[error(
        "this warehouse cuts periods in {warehouse}; run with --timezone {warehouse}, or load into a new warehouse (this run asked for {run}). Nothing was loaded."
    )]
    Mismatch { warehouse: String, run: String },
}

/// An IANA zone by name (exactly as the tz database spells it; a name that differs only
/// in case is suggested).
pub fn parse_zone(name: &str) -> Result<Tz, ZoneError> {
    let name = name.trim();
    if let Ok(tz) = name.parse::<Tz>() {
        return Ok(tz);
    }
    let hint = chrono_tz::TZ_VARIANTS
        .iter()
        .find(|tz| tz.name().eq_ignore_ascii_case(name))
        .map_or(String::new(), |tz| {
            format!(" (did you mean {}?)", tz.name())
        });
    Err(ZoneError::Unknown {
        name: preview(name),
        hint,
    })
}

#[cfg(test)]
mod tests;
