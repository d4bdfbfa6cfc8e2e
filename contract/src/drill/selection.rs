//! A selection: the users behind one number (a growth status in a period, or a cohort
//! period), as one small header file plus chunks of members. The server encodes it with
//! [`encode_selection`] (the only writer), the browser decodes it with [`Header::decode`]
//! and [`decode_chunk`], so neither can write a shape the other cannot read.
//!
//! Why this shape (issue 18): a weekly bar can stand for 190,000 users, and the panel
//! first shows 50 of them. So the header holds everything the panel shows without a user
//! row: the exact count, the count of each country, and per chunk the count of each
//! country (which chunk holds the n-th user of a country filter, so a page fetches only
//! its chunk); a cohort's header adds, per country and retention day, who was seen and who
//! has been observed. Chunk 0 rides in the header's file, so a click is one fetch plus the
//! dictionary shards ([`super::users`]) of the users on the first page.
//!
//! Members are sorted by user index (so by user id) and stored as the gap to the previous
//! index (minus one: a dense selection is a run of zero bytes), the user's country code (an
//! index into the header's countries), and a value: a growth member's events in the
//! period, a cohort member's cohort day (days after the period's first day) followed by a
//! byte of the retention days it was seen on (bit `i` for `RETENTION_DAYS[i]`).

use super::bytes::{DecodeError, FileKind, Reader, Writer};
use crate::RETENTION_DAYS;

/// Members per chunk: about 16 KB of a dense growth selection.
pub const CHUNK: u32 = 8192;

/// Growth or cohort: what a member's value means and which file kinds hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Growth,
    Cohort,
}

impl Kind {
    fn header(self) -> FileKind {
        match self {
            Kind::Growth => FileKind::Growth,
            Kind::Cohort => FileKind::Cohort,
        }
    }

    fn chunk(self) -> FileKind {
        match self {
            Kind::Growth => FileKind::GrowthChunk,
            Kind::Cohort => FileKind::CohortChunk,
        }
    }
}

/// One user of a selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Member {
    /// The user's index in the dictionary.
    pub user: u32,
    /// An index into [`Header::countries`].
    pub country: u32,
    /// Growth: the user's events in the period. Cohort: the cohort day, in days after the
    /// period's first day.
    pub value: u32,
    /// Cohort only: bit `i` set when the user was active on day `RETENTION_DAYS[i]` after
    /// the cohort day.
    pub seen: u8,
}

/// What every selection of one export or warehouse version shares.
#[derive(Clone, Copy, Debug)]
pub struct Meta<'a> {
    /// The dictionary's version (see [`super::users`]).
    pub version: u64,
    /// Users in the dictionary.
    pub users: u64,
    /// Users per dictionary shard.
    pub shard: u32,
    /// Members per chunk.
    pub chunk: u32,
    /// Every country code's name (`None`: the users without a country).
    pub countries: &'a [Option<&'a str>],
}

/// A cohort period's first day and the data's last day (days since 1970-01-01): a
/// retention day after the last day is not observed yet. See: METRICS.md, Retention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CohortSpan {
    pub start: i32,
    pub last_day: i32,
}

/// A cohort header's counts per country and retention day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CohortStats {
    pub span: CohortSpan,
    /// Per country, per retention day: members seen on that day.
    pub seen: Vec<[u64; 6]>,
    /// Per country, per retention day: members for whom that day is observed.
    pub observed: Vec<[u64; 6]>,
}

/// A decoded header (with its chunk 0).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    pub version: u64,
    pub users: u64,
    pub shard: u32,
    pub chunk: u32,
    pub countries: Vec<Option<String>>,
    /// Members in the selection: exact.
    pub count: u64,
    /// Members per country code.
    pub by_country: Vec<u64>,
    /// Per chunk, members per country code.
    pub chunks: Vec<Vec<u64>>,
    pub cohort: Option<CohortStats>,
    /// Chunk 0's members.
    pub first: Vec<Member>,
}

impl Member {
    /// Whether a cohort member was seen on the `i`-th retention day: `None` when that day
    /// is past the data.
    pub fn seen_on(&self, i: usize, span: CohortSpan) -> Option<bool> {
        let n = *RETENTION_DAYS.get(i)? as i64;
        let day = i64::from(span.start) + i64::from(self.value) + n;
        (day <= i64::from(span.last_day)).then_some(self.seen & (1 << i) != 0)
    }
}

