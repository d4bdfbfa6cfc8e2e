//! The marts the dashboard reads, by name: the server builds, stores and serves them under
//! these names (`marts.<name>` in the warehouse, `data/marts/<name>.json` on the site) and
//! the browser fetches them by the same names. See: METRICS.md.

use crate::calendar::Grain;

/// A mart the dashboard reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mart {
    /// `user_growth_metrics_<grain>`. See: METRICS.md, Growth accounting.
    Growth(Grain),
    /// `user_retention`. See: METRICS.md, Retention.
    Retention,
    /// `user_interactions`. See: METRICS.md, Interactions.
    Interactions,
}

/// The retention days the retention mart carries, in column order. See: METRICS.md, Retention.
pub const RETENTION_DAYS: [u32; 6] = [0, 1, 7, 30, 60, 90];

impl Mart {
    /// Every mart, in the order the server builds and loads them.
    pub const ALL: [Mart; 5] = [
        Mart::Growth(Grain::Day),
        Mart::Growth(Grain::Week),
        Mart::Growth(Grain::Month),
        Mart::Retention,
        Mart::Interactions,
    ];

    /// The table name (without its `marts.` schema).
    pub fn name(self) -> &'static str {
        match self {
            Mart::Growth(Grain::Day) => "user_growth_metrics_day",
            Mart::Growth(Grain::Week) => "user_growth_metrics_week",
            Mart::Growth(Grain::Month) => "user_growth_metrics_month",
            Mart::Retention => "user_retention",
            Mart::Interactions => "user_interactions",
        }
    }

    pub fn parse(name: &str) -> Option<Mart> {
        Mart::ALL.into_iter().find(|m| m.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mart_has_its_own_name_and_parses_back() {
        let mut names: Vec<_> = Mart::ALL.iter().map(|m| m.name()).collect();
        for m in Mart::ALL {
            assert_eq!(Mart::parse(m.name()), Some(m));
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Mart::ALL.len());
        assert_eq!(Mart::parse("users"), None);
    }
}
