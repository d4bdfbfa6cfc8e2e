//! The pieces of a compact selection (`contract::drill`) one page of the panel needs, and
//! its rows. A selection's header says how many members of each country every chunk
//! holds, so page `p` of a country filter is found without reading a member: walk the
//! chunks' kept counts to the `50 p`-th member ([`page_span`]), fetch those chunks, keep
//! the members of the selected countries ([`pick`]), fetch the dictionary shards of the
//! users they name ([`shards_of`]) and print the rows. Sorting by another column and the
//! CSV need every member: the panel then fetches every chunk and shard ([`all_members`]).
//! Pure, unit-tested; the fetching is in `components::drill`.

use std::collections::BTreeMap;

use contract::drill::users::{shard_of, time_text};
use contract::drill::{DictUser, Header, Member};

use super::drill::{Cell, number, text};
use crate::marts::NO_COUNTRY;

/// How a user without a country reads in the table.
const UNKNOWN: &str = "unknown";

/// Per country code of `header`, whether the page keeps it: all when `countries` is
/// empty, else those named (the users without a country by [`NO_COUNTRY`]).
pub fn kept(header: &Header, countries: &[String]) -> Vec<bool> {
    header
        .countries
        .iter()
        .map(|c| {
            let name = c.as_deref().unwrap_or(NO_COUNTRY);
            countries.is_empty() || countries.iter().any(|k| k == name)
        })
        .collect()
}

fn is_kept(keep: &[bool], m: &Member) -> bool {
    keep.get(m.country as usize).copied().unwrap_or(false)
}

/// Where rows `[page * size, page * size + size)` of the kept members lie: per chunk
/// `(chunk, kept members to skip, kept members to take)`, in order.
pub fn page_span(
    header: &Header,
    keep: &[bool],
    page: usize,
    size: usize,
) -> Vec<(usize, usize, usize)> {
    let mut skip = page.saturating_mul(size);
    let mut want = size;
    let mut span = Vec::new();
    for (k, counts) in header.chunks.iter().enumerate() {
        if want == 0 {
            break;
        }
        let n: u64 = counts
            .iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(n, _)| n)
            .sum();
        let n = n as usize;
        if skip >= n {
            skip -= n;
            continue;
        }
        let take = (n - skip).min(want);
        span.push((k, skip, take));
        want -= take;
        skip = 0;
    }
    span
}

/// The kept members of one chunk, `skip` of them left out and at most `take` kept.
pub fn pick(members: &[Member], keep: &[bool], skip: usize, take: usize) -> Vec<Member> {
    members
        .iter()
        .filter(|m| is_kept(keep, m))
        .skip(skip)
        .take(take)
        .copied()
        .collect()
}

/// Every kept member of the chunks (in chunk order).
pub fn all_members<'a>(
    chunks: impl IntoIterator<Item = &'a [Member]>,
    keep: &[bool],
) -> Vec<Member> {
    chunks
        .into_iter()
        .flatten()
        .filter(|m| is_kept(keep, m))
        .copied()
        .collect()
}

/// The dictionary shards that hold `members`' users, ascending, each once.
pub fn shards_of(members: &[Member], shard: u32) -> Vec<u32> {
    let mut shards: Vec<u32> = members.iter().map(|m| shard_of(m.user, shard)).collect();
    shards.dedup();
    shards.sort_unstable();
    shards.dedup();
    shards
}

fn country(header: &Header, m: &Member) -> Cell {
    let name = header
        .countries
        .get(m.country as usize)
        .and_then(|c| c.as_deref());
    text(name.unwrap_or(UNKNOWN))
}

/// A growth member as a row of `USER_COLUMNS`: id, country, first and last seen, events.
pub fn growth_row(header: &Header, m: &Member, user: &DictUser) -> Vec<Cell> {
    vec![
        text(&user.id),
        country(header, m),
        text(&time_text(user.first_seen)),
        text(&time_text(user.last_seen)),
        number(m.value.into()),
    ]
}

/// A cohort member as a row of `COHORT_COLUMNS`: id, country, cohort day, and whether the
/// user was seen on the `day`-th retention day.
pub fn cohort_row(header: &Header, m: &Member, user: &DictUser, day: usize) -> Vec<Cell> {
    let Some(stats) = &header.cohort else {
        return growth_row(header, m, user);
    };
    let cohort_day = i64::from(stats.span.start) + i64::from(m.value);
    let mark = match m.seen_on(day, stats.span) {
        Some(true) => "yes",
        Some(false) => "no",
        None => "not yet observed",
    };
    vec![
        text(&user.id),
        country(header, m),
        text(&contract::calendar::date(cohort_day).to_string()),
        text(mark),
    ]
}

