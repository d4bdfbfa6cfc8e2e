//! The interactions drill files: each flow (event type -> category) of `gold.fact_events`
//! with its totals and its most active users, once for every country together, once for the
//! users without a country and once per country (the user's, as in the mart). One file per
//! scope, keyed by the scope's file stem ([`CountryScope::file_stem`]), which is the name
//! the router answers and the exporter writes. See: METRICS.md, Interactions.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use contract::drill::{Flow, FlowsFile};
use contract::paths::CountryScope;
use polars::prelude::*;
use xxhash_rust::xxh3::Xxh3DefaultBuilder;

use super::DrillError;
use super::error::echo;
use super::tables::Users;

/// How many users an interactions drill file lists per flow (the most active first).
const TOP_USERS: usize = 20;

/// The columns [`files`] reads of `gold.fact_events`.
pub(super) const EVENT_COLUMNS: [&str; 4] = [
    "user_id",
    "event_type",
    "transaction_category",
    "miles_amount",
];

/// Whose flows: every country's, or one country's (`None`: the users without a country).
/// An enum, not a name: a country called `all` or `unknown` is just a country.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Scope {
    All,
    Country(Option<Arc<str>>),
}

impl Scope {
    fn as_contract(&self) -> CountryScope<'_> {
        match self {
            Scope::All => CountryScope::All,
            Scope::Country(None) => CountryScope::NoCountry,
            Scope::Country(Some(c)) => CountryScope::Country(c),
        }
    }
}

/// Per (scope, event type, category): each user's interactions and miles.
type Totals = BTreeMap<(Scope, String, Option<String>), HashMap<u32, (u64, f64)>>;

/// Every scope's flows file, by file stem; an error if two scopes would share a file.
pub(super) fn files(
    events: &DataFrame,
    users: &Users,
) -> Result<BTreeMap<String, Arc<FlowsFile>>, DrillError> {
    let all = totals(events, users)?;
    let mut by_scope: BTreeMap<&Scope, Vec<Flow>> = BTreeMap::new();
    for ((scope, event, category), per_user) in &all {
        by_scope
            .entry(scope)
            .or_default()
            .push(flow(event, category, per_user, users));
    }
    let mut files: BTreeMap<String, (&Scope, Arc<FlowsFile>)> = BTreeMap::new();
    for (scope, links) in by_scope {
        let stem = scope.as_contract().file_stem();
        if let Some((other, _)) = files.get(&stem) {
            // Only two long names with the same first characters and hash get here.
            let name = |s: &Scope| match s {
                Scope::Country(Some(c)) => echo(c),
                other => format!("{other:?}"),
            };
            return Err(DrillError::StemClash {
                first: name(other),
                second: name(scope),
                stem,
            });
        }
        let file = FlowsFile::new(scope.as_contract(), links);
        files.insert(stem, (scope, Arc::new(file)));
    }
    Ok(files.into_iter().map(|(k, (_, f))| (k, f)).collect())
}

/// One flow's interactions and miles per user, dense by user index: 10M events are 10M
/// additions into arrays, not 10M map lookups (a flow's arrays are made on its first event).
struct Dense {
    interactions: Vec<u32>,
    miles: Vec<f64>,
}

fn totals(events: &DataFrame, users: &Users) -> Result<Totals, DrillError> {
    let text = |name: &str| -> Result<StringChunked, DrillError> {
        Ok(events
            .column(name)
            .and_then(|c| c.cast(&DataType::String))
            .map_err(DrillError::column(name))?
            .str()
            .map_err(DrillError::column(name))?
            .clone())
    };
    let (user, event, category) = (
        text("user_id")?,
        text("event_type")?,
        text("transaction_category")?,
    );
    let miles = events
        .column("miles_amount")
        .and_then(|c| c.cast(&DataType::Float64))
        .map_err(DrillError::column("miles_amount"))?;
    let miles = miles.f64().map_err(DrillError::column("miles_amount"))?;
    let mut ids: HashMap<(&str, Option<&str>), usize, Xxh3DefaultBuilder> = HashMap::default();
    let mut flows: Vec<((&str, Option<&str>), Dense)> = Vec::new();
    let rows = user
        .iter()
        .zip(event.iter())
        .zip(category.iter())
        .zip(miles.iter());
    for (((u, e), cat), m) in rows {
        let (Some(u), Some(e)) = (u, e) else {
            continue;
        };
        let Some(&code) = users.index.get(u) else {
            continue;
        };
        let id = *ids.entry((e, cat)).or_insert_with(|| {
            flows.push((
                (e, cat),
                Dense {
                    interactions: vec![0; users.len()],
                    miles: vec![0.0; users.len()],
                },
            ));
            flows.len() - 1
        });
        let dense = &mut flows[id].1;
        dense.interactions[code as usize] += 1;
        dense.miles[code as usize] += m.unwrap_or(0.0);
    }
    let mut totals = Totals::new();
    for ((e, cat), dense) in flows {
        let (e, cat) = (e.to_string(), cat.map(str::to_string));
        let mut all = HashMap::new();
        let mut by_country: BTreeMap<u32, HashMap<u32, (u64, f64)>> = BTreeMap::new();
        for (u, &n) in dense.interactions.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let value = (u64::from(n), dense.miles[u]);
            all.insert(u as u32, value);
            by_country
                .entry(users.country_code[u])
                .or_default()
                .insert(u as u32, value);
        }
        for (c, per_user) in by_country {
            let country = Scope::Country(users.countries[c as usize].clone());
            totals.insert((country, e.clone(), cat.clone()), per_user);
        }
        totals.insert((Scope::All, e, cat), all);
    }
    Ok(totals)
}

