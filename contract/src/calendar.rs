//! Periods: the three grains, a day number (days since 1970-01-01) -> period ordinal for
//! each grain, and back to the period's first and last day. The server cuts marts with
//! it and the browser buckets dates with it, so both agree on every period.
//! See: METRICS.md, Periods.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// Growth accounting grain. See: METRICS.md, Periods.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
pub enum Grain {
    Day,
    #[default]
    Week,
    Month,
}

impl Grain {
    pub const ALL: [Grain; 3] = [Grain::Day, Grain::Week, Grain::Month];

    /// `day`, `week`, `month`: in URLs, file paths and labels ("last complete week").
    pub fn name(self) -> &'static str {
        match self {
            Grain::Day => "day",
            Grain::Week => "week",
            Grain::Month => "month",
        }
    }

    pub fn parse(text: &str) -> Option<Grain> {
        Grain::ALL.into_iter().find(|g| g.name() == text)
    }

    /// Consecutive periods have consecutive ordinals.
    pub fn ordinal(self, day: i64) -> i64 {
        match self {
            Grain::Day => day,
            // 1970-01-01 was a Thursday: shifting by 3 makes ISO weeks (Monday first) line up.
            Grain::Week => (day + 3).div_euclid(7),
            Grain::Month => {
                let d = date(day);
                i64::from(d.year()) * 12 + i64::from(d.month0())
            }
        }
    }

    /// First day of the period with this ordinal (its label).
    pub fn start(self, ordinal: i64) -> i64 {
        match self {
            Grain::Day => ordinal,
            Grain::Week => ordinal * 7 - 3,
            Grain::Month => day_number(
                NaiveDate::from_ymd_opt(
                    ordinal.div_euclid(12) as i32,
                    ordinal.rem_euclid(12) as u32 + 1,
                    1,
                )
                .unwrap_or_default(),
            ),
        }
    }

    /// Last day of the period with this ordinal.
    pub fn end(self, ordinal: i64) -> i64 {
        self.start(ordinal + 1) - 1
    }

    /// The first day of the period holding `day`, as a date.
    pub fn period_start(self, day: NaiveDate) -> NaiveDate {
        date(self.start(self.ordinal(day_number(day))))
    }
}

const EPOCH_FROM_CE: i64 = 719_163;

/// The date of a day number.
pub fn date(day: i64) -> NaiveDate {
    NaiveDate::from_num_days_from_ce_opt((day + EPOCH_FROM_CE) as i32).unwrap_or_default()
}

/// The day number of a date (days since 1970-01-01).
pub fn day_number(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce()) - EPOCH_FROM_CE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> i64 {
        day_number(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        // 2025-04-16 is a Wednesday; its ISO week starts Monday 2025-04-14.
        let w = Grain::Week.ordinal(day("2025-04-16"));
        assert_eq!(Grain::Week.start(w), day("2025-04-14"));
        assert_eq!(Grain::Week.end(w), day("2025-04-20"));
        assert_eq!(Grain::Week.ordinal(day("2025-04-20")), w);
        assert_eq!(Grain::Week.ordinal(day("2025-04-21")), w + 1);
        let m = Grain::Month.ordinal(day("2024-02-29"));
        assert_eq!(Grain::Month.start(m), day("2024-02-01"));
        assert_eq!(Grain::Month.end(m), day("2024-02-29"));
        assert_eq!(Grain::Month.ordinal(day("2024-03-01")), m + 1);
        assert_eq!(
            Grain::Month.start(Grain::Month.ordinal(day("2025-01-09")) - 1),
            day("2024-12-01")
        );
    }

    #[test]
    fn only_the_period_holding_the_last_day_is_incomplete() {
        // See: METRICS.md, Periods (is_complete: the period's last day is before the last date).
        let complete = |last: &str| {
            let (first, last) = (day("2025-03-07"), day(last));
            (Grain::Month.ordinal(first)..=Grain::Month.ordinal(last))
                .map(|o| Grain::Month.end(o) < last)
                .collect::<Vec<_>>()
        };
        assert_eq!(complete("2025-06-05"), vec![true, true, true, false]);
        // A month whose last day is the data's last day is still incomplete.
        assert_eq!(complete("2025-05-31"), vec![true, true, false]);
    }

    #[test]
    fn grains_parse_their_names_and_nothing_else() {
        for g in Grain::ALL {
            assert_eq!(Grain::parse(g.name()), Some(g));
        }
        assert_eq!(Grain::parse("Week"), None);
        assert_eq!(Grain::parse(""), None);
    }

    #[test]
    fn a_period_starts_on_its_first_day() {
        let d = NaiveDate::from_ymd_opt(2025, 4, 16).unwrap();
        assert_eq!(Grain::Week.period_start(d).to_string(), "2025-04-14");
        assert_eq!(Grain::Month.period_start(d).to_string(), "2025-04-01");
        assert_eq!(Grain::Day.period_start(d), d);
    }
}