fn write_members(w: &mut Writer, kind: Kind, members: &[Member]) {
    w.u64(members.len() as u64);
    let mut next = 0u64;
    for m in members {
        w.u64(u64::from(m.user) - next);
        next = u64::from(m.user) + 1;
        w.u64(m.country.into());
        w.u64(m.value.into());
        if kind == Kind::Cohort {
            w.u8(m.seen);
        }
    }
}

fn read_members(r: &mut Reader<'_>, kind: Kind) -> Result<Vec<Member>, DecodeError> {
    let n = r.count(3)?;
    let mut members = Vec::with_capacity(n);
    let mut next = 0u64;
    for _ in 0..n {
        let user = next
            .checked_add(r.u64()?)
            .and_then(|u| u32::try_from(u).ok())
            .ok_or(DecodeError::Invalid(
                "a member's index passes the last user",
            ))?;
        next = u64::from(user) + 1;
        let country = r.u32()?;
        let value = r.u32()?;
        let seen = if kind == Kind::Cohort { r.u8()? } else { 0 };
        members.push(Member {
            user,
            country,
            value,
            seen,
        });
    }
    Ok(members)
}

/// A selection's files: the header (with chunk 0) first, then chunk 1, 2, ... `members`
/// must be sorted by user, each once, with country codes of `meta.countries`; `span` is a
/// cohort's (growth: `None`).
pub fn encode_selection(
    meta: &Meta<'_>,
    span: Option<CohortSpan>,
    members: &[Member],
) -> Vec<Vec<u8>> {
    let kind = if span.is_some() {
        Kind::Cohort
    } else {
        Kind::Growth
    };
    let n = meta.countries.len();
    let chunk = meta.chunk.max(1) as usize;
    let parts: Vec<&[Member]> = if members.is_empty() {
        vec![&[]]
    } else {
        members.chunks(chunk).collect()
    };
    let mut by_country = vec![0u64; n];
    let mut per_chunk = vec![vec![0u64; n]; parts.len()];
    for (k, part) in parts.iter().enumerate() {
        for m in *part {
            let c = m.country as usize;
            if c < n {
                by_country[c] += 1;
                per_chunk[k][c] += 1;
            }
        }
    }
    let mut w = Writer::file(kind.header());
    w.fixed_u64(meta.version);
    w.u64(meta.users);
    w.u64(meta.shard.into());
    w.u64(chunk as u64);
    w.u64(n as u64);
    for c in meta.countries {
        w.opt_str(*c);
    }
    w.u64(members.len() as u64);
    for &c in &by_country {
        w.u64(c);
    }
    w.u64(parts.len() as u64);
    for counts in &per_chunk {
        for &c in counts {
            w.u64(c);
        }
    }
    if let Some(span) = span {
        w.i64(span.start.into());
        w.i64(span.last_day.into());
        let mut seen = vec![[0u64; 6]; n];
        let mut observed = vec![[0u64; 6]; n];
        for m in members {
            let Some(c) = seen.get_mut(m.country as usize) else {
                continue;
            };
            for i in 0..RETENTION_DAYS.len() {
                if let Some(s) = m.seen_on(i, span) {
                    observed[m.country as usize][i] += 1;
                    c[i] += u64::from(s);
                }
            }
        }
        for (s, o) in seen.iter().zip(&observed) {
            for v in s.iter().chain(o) {
                w.u64(*v);
            }
        }
    }
    write_members(&mut w, kind, parts[0]);
    let mut files = vec![w.finish()];
    for (k, part) in parts.iter().enumerate().skip(1) {
        let mut w = Writer::file(kind.chunk());
        w.fixed_u64(meta.version);
        w.u64(k as u64);
        write_members(&mut w, kind, part);
        files.push(w.finish());
    }
    files
}

