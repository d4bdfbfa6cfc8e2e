//! The input contract: the event CSV's columns and the accepted event types.
//! See: METRICS.md, the input table.

use serde::{Deserialize, Serialize};

/// Input columns, in the order the sample file has them.
pub const INPUT_COLUMNS: [&str; 8] = [
    "event_time",
    "user_id",
    "event_type",
    "transaction_category",
    "miles_amount",
    "platform",
    "utm_source",
    "country",
];

/// Indexes into [`INPUT_COLUMNS`].
pub const EVENT_TIME: usize = 0;
pub const USER_ID: usize = 1;
pub const EVENT_TYPE: usize = 2;
pub const CATEGORY: usize = 3;
pub const MILES: usize = 4;
pub const PLATFORM: usize = 5;
pub const UTM_SOURCE: usize = 6;
pub const COUNTRY: usize = 7;

/// The event types heymax accepts when `heymax.toml` declares none: the sample's.
pub const DEFAULT_EVENT_TYPES: [&str; 5] = [
    "miles_earned",
    "miles_redeemed",
    "reward_search",
    "like",
    "share",
];

/// `[events] unknown`: what happens to an event type that is not declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unknown {
    /// Quarantined with the reason (the default): a typo in a type never goes unseen.
    #[default]
    Quarantine,
    /// Loaded and counted in growth and retention (activity is any event), left out of
    /// the interactions mart.
    Keep,
}

/// The slim code of a kept event type that is not declared: counted in growth and
/// retention, left out of the interactions mart.
pub const UNDECLARED: u8 = u8::MAX;

/// The declared event types (their codes are their positions) and what happens to others.
/// Matching is ASCII case-insensitive (`MILES_EARNED` is `miles_earned`); the warehouse
/// stores the declared spelling.
#[derive(Debug, Clone, PartialEq)]
pub struct EventTypes {
    names: Vec<String>,
    unknown: Unknown,
}

impl EventTypes {
    pub fn new(names: Vec<String>, unknown: Unknown) -> Self {
        Self { names, unknown }
    }

    /// Why a declared list is unusable, if it is.
    pub fn check(names: &[String]) -> Result<(), String> {
        if names.is_empty() {
            return Err("events.types is empty: list the event types your app sends".into());
        }
        if names.len() >= usize::from(UNDECLARED) {
            return Err(format!(
                "events.types lists {} types; at most {} are supported",
                names.len(),
                UNDECLARED - 1
            ));
        }
        for (i, name) in names.iter().enumerate() {
            let name = name.trim();
            if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
                return Err(format!(
                    "events.types[{i}] must be 1 to 64 characters without control characters"
                ));
            }
            if names[..i]
                .iter()
                .any(|n| n.trim().eq_ignore_ascii_case(name))
            {
                return Err(format!("events.types lists {name:?} twice"));
            }
        }
        Ok(())
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn unknown(&self) -> Unknown {
        self.unknown
    }

    /// The code of a declared type, [`UNDECLARED`] for another type when they are kept,
    /// `None` when it is quarantined.
    pub fn code(&self, value: &[u8]) -> Option<u8> {
        match self
            .names
            .iter()
            .position(|t| t.as_bytes().eq_ignore_ascii_case(value))
        {
            Some(i) => Some(i as u8),
            None => (self.unknown == Unknown::Keep).then_some(UNDECLARED),
        }
    }

    /// The declared name of a code (`None` for [`UNDECLARED`]).
    pub fn name(&self, code: u8) -> Option<&str> {
        self.names.get(usize::from(code)).map(String::as_str)
    }
}

impl Default for EventTypes {
    fn default() -> Self {
        Self::new(
            DEFAULT_EVENT_TYPES.iter().map(|s| s.to_string()).collect(),
            Unknown::Quarantine,
        )
    }
}

/// Columns that bronze, silver and gold add to every event.
pub const EVENT_ID: &str = "event_id";
pub const BATCH_ID: &str = "batch_id";
pub const LOADED_AT: &str = "loaded_at";

/// Microseconds in a day: event times are stored as microseconds since 1970-01-01 (no zone).
pub const MICROS_PER_DAY: i64 = 86_400_000_000;
