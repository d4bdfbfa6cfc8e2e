//! The input contract: the event CSV's columns and the accepted event types.
//! See: METRICS.md, the input table.

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

/// Accepted values of `event_type`; anything else is quarantined.
pub const EVENT_TYPES: [&str; 5] = [
    "miles_earned",
    "miles_redeemed",
    "reward_search",
    "like",
    "share",
];

/// Code of an event type (its index in [`EVENT_TYPES`]), or `None` when unknown.
pub fn event_type_code(value: &[u8]) -> Option<u8> {
    EVENT_TYPES
        .iter()
        .position(|t| t.as_bytes() == value)
        .map(|i| i as u8)
}

/// Columns that bronze, silver and gold add to every event.
pub const EVENT_ID: &str = "event_id";
pub const BATCH_ID: &str = "batch_id";
pub const LOADED_AT: &str = "loaded_at";

/// Microseconds in a day: event times are stored as microseconds since 1970-01-01 (no zone).
pub const MICROS_PER_DAY: i64 = 86_400_000_000;
