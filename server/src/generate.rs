//! Synthetic event streams with the sample's shape, for tests and benchmarks: one country,
//! one utm_source per user, about 90 days, the sample's mix of event types, categories and
//! miles, events in no particular order. Deterministic for a seed (ChaCha8).
//!
//! Users sign up over the whole span (more early on) and stay active for a random
//! lifetime, so the growth marts see new, retained, churned and resurrected users.
//! [`Shape::Steady`] is the harsh shape of a sticky app: everyone signs up in the first
//! week and stays to the end, so users are active on about half the days and the
//! lifecycle tables hold ~1.2 rows per event (twice the default shape's).

use std::io::Write;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone)]
pub struct GenerateOptions {
    pub events: u64,
    pub users: u64,
    pub seed: u64,
    pub days: i64,
    /// First day, as days since 1970-01-01 (default 2025-03-07, like the sample).
    pub start_day: i64,
    pub shape: Shape,
}

/// How users' active spans are drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shape {
    /// Signups over the whole span (more early on), random lifetimes.
    #[default]
    Default,
    /// Signups in the first week, everyone active to the end.
    Steady,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        Self {
            events: 10_000,
            users: 100,
            seed: 1,
            days: 91,
            start_day: 20_154,
            shape: Shape::Default,
        }
    }
}

const COUNTRIES: [(&str, u32); 5] = [("SG", 27), ("MY", 23), ("PH", 18), ("ID", 16), ("TH", 16)];
const UTM: [(&str, u32); 5] = [
    ("facebook", 30),
    ("google", 20),
    ("referral", 18),
    ("organic", 18),
    ("tiktok", 14),
];
const PLATFORMS: [&str; 3] = ["web", "ios", "android"];
/// An event type, its category and the range of its miles (None: no miles).
type Kind = (&'static str, &'static str, Option<(u32, u32)>);

/// (event_type, category, weight per 10,000 events, miles range) as in the sample.
#[allow(clippy::type_complexity)]
const KINDS: [(&str, &str, u32, Option<(u32, u32)>); 10] = [
    ("miles_earned", "dining", 1671, Some((80, 1199))),
    ("miles_earned", "ecommerce", 2280, Some((80, 1199))),
    ("miles_earned", "shopping", 1662, Some((80, 1199))),
    ("miles_redeemed", "flight", 828, Some((800, 2399))),
    ("miles_redeemed", "hotel", 534, Some((800, 2399))),
    ("reward_search", "apple", 519, None),
    ("reward_search", "lululemon", 527, None),
    ("reward_search", "shopee", 487, None),
    ("like", "", 513, None),
    ("share", "", 979, None),
];

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total);
    for (item, w) in items {
        if x < *w {
            return *item;
        }
        x -= w;
    }
    items[items.len() - 1].0
}

struct User {
    id: String,
    country: &'static str,
    utm: &'static str,
    first: i64,
    last: i64,
}

/// Writes `options.events` events (plus a header) to `out`.
pub fn generate(options: &GenerateOptions, out: &mut dyn Write) -> std::io::Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let users = options.users.max(1);
    let days = options.days.max(1);
    let width = users.to_string().len().max(4);
    let population: Vec<User> = (0..users)
        .map(|i| {
            // Signups lean early (the square of a uniform draw), lifetimes run 1 day to the end.
            let u: f64 = rng.random();
            let (first, lifetime) = match options.shape {
                Shape::Default => (((u * u) * days as f64) as i64, rng.random_range(1..=days)),
                Shape::Steady => (((u * 7.0) as i64).min(days - 1), days),
            };
            User {
                id: format!("u_{:0width$}", i + 1),
                country: pick(&mut rng, &COUNTRIES),
                utm: pick(&mut rng, &UTM),
                first,
                last: (first + lifetime).min(days - 1),
            }
        })
        .collect();
    let kinds: Vec<(Kind, u32)> = KINDS.iter().map(|&(t, c, w, m)| ((t, c, m), w)).collect();
    out.write_all(
        b"event_time,user_id,event_type,transaction_category,miles_amount,platform,utm_source,country\n",
    )?;
    let mut line = String::with_capacity(128);
    for i in 0..options.events {
        // Every user gets at least one event (on their first day), then users at random.
        let user = if i < users {
            &population[i as usize]
        } else {
            &population[rng.random_range(0..users) as usize]
        };
        let day = if i < users {
            user.first
        } else {
            rng.random_range(user.first..=user.last)
        };
        let secs: u32 = rng.random_range(0..86_400);
        let micros: u32 = rng.random_range(0..1_000_000);
        let date = contract::calendar::date(options.start_day + day);
        let (event_type, category, miles) = pick(&mut rng, &kinds);
        let platform = PLATFORMS[rng.random_range(0..PLATFORMS.len())];
        line.clear();
        use std::fmt::Write as _;
        let _ = write!(
            line,
            "{date} {:02}:{:02}:{:02}.{micros:06},{},{event_type},{category},",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            user.id
        );
        if let Some((lo, hi)) = miles {
            let _ = write!(line, "{}.0", rng.random_range(lo..=hi));
        }
        let _ = writeln!(line, ",{platform},{},{}", user.utm, user.country);
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(seed: u64) -> String {
        let mut out = Vec::new();
        let options = GenerateOptions {
            events: 500,
            users: 20,
            seed,
            ..Default::default()
        };
        generate(&options, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn same_seed_same_events_and_one_country_per_user() {
        assert_eq!(text(7), text(7));
        assert_ne!(text(7), text(8));
        let t = text(7);
        assert_eq!(t.lines().count(), 501);
        let mut country = std::collections::HashMap::new();
        for l in t.lines().skip(1) {
            let f: Vec<&str> = l.split(',').collect();
            assert_eq!(f.len(), 8);
            assert_eq!(country.entry(f[1]).or_insert(f[7]), &f[7]);
        }
        assert_eq!(country.len(), 20);
    }

    #[test]
    fn steady_users_sign_up_in_the_first_week_and_stay() {
        let options = GenerateOptions {
            events: 2_000,
            users: 20,
            shape: Shape::Steady,
            ..Default::default()
        };
        let mut out = Vec::new();
        generate(&options, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let mut days: std::collections::HashMap<&str, std::collections::BTreeSet<&str>> =
            Default::default();
        for l in text.lines().skip(1) {
            let (time, rest) = l.split_once(',').unwrap();
            let user = rest.split(',').next().unwrap();
            days.entry(user).or_default().insert(&time[..10]);
        }
        assert_eq!(days.len(), 20);
        for set in days.values() {
            assert!(set.first().unwrap() <= &"2025-03-13", "{set:?}");
            // 100 events over 91 days: about 60 distinct days each.
            assert!(set.len() > 40, "{}", set.len());
        }
    }
}
