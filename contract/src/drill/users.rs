//! The user dictionary: every user of `gold.dim_users` once, numbered by the order of their
//! ids (index 0 is the smallest id), cut into shards of [`SHARD`] users at
//! `data/drill/users/<shard>.bin`. A selection lists users by index only, so the panel
//! fetches the shards of the users it shows and nothing else; and because indices follow
//! the ids, a list sorted by index is a list sorted by user id (the panel's default order).
//!
//! A shard: `version` (8 bytes, the dictionary's, which every selection repeats: a
//! mismatch means a run replaced the data between two fetches), the index of its first
//! user, the number of users, then per user its id, first seen (zigzag seconds from the
//! previous user's, 0 when unknown, see [`Writer::opt_time`]) and last seen (seconds after
//! first seen). The country is not here: each selection carries its members' countries,
//! so a breakdown or a country filter needs no shard.

use super::bytes::{DecodeError, FileKind, Reader, Writer};

/// Users per dictionary shard: a first page of 50 dense users needs one shard (about 20 KB).
pub const SHARD: u32 = 1024;

/// The shard that holds the user with index `user`.
pub fn shard_of(user: u32, shard: u32) -> u32 {
    user / shard.max(1)
}

/// One user of a shard: first and last seen as seconds since 1970-01-01 on the
/// warehouse's wall clock (the panel shows seconds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DictUser {
    pub id: String,
    pub first_seen: Option<i64>,
    pub last_seen: Option<i64>,
}

/// A decoded shard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserShard {
    pub version: u64,
    /// The index of `users[0]`.
    pub first: u32,
    pub users: Vec<DictUser>,
}

impl Writer {
    /// A time as the difference from the previous one that was known (`prev`, updated),
    /// zigzagged and shifted by one so 0 stays for "unknown".
    fn opt_time(&mut self, t: Option<i64>, prev: &mut i64) {
        match t {
            None => self.u64(0),
            Some(t) => {
                let d = t.wrapping_sub(*prev);
                self.u64((((d << 1) ^ (d >> 63)) as u64).wrapping_add(1));
                *prev = t;
            }
        }
    }
}

impl Reader<'_> {
    fn opt_time(&mut self, prev: &mut i64) -> Result<Option<i64>, DecodeError> {
        match self.u64()? {
            0 => Ok(None),
            v => {
                let z = v - 1;
                let d = ((z >> 1) as i64) ^ -((z & 1) as i64);
                *prev = prev.wrapping_add(d);
                Ok(Some(*prev))
            }
        }
    }
}

/// The bytes of a shard whose first user has index `first`; `users` yields
/// (id, first seen, last seen).
pub fn encode_shard<'a>(
    version: u64,
    first: u32,
    users: impl ExactSizeIterator<Item = (&'a str, Option<i64>, Option<i64>)>,
) -> Vec<u8> {
    let mut w = Writer::file(FileKind::Users);
    w.fixed_u64(version);
    w.u64(first.into());
    w.u64(users.len() as u64);
    let mut prev = 0i64;
    for (id, first_seen, last_seen) in users {
        w.str(id);
        w.opt_time(first_seen, &mut prev);
        // Last seen relative to first seen (never before it, so usually a small number).
        let mut base = first_seen.unwrap_or(0);
        w.opt_time(last_seen, &mut base);
    }
    w.finish()
}

impl UserShard {
    pub fn decode(data: &[u8]) -> Result<UserShard, DecodeError> {
        let mut r = Reader::file(data, FileKind::Users)?;
        let version = r.fixed_u64()?;
        let first = r.u32()?;
        // A user takes at least three bytes (an empty id and two unknown times).
        let n = r.count(3)?;
        if u64::from(first) + n as u64 > u64::from(u32::MAX) {
            return Err(DecodeError::Invalid("a shard's users pass the last index"));
        }
        let mut users = Vec::with_capacity(n);
        let mut prev = 0i64;
        for _ in 0..n {
            let id = r.str()?.to_string();
            let first_seen = r.opt_time(&mut prev)?;
            let mut base = first_seen.unwrap_or(0);
            let last_seen = r.opt_time(&mut base)?;
            users.push(DictUser {
                id,
                first_seen,
                last_seen,
            });
        }
        r.end()?;
        Ok(UserShard {
            version,
            first,
            users,
        })
    }

    /// The user with index `user`, if this shard holds it.
    pub fn get(&self, user: u32) -> Option<&DictUser> {
        self.users.get(user.checked_sub(self.first)? as usize)
    }
}

/// Seconds since 1970-01-01 as `YYYY-MM-DD HH:MM:SS` (how the panel and its CSV show a
/// time); unknown is empty.
pub fn time_text(t: Option<i64>) -> String {
    let Some(t) = t else {
        return String::new();
    };
    let (day, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    // Out of chrono's range: the number, rather than a wrong date.
    if !(-100_000_000..=100_000_000).contains(&day) {
        return t.to_string();
    }
    format!(
        "{} {:02}:{:02}:{:02}",
        crate::calendar::date(day),
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_shard_reads_back_and_its_times_print_to_the_second() {
        let users = [
            ("a", Some(1_740_823_200), Some(1_743_501_600)),
            ("b", None, None),
            ("c@example.com", Some(-86_401), Some(0)),
        ];
        let bytes = encode_shard(42, 2048, users.iter().copied());
        let shard = UserShard::decode(&bytes).unwrap();
        assert_eq!(
            (shard.version, shard.first, shard.users.len()),
            (42, 2048, 3)
        );
        assert_eq!(
            shard.get(2050).map(|u| u.id.as_str()),
            Some("c@example.com")
        );
        assert_eq!((shard.get(2047), shard.get(2051)), (None, None));
        assert_eq!(time_text(shard.users[0].first_seen), "2025-03-01 10:00:00");
        assert_eq!(time_text(shard.users[2].first_seen), "1969-12-30 23:59:59");
        assert_eq!(time_text(None), "");
        assert_eq!(shard_of(2047, SHARD), 1);
        // A cut file is an error, never a panic.
        for end in 0..bytes.len() {
            assert!(UserShard::decode(&bytes[..end]).is_err());
        }
    }

    /// Microsecond timestamps in seconds: what an `i64` of microseconds can hold.
    const TIMES: i64 = i64::MAX / 1_000_000;

    proptest! {
        #[test]
        fn any_shard_round_trips(
            first in 0u32..1_000_000,
            users in proptest::collection::vec((".{0,12}", proptest::option::of(-TIMES..TIMES), proptest::option::of(-TIMES..TIMES)), 0..40),
        ) {
            let bytes = encode_shard(7, first, users.iter().map(|(id, f, l)| (id.as_str(), *f, *l)));
            let shard = UserShard::decode(&bytes).unwrap();
            let back: Vec<(String, Option<i64>, Option<i64>)> =
                shard.users.into_iter().map(|u| (u.id, u.first_seen, u.last_seen)).collect();
            prop_assert_eq!(back, users);
        }
    }
}
