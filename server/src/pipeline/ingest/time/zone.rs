//! Instants <-> wall clocks in an IANA zone (chrono-tz), with the offsets cached per hour.
//!
//! chrono-tz finds an offset by a binary search over the zone's transitions, which costs
//! more than parsing the time itself; events of one hour share their offset, so each
//! thread keeps the offset of the hours it has seen (a direct-mapped table of 4096 hours,
//! about 170 days, filled on first use). An hour is cached only when its first and last
//! second have the same single offset; the hours of a transition are looked up exactly,
//! every time, so a DST change is right to the second.
//!
//! Local -> instant (a zone-less time in `--source-timezone`): a wall clock in a gap
//! (spring forward) does not exist and is refused; one that occurs twice (fall back)
//! is taken as the earlier instant.

use std::cell::RefCell;

use chrono::{DateTime, LocalResult, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

/// Hours cached per way (zone-less source times and the reporting clock each have theirs,
/// so that the two do not evict each other's hours).
const HOURS: usize = 4096;
const MICROS_PER_HOUR: i64 = 3_600_000_000;

#[derive(Clone, Copy)]
struct Slot {
    key: i64,
    offset: i32,
}

const EMPTY: Slot = Slot {
    key: i64::MIN,
    offset: 0,
};

thread_local! {
    static CACHE: RefCell<Vec<Slot>> = RefCell::new(vec![EMPTY; 2 * HOURS]);
}

/// Which way an hour's offset was looked up (the same hour index means different hours).
#[derive(Clone, Copy)]
enum Way {
    FromUtc = 0,
    FromLocal = 1,
}

/// The cache key of an hour: the hour, the zone (597 of them, < 2^11) and the way.
fn key(hour: i64, tz: Tz, way: Way) -> i64 {
    (hour << 12) | ((tz as i64) << 1) | way as i64
}

/// The offset of an hour from the cache, or from `compute` (stored); `None` when
/// `compute` finds no single offset for the whole hour (the caller looks up the second).
fn cached(hour: i64, way: Way, key: i64, compute: impl FnOnce() -> Option<i32>) -> Option<i32> {
    let slot = hour.rem_euclid(HOURS as i64) as usize * 2 + way as usize;
    CACHE.with(|cache| {
        let hit = cache.borrow()[slot];
        if hit.key == key {
            return Some(hit.offset);
        }
        let offset = compute()?;
        cache.borrow_mut()[slot] = Slot { key, offset };
        Some(offset)
    })
}

fn naive(secs: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp(secs, 0).map(|d| d.naive_utc())
}

/// The offset (seconds east of UTC) of `tz` at the instant `secs`.
fn offset_at_utc(tz: Tz, secs: i64) -> Option<i32> {
    Some(
        tz.offset_from_utc_datetime(&naive(secs)?)
            .fix()
            .local_minus_utc(),
    )
}

/// The wall clock of the instant `utc` (microseconds) in `tz`, in microseconds.
pub fn utc_to_local(tz: Tz, utc: i64) -> Option<i64> {
    let hour = utc.div_euclid(MICROS_PER_HOUR);
    let start = hour * 3600;
    let whole_hour = || {
        let first = offset_at_utc(tz, start)?;
        (offset_at_utc(tz, start + 3599)? == first).then_some(first)
    };
    let offset = match cached(hour, Way::FromUtc, key(hour, tz, Way::FromUtc), whole_hour) {
        Some(o) => o,
        None => offset_at_utc(tz, utc.div_euclid(1_000_000))?,
    };
    utc.checked_add(i64::from(offset) * 1_000_000)
}

/// The single offset of the wall-clock second `secs` in `tz`: `None` in a gap, the earlier
/// instant's (the larger offset) when the wall clock occurs twice.
fn offset_at_local(tz: Tz, secs: i64) -> Option<Offsets> {
    let offset = |o: <Tz as TimeZone>::Offset| o.fix().local_minus_utc();
    match tz.offset_from_local_datetime(&naive(secs)?) {
        LocalResult::Single(o) => Some(Offsets::Single(offset(o))),
        // See: README, Time formats (ambiguous times take the earlier instant).
        LocalResult::Ambiguous(a, b) => Some(Offsets::Twice(offset(a).max(offset(b)))),
        // See: README, Time formats (times in a gap are quarantined).
        LocalResult::None => None,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Offsets {
    Single(i32),
    Twice(i32),
}

/// The instant (microseconds) of the wall clock `local` (microseconds) in `tz`; `None`
/// when that wall clock does not exist there (a DST gap).
pub fn local_to_utc(tz: Tz, local: i64) -> Option<i64> {
    let hour = local.div_euclid(MICROS_PER_HOUR);
    let start = hour * 3600;
    let whole_hour = || match (
        offset_at_local(tz, start)?,
        offset_at_local(tz, start + 3599)?,
    ) {
        (Offsets::Single(a), Offsets::Single(b)) => (a == b).then_some(a),
        _ => None,
    };
    let offset = match cached(
        hour,
        Way::FromLocal,
        key(hour, tz, Way::FromLocal),
        whole_hour,
    ) {
        Some(o) => o,
        None => match offset_at_local(tz, local.div_euclid(1_000_000))? {
            Offsets::Single(o) | Offsets::Twice(o) => o,
        },
    };
    local.checked_sub(i64::from(offset) * 1_000_000)
}