impl Header {
    pub fn decode(data: &[u8], kind: Kind) -> Result<Header, DecodeError> {
        let mut r = Reader::file(data, kind.header())?;
        let version = r.fixed_u64()?;
        let users = r.u64()?;
        let shard = r.u32()?;
        let chunk = r.u32()?;
        if shard == 0 || chunk == 0 {
            return Err(DecodeError::Invalid("a shard or chunk of no users"));
        }
        let n = r.count(1)?;
        let countries = (0..n)
            .map(|_| Ok(r.opt_str()?.map(str::to_string)))
            .collect::<Result<Vec<_>, DecodeError>>()?;
        let count = r.u64()?;
        let by_country = (0..n).map(|_| r.u64()).collect::<Result<Vec<_>, _>>()?;
        let m = r.count(n.max(1))?;
        let mut chunks = Vec::with_capacity(m);
        for _ in 0..m {
            chunks.push((0..n).map(|_| r.u64()).collect::<Result<Vec<_>, _>>()?);
        }
        let cohort = match kind {
            Kind::Growth => None,
            Kind::Cohort => {
                let span = CohortSpan {
                    start: r.i32()?,
                    last_day: r.i32()?,
                };
                let mut seen = Vec::with_capacity(n);
                let mut observed = Vec::with_capacity(n);
                for _ in 0..n {
                    let mut s = [0u64; 6];
                    let mut o = [0u64; 6];
                    for v in s.iter_mut().chain(o.iter_mut()) {
                        *v = r.u64()?;
                    }
                    seen.push(s);
                    observed.push(o);
                }
                Some(CohortStats {
                    span,
                    seen,
                    observed,
                })
            }
        };
        let first = read_members(&mut r, kind)?;
        r.end()?;
        let header = Header {
            kind,
            version,
            users,
            shard,
            chunk,
            countries,
            count,
            by_country,
            chunks,
            cohort,
            first,
        };
        header.check()?;
        Ok(header)
    }

    /// The counts agree with each other and with chunk 0.
    fn check(&self) -> Result<(), DecodeError> {
        let bad = |what| Err(DecodeError::Invalid(what));
        if self.chunks.is_empty() {
            return bad("a selection without chunks");
        }
        if self.by_country.iter().sum::<u64>() != self.count {
            return bad("the countries' counts do not add up to the selection's");
        }
        for (c, &total) in self.by_country.iter().enumerate() {
            if self.chunks.iter().map(|k| k[c]).sum::<u64>() != total {
                return bad("the chunks' counts do not add up to the country's");
            }
        }
        let last = self.chunks.len() - 1;
        for (k, counts) in self.chunks.iter().enumerate() {
            let size: u64 = counts.iter().sum();
            if (k < last && size != u64::from(self.chunk)) || size > u64::from(self.chunk) {
                return bad("a chunk of the wrong size");
            }
        }
        self.check_chunk(0, &self.first)
    }

    /// Whether `members` are chunk `k` of this selection: as many of each country as the
    /// header says, and within the dictionary.
    pub fn check_chunk(&self, k: usize, members: &[Member]) -> Result<(), DecodeError> {
        let counts = self
            .chunks
            .get(k)
            .ok_or(DecodeError::Invalid("no such chunk"))?;
        let mut found = vec![0u64; counts.len()];
        for m in members {
            let c = found
                .get_mut(m.country as usize)
                .ok_or(DecodeError::Invalid("a member of no country code"))?;
            *c += 1;
            if u64::from(m.user) >= self.users {
                return Err(DecodeError::Invalid("a member past the dictionary"));
            }
        }
        if &found != counts {
            return Err(DecodeError::Invalid(
                "a chunk's members do not match its header: fetch it again",
            ));
        }
        Ok(())
    }

    /// Members of the countries `keep` (codes), summed.
    pub fn count_of(&self, keep: &[bool]) -> u64 {
        self.by_country
            .iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(n, _)| n)
            .sum()
    }
}