/// A cohort's members of the kept countries seen on the `day`-th retention day (`None`
/// when the day is observed for none of them), and the count per country that saw some.
pub fn cohort_seen(
    header: &Header,
    keep: &[bool],
    day: usize,
) -> (Option<u64>, Vec<(String, u64)>) {
    let Some(stats) = &header.cohort else {
        return (None, Vec::new());
    };
    let mut observed = 0u64;
    let mut seen = 0u64;
    let mut by_country: BTreeMap<String, u64> = BTreeMap::new();
    for (c, name) in header.countries.iter().enumerate() {
        if !keep.get(c).copied().unwrap_or(false) {
            continue;
        }
        let (s, o) = (
            stats.seen.get(c).map_or(0, |s| s[day.min(5)]),
            stats.observed.get(c).map_or(0, |o| o[day.min(5)]),
        );
        observed += o;
        seen += s;
        if s > 0 {
            *by_country
                .entry(name.as_deref().unwrap_or(UNKNOWN).to_string())
                .or_default() += s;
        }
    }
    (
        (observed > 0).then_some(seen),
        by_country.into_iter().collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use contract::drill::selection::encode_selection;
    use contract::drill::{CohortSpan, Kind, Meta, decode_chunk};

    const COUNTRIES: [Option<&str>; 3] = [None, Some("MY"), Some("SG")];

    /// 30 members in chunks of 4: users 0, 2, 4, ... with countries cycling none, MY, SG.
    fn selection() -> (Header, Vec<Vec<Member>>, Vec<Member>) {
        let members: Vec<Member> = (0..30)
            .map(|i| Member {
                user: i * 2,
                country: i % 3,
                value: i,
                seen: 0,
            })
            .collect();
        let meta = Meta {
            version: 1,
            users: 60,
            shard: 8,
            chunk: 4,
            countries: &COUNTRIES,
        };
        let files = encode_selection(&meta, None, &members);
        let header = Header::decode(&files[0], Kind::Growth).unwrap();
        let mut chunks = vec![header.first.clone()];
        for f in &files[1..] {
            chunks.push(decode_chunk(f, Kind::Growth, 1).unwrap().1);
        }
        (header, chunks, members)
    }

    /// Page `p` as the panel builds it: from the span's chunks only.
    fn page_of(
        header: &Header,
        chunks: &[Vec<Member>],
        keep: &[bool],
        p: usize,
        size: usize,
    ) -> Vec<Member> {
        page_span(header, keep, p, size)
            .into_iter()
            .flat_map(|(k, skip, take)| pick(&chunks[k], keep, skip, take))
            .collect()
    }

    #[test]
    fn the_pages_of_a_filter_are_the_kept_members_in_order() {
        let (header, chunks, members) = selection();
        for countries in [
            vec![],
            vec!["SG".to_string()],
            vec![NO_COUNTRY.to_string(), "MY".into()],
        ] {
            let keep = kept(&header, &countries);
            let expected: Vec<Member> = members
                .iter()
                .filter(|m| keep[m.country as usize])
                .copied()
                .collect();
            assert_eq!(header.count_of(&keep), expected.len() as u64);
            for size in [1, 3, 7, 50] {
                let pages: Vec<Member> = (0..=expected.len() / size)
                    .flat_map(|p| page_of(&header, &chunks, &keep, p, size))
                    .collect();
                assert_eq!(pages, expected, "{countries:?} by {size}");
            }
            let chunk_refs: Vec<&[Member]> = chunks.iter().map(Vec::as_slice).collect();
            assert_eq!(all_members(chunk_refs, &keep), expected);
        }
        // SG (members 2, 5, 8, 11, 14, 17, ...) page 1 of 3: members 11, 14 and 17, the second
        // SG member of chunk 2 (members 8-11) and the only ones of chunks 3 and 4.
        let keep = kept(&header, &["SG".to_string()]);
        assert_eq!(
            page_span(&header, &keep, 1, 3),
            [(2, 1, 1), (3, 0, 1), (4, 0, 1)]
        );
        assert!(page_span(&header, &keep, 9, 3).is_empty());
    }

    #[test]
    fn a_page_needs_only_the_shards_of_its_users() {
        let (header, chunks, _) = selection();
        let keep = kept(&header, &[]);
        let first = page_of(&header, &chunks, &keep, 0, 5);
        // Users 0, 2, 4, 6, 8 in shards of 8.
        assert_eq!(shards_of(&first, header.shard), [0, 1]);
        let user = DictUser {
            id: "u".into(),
            first_seen: Some(0),
            last_seen: None,
        };
        let row = growth_row(&header, &first[1], &user);
        assert_eq!(
            row.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
            ["u", "MY", "1970-01-01 00:00:00", "", "1"]
        );
        assert_eq!(growth_row(&header, &first[0], &user)[1].0, "unknown");
    }

    #[test]
    fn a_cohort_counts_who_was_seen_from_its_header_alone() {
        let members = [
            Member {
                user: 0,
                country: 2,
                value: 0,
                seen: 0b101,
            },
            Member {
                user: 1,
                country: 1,
                value: 0,
                seen: 0b001,
            },
            Member {
                user: 2,
                country: 2,
                value: 3,
                seen: 0b001,
            },
        ];
        let meta = Meta {
            version: 1,
            users: 3,
            shard: 8,
            chunk: 8,
            countries: &COUNTRIES,
        };
        let span = CohortSpan {
            start: 100,
            last_day: 108,
        };
        let files = encode_selection(&meta, Some(span), &members);
        let header = Header::decode(&files[0], Kind::Cohort).unwrap();
        let all = kept(&header, &[]);
        // D7 (index 2): observed for cohort day 100 only; user 0 was seen.
        assert_eq!(
            cohort_seen(&header, &all, 2),
            (Some(1), vec![("SG".to_string(), 1)])
        );
        assert_eq!(
            cohort_seen(&header, &kept(&header, &["MY".into()]), 2),
            (Some(0), vec![])
        );
        assert_eq!(
            cohort_seen(&header, &all, 3).0,
            None,
            "D30 is past the data"
        );
        assert_eq!(cohort_seen(&header, &all, 0).0, Some(3));
        let user = DictUser {
            id: "x".into(),
            first_seen: None,
            last_seen: None,
        };
        let row = cohort_row(&header, &header.first[2], &user, 2);
        assert_eq!(
            row.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
            ["x", "SG", "1970-04-14", "not yet observed"]
        );
        assert_eq!(cohort_row(&header, &header.first[0], &user, 2)[3].0, "yes");
    }
}