/// One flow's totals and its [`TOP_USERS`] most active users: most interactions first,
/// then most miles, then by user id (so equal users always list the same way).
fn flow(
    event: &str,
    category: &Option<String>,
    per_user: &HashMap<u32, (u64, f64)>,
    users: &Users,
) -> Flow {
    let mut top: Vec<(&u32, &(u64, f64))> = per_user.iter().collect();
    let order = |a: &(&u32, &(u64, f64)), b: &(&u32, &(u64, f64))| {
        b.1.0
            .cmp(&a.1.0)
            .then(b.1.1.total_cmp(&a.1.1))
            .then_with(|| users.by_id(*a.0, *b.0))
    };
    // Only the first few are listed: find them, then sort only them.
    if top.len() > TOP_USERS {
        top.select_nth_unstable_by(TOP_USERS, order);
        top.truncate(TOP_USERS);
    }
    top.sort_by(order);
    Flow {
        event_type: event.to_string(),
        transaction_category: category.clone(),
        interactions: per_user.values().map(|v| v.0).sum(),
        users: per_user.len() as u64,
        miles: per_user.values().map(|v| v.1).sum(),
        top: top
            .into_iter()
            .take(TOP_USERS)
            .map(|(u, &(n, m))| (users.id[*u as usize].to_string(), n, m))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tables::tests::tiny_users;
    use super::*;
    use contract::drill::ScopeKind;

    fn events() -> DataFrame {
        df![
            "user_id" => ["b", "b", "a", "c", "zz", "b"],
            "event_type" => ["miles_earned", "miles_earned", "miles_earned", "like", "like", "like"],
            "transaction_category" => [Some("dining"), Some("dining"), Some("dining"), None, None, None],
            "miles_amount" => [Some(10.0), Some(2.5), Some(20.0), None, None, None],
        ]
        .unwrap()
    }

    #[test]
    fn every_scope_gets_its_flows_with_the_most_active_users_first() {
        let users = tiny_users();
        let files = files(&events(), &users).unwrap();
        // b is in SG, a has no country, c is in MY; `zz` is no user and counts nowhere.
        assert_eq!(
            files.keys().map(String::as_str).collect::<Vec<_>>(),
            ["all", "c-MY", "c-SG", "none"]
        );
        let all = &files["all"];
        assert_eq!(all.scope, ScopeKind::All);
        let dining = &all.links[1];
        assert_eq!(
            (
                dining.event_type.as_str(),
                dining.transaction_category.as_deref()
            ),
            ("miles_earned", Some("dining"))
        );
        assert_eq!(
            (dining.interactions, dining.users, dining.miles),
            (3, 2, 32.5)
        );
        // b has more interactions than a, though fewer miles.
        assert_eq!(
            dining.top,
            [("b".to_string(), 2, 12.5), ("a".to_string(), 1, 20.0)]
        );
        let like = &all.links[0];
        assert_eq!(
            (like.event_type.as_str(), like.interactions, like.users),
            ("like", 2, 2)
        );
        assert_eq!(files["c-SG"].country.as_deref(), Some("SG"));
        assert_eq!(files["c-SG"].links.len(), 2);
        assert_eq!(files["none"].scope(), CountryScope::NoCountry);
        assert_eq!(files["none"].links[0].top, [("a".to_string(), 1, 20.0)]);
    }

    #[test]
    fn a_flow_lists_at_most_the_top_users_ties_by_id() {
        let users = tiny_users();
        let per_user: HashMap<u32, (u64, f64)> = (0..3).map(|u| (u, (1, 0.0))).collect();
        let f = flow("like", &None, &per_user, &users);
        let ids: Vec<&str> = f.top.iter().map(|t| t.0.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        let ids: Vec<String> = (0..25).map(|i| format!("u{i:02}")).collect();
        let times = vec!["2025-03-01 10:00:00"; 25];
        let dim = df![
            "user_id" => &ids,
            "country" => vec![Some("SG"); 25],
            "first_seen_at" => &times,
            "last_seen_at" => &times,
        ]
        .unwrap();
        let many = super::super::tables::users(&dim).unwrap();
        let per_user: HashMap<u32, (u64, f64)> = (0..25).map(|u| (u, (1, u as f64))).collect();
        let f = flow("like", &None, &per_user, &many);
        assert_eq!((f.top.len(), f.users), (TOP_USERS, 25));
        // Equal interactions: the most miles first.
        assert_eq!((f.top[0].0.as_str(), f.top[0].2), ("u24", 24.0));
    }
}
