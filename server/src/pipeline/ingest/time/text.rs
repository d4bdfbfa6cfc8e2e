//! The text of an event time -> a wall clock (microseconds since 1970-01-01) and the offset
//! it names, if any; and an instant -> its canonical UTC text.
//!
//! Hand-written because it runs once per event (10M times in the benchmark): no
//! allocation, one pass over a few bytes; chrono only validates the calendar date.

use chrono::Datelike;

use crate::pipeline::schema::MICROS_PER_DAY;

/// chrono's day number (`num_days_from_ce`: 0001-01-01 is 1) of 1970-01-01.
const UNIX_DAYS_FROM_CE: i64 = 719_163;

/// The latest instant the canonical text can write (9999-12-31 23:59:59.999999, the end
/// of Python's `datetime`), in microseconds.
pub const MAX_MICROS: i64 = 253_402_300_799_999_999;

/// The largest offset accepted (the widest in the tz database is ±14:00; ISO allows more).
const MAX_OFFSET_SECS: i32 = 18 * 3600;

/// `YYYY-MM-DD[T ]HH:MM:SS[.f{1,9}][Z|±HH:MM|±HHMM|±HH]` -> the wall clock it writes, in
/// microseconds since 1970-01-01, and the offset (seconds east of UTC) when it names one.
/// Digits past the sixth of a fraction are truncated (the warehouse keeps microseconds).
pub fn parse_iso(s: &[u8]) -> Option<(i64, Option<i32>)> {
    if s.len() < 19
        || s[4] != b'-'
        || s[7] != b'-'
        || !matches!(s[10], b' ' | b'T' | b't')
        || s[13] != b':'
        || s[16] != b':'
    {
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
    let mut rest = &s[19..];
    let mut micros = 0i64;
    if let [b'.' | b',', tail @ ..] = rest {
        let digits = tail.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        let kept = digits.min(6);
        let value = tail[..kept]
            .iter()
            .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0'));
        micros = value * 10i64.pow(6 - kept as u32);
        rest = &tail[digits..];
    }
    let offset = parse_offset(rest)?;
    let date = chrono::NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let days = i64::from(date.num_days_from_ce()) - UNIX_DAYS_FROM_CE;
    let secs = i64::from(hour * 3600 + minute * 60 + second);
    Some((days * MICROS_PER_DAY + secs * 1_000_000 + micros, offset))
}

/// What follows the seconds: nothing (`Some(None)`), `Z`, or a `±HH[[:]MM]` offset.
fn parse_offset(z: &[u8]) -> Option<Option<i32>> {
    let digit = |c: u8| c.is_ascii_digit().then(|| i32::from(c - b'0'));
    let (sign, rest) = match z {
        [] => return Some(None),
        [b'Z' | b'z'] => return Some(Some(0)),
        [b'+', rest @ ..] => (1, rest),
        [b'-', rest @ ..] => (-1, rest),
        _ => return None,
    };
    let (h1, h2, m) = match *rest {
        [h1, h2] => (h1, h2, None),
        [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => (h1, h2, Some((m1, m2))),
        _ => return None,
    };
    let hours = digit(h1)? * 10 + digit(h2)?;
    let minutes = match m {
        Some((m1, m2)) => digit(m1)? * 10 + digit(m2)?,
        None => 0,
    };
    let secs = hours * 3600 + minutes * 60;
    (minutes < 60 && secs <= MAX_OFFSET_SECS).then_some(Some(sign * secs))
}

/// The unit of a bare number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochUnit {
    /// Decided by the count of integer digits (see [`parse_epoch`]).
    Detect,
    Seconds,
    Millis,
}

/// Integer digits of a detected epoch in seconds: up to 11 (99999999999 s is the year 5138;
/// today is 10 digits). 12 to 14 digits are milliseconds (13 today).
pub const MAX_SECONDS_DIGITS: usize = 11;
pub const MAX_MILLIS_DIGITS: usize = 14;

/// `DIGITS[.f{1,9}]` seconds or `DIGITS` milliseconds since 1970-01-01T00:00:00Z -> that
/// instant in microseconds. No sign: an event before 1970 is not an epoch an app writes.
pub fn parse_epoch(s: &[u8], unit: EpochUnit) -> Option<i64> {
    let int_digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    if int_digits == 0 || int_digits > 15 {
        return None;
    }
    let (int, rest) = s.split_at(int_digits);
    let value = int
        .iter()
        .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0'));
    let unit = match unit {
        EpochUnit::Detect if int_digits <= MAX_SECONDS_DIGITS => EpochUnit::Seconds,
        EpochUnit::Detect if int_digits <= MAX_MILLIS_DIGITS => EpochUnit::Millis,
        EpochUnit::Detect => return None,
        unit => unit,
    };
    let micros = match (unit, rest) {
        (EpochUnit::Millis, []) => value.checked_mul(1_000)?,
        (EpochUnit::Seconds, []) => value.checked_mul(1_000_000)?,
        (EpochUnit::Seconds, [b'.', frac @ ..]) => {
            if frac.is_empty() || frac.len() > 9 || !frac.iter().all(u8::is_ascii_digit) {
                return None;
            }
            let kept = frac.len().min(6);
            let part = frac[..kept]
                .iter()
                .fold(0i64, |acc, &c| acc * 10 + i64::from(c - b'0'));
            value
                .checked_mul(1_000_000)?
                .checked_add(part * 10i64.pow(6 - kept as u32))?
        }
        _ => return None,
    };
    (micros <= MAX_MICROS).then_some(micros)
}

/// Whether `text`, a time [`parse_iso`] read with no offset, is written as
/// [`write_utc_text`] writes it: a space between date and time, and no fraction or six
/// digits that are not all 0. Checked by shape, as it is on every event's path.
pub fn is_utc_text(text: &[u8]) -> bool {
    match text.len() {
        19 => text[10] == b' ',
        26 => text[10] == b' ' && text[19] == b'.' && &text[20..] != b"000000",
        _ => false,
    }
}

/// Writes `utc` (microseconds since the epoch) as Python's `str(datetime)` does:
/// `YYYY-MM-DD HH:MM:SS`, plus `.ffffff` only when the microseconds are not 0. The sample's
/// times are written this way, so an event's canonical text (hashed for its id) is the
/// same whatever form its time came in.
pub fn write_utc_text(utc: i64, out: &mut Vec<u8>) {
    let days = utc.div_euclid(MICROS_PER_DAY);
    let in_day = utc.rem_euclid(MICROS_PER_DAY);
    let (year, month, day) = i32::try_from(days + UNIX_DAYS_FROM_CE)
        .ok()
        .and_then(chrono::NaiveDate::from_num_days_from_ce_opt)
        .map_or((1970, 1, 1), |d| (d.year(), d.month(), d.day()));
    let two = |out: &mut Vec<u8>, v: u32| {
        out.extend_from_slice(&[b'0' + (v / 10) as u8, b'0' + (v % 10) as u8])
    };
    if year < 0 {
        out.push(b'-');
    }
    let year = year.unsigned_abs();
    if year > 9999 {
        out.extend_from_slice(year.to_string().as_bytes());
    } else {
        two(out, year / 100);
        two(out, year % 100);
    }
    out.push(b'-');
    two(out, month);
    out.push(b'-');
    two(out, day);
    out.push(b' ');
    let secs = (in_day / 1_000_000) as u32;
    two(out, secs / 3600);
    out.push(b':');
    two(out, secs / 60 % 60);
    out.push(b':');
    two(out, secs % 60);
    let micros = (in_day % 1_000_000) as u32;
    if micros != 0 {
        out.push(b'.');
        two(out, micros / 10_000);
        two(out, micros / 100 % 100);
        two(out, micros % 100);
    }
}
