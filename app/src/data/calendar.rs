//! Period labels for the client-side joins: the week (ISO, Monday) or month a
//! `YYYY-MM-DD` date falls in, labelled like the marts label them. See: METRICS.md, Periods.

use chrono::NaiveDate;

use crate::marts::Grain;

/// The label of the `grain` period holding `date`; `None` if `date` is not `YYYY-MM-DD`.
pub fn period_of(date: &str, grain: Grain) -> Option<String> {
    let d: NaiveDate = date.parse().ok()?;
    Some(grain.period_start(d).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        assert_eq!(period_of("2025-03-07", Grain::Week).unwrap(), "2025-03-03");
        assert_eq!(period_of("2025-03-03", Grain::Week).unwrap(), "2025-03-03");
        assert_eq!(period_of("2025-03-09", Grain::Week).unwrap(), "2025-03-03");
        assert_eq!(period_of("2025-01-01", Grain::Week).unwrap(), "2024-12-30");
        assert_eq!(period_of("2025-03-07", Grain::Month).unwrap(), "2025-03-01");
        assert_eq!(period_of("2025-03-07", Grain::Day).unwrap(), "2025-03-07");
        assert_eq!(period_of("07/03/2025", Grain::Day), None);
    }
}