/// A further chunk's bytes: its number and members (check them with
/// [`Header::check_chunk`]), refused when its dictionary version is not `version`.
pub fn decode_chunk(
    data: &[u8],
    kind: Kind,
    version: u64,
) -> Result<(usize, Vec<Member>), DecodeError> {
    let mut r = Reader::file(data, kind.chunk())?;
    if r.fixed_u64()? != version {
        return Err(DecodeError::Invalid(
            "the chunk is of another run than its header: reload the page",
        ));
    }
    let k = r.count(0)?;
    let members = read_members(&mut r, kind)?;
    r.end()?;
    Ok((k, members))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const COUNTRIES: [Option<&str>; 3] = [None, Some("MY"), Some("a/b#c?d")];

    fn meta(chunk: u32) -> Meta<'static> {
        Meta {
            version: 9,
            users: 1_000_000,
            shard: 1024,
            chunk,
            countries: &COUNTRIES,
        }
    }

    /// Every file of a selection decoded and checked: the header and all members in order.
    fn decode_all(files: &[Vec<u8>], kind: Kind) -> (Header, Vec<Member>) {
        let header = Header::decode(&files[0], kind).unwrap();
        let mut all = header.first.clone();
        for (i, file) in files.iter().enumerate().skip(1) {
            let (k, members) = decode_chunk(file, kind, header.version).unwrap();
            assert_eq!(k, i);
            header.check_chunk(k, &members).unwrap();
            all.extend(members);
        }
        assert_eq!(header.chunks.len(), files.len());
        (header, all)
    }

    #[test]
    fn a_growth_selection_reads_back_with_its_counts() {
        let members: Vec<Member> = (0..5)
            .map(|i| Member {
                user: i * 3,
                country: i % 3,
                value: i * 100,
                seen: 0,
            })
            .collect();
        let files = encode_selection(&meta(2), None, &members);
        assert_eq!(files.len(), 3);
        let (header, all) = decode_all(&files, Kind::Growth);
        assert_eq!(all, members);
        assert_eq!(
            (header.count, header.by_country.clone()),
            (5, vec![2, 2, 1])
        );
        assert_eq!(header.chunks, [vec![1, 1, 0], vec![1, 0, 1], vec![0, 1, 0]]);
        assert_eq!(header.count_of(&[false, true, true]), 3);
        assert_eq!(header.countries[2].as_deref(), Some("a/b#c?d"));
        // A growth file is not a cohort file, a chunk is not a header, a cut file is an error.
        assert!(Header::decode(&files[0], Kind::Cohort).is_err());
        assert!(Header::decode(&files[1], Kind::Growth).is_err());
        assert!(decode_chunk(&files[1], Kind::Growth, 8).is_err());
        for end in 0..files[0].len() {
            assert!(Header::decode(&files[0][..end], Kind::Growth).is_err());
        }
        // The header refuses a chunk that is not the one it describes.
        let (_, two) = decode_chunk(&files[2], Kind::Growth, 9).unwrap();
        assert!(header.check_chunk(1, &two).is_err());
    }

    #[test]
    fn an_empty_selection_is_one_file_with_one_empty_chunk() {
        let files = encode_selection(&meta(8192), None, &[]);
        let (header, all) = decode_all(&files, Kind::Growth);
        assert_eq!((files.len(), header.count, all.len()), (1, 0, 0));
        assert!(files[0].len() < 60, "{} bytes", files[0].len());
    }

    #[test]
    fn a_cohort_header_counts_who_was_seen_and_who_is_observed() {
        // Period from day 100, data up to day 108: D7 is observed for cohort days 100 and 101.
        let span = CohortSpan {
            start: 100,
            last_day: 108,
        };
        let m = |user, country, day, seen| Member {
            user,
            country,
            value: day,
            seen,
        };
        let members = [m(1, 1, 0, 0b111), m(2, 1, 1, 0b001), m(3, 2, 6, 0b011)];
        let files = encode_selection(&meta(8192), Some(span), &members);
        let (header, all) = decode_all(&files, Kind::Cohort);
        assert_eq!(all, members);
        let stats = header.cohort.unwrap();
        assert_eq!(stats.span, span);
        assert_eq!(stats.seen[1][..3], [2, 1, 1]);
        assert_eq!(stats.observed[1][..4], [2, 2, 2, 0]);
        assert_eq!(stats.observed[2][..3], [1, 1, 0]);
        assert_eq!(all[2].seen_on(2, span), None);
        assert_eq!(all[1].seen_on(1, span), Some(false));
    }

    fn members() -> impl Strategy<Value = Vec<Member>> {
        proptest::collection::btree_map(0u32..5000, (0u32..3, 0u32..300, any::<u8>()), 0..300)
            .prop_map(|m| {
                m.into_iter()
                    .map(|(user, (country, value, seen))| Member {
                        user,
                        country,
                        value,
                        seen: seen & 0x3f,
                    })
                    .collect()
            })
    }

    proptest! {
        /// The chunks together are exactly the selection, in order, and every count of the
        /// header is what the members say.
        #[test]
        fn the_chunks_together_are_exactly_the_selection(
            members in members(),
            chunk in 1u32..70,
            cohort in any::<bool>(),
        ) {
            let span = cohort.then_some(CohortSpan { start: 20_000, last_day: 20_090 });
            let members: Vec<Member> = members
                .into_iter()
                .map(|m| if cohort { m } else { Member { seen: 0, ..m } })
                .collect();
            let kind = if cohort { Kind::Cohort } else { Kind::Growth };
            let files = encode_selection(&meta(chunk), span, &members);
            let (header, all) = decode_all(&files, kind);
            prop_assert_eq!(&all, &members);
            prop_assert_eq!(header.count, members.len() as u64);
            for c in 0..3u32 {
                let n = members.iter().filter(|m| m.country == c).count() as u64;
                prop_assert_eq!(header.by_country[c as usize], n);
            }
            prop_assert_eq!(files.len(), members.len().div_ceil(chunk as usize).max(1));
        }
    }
}
