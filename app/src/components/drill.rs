//! Drill-down panels: a click on a growth bar or a retention cell opens the users behind
//! that number. The panel fetches the selection's header (`data/drill/...`, a few KB: the
//! exact count, the count of each country, the first chunk of users) and the dictionary
//! shards of the users on the page shown, nothing else (see `data::selection`); a growth
//! breakdown by country comes from the mart the page already has, a cohort's from the
//! header. Another page fetches its own pieces; sorting by another column or the CSV fetch
//! every piece first, with progress. The user count is checked against the number clicked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use contract::drill::{Header, Kind, Member, UserShard, decode_chunk};
use contract::{Grain, Status};
use leptos::prelude::*;

use crate::charts::table::TableData;
use crate::data::drill::{
    COHORT_COLUMNS, Cell, FlowPick, FlowsFile, HeatCell, PAGE, Selection, Sort, TOP_COLUMNS,
    USER_COLUMNS, count, page, sorted, top_users,
};
use crate::data::format;
use crate::data::retention::Cohort;
use crate::data::selection::{
    all_members, cohort_row, cohort_seen, growth_row, kept, page_span, pick, shards_of,
};
use crate::marts::{CountryScope, GrowthRow, InteractionRow, MartClient, RETENTION_DAYS};

/// A sortable, paged table of users with a CSV download of all of them. Only the page shown
/// is rendered. The rows are all there (`rows`: a flow's top users), or fetched a page at a
/// time from a selection (`loader`) until sorting by another column or the CSV needs every
/// one: then all are fetched, with progress, and the table works on them as on `rows`.
#[component]
fn UserTable(
    columns: Vec<&'static str>,
    csv_name: String,
    #[prop(optional)] rows: Option<Arc<Vec<Vec<Cell>>>>,
    #[prop(optional)] loader: Option<Loader>,
    /// The initial order (default: by the first column, ascending).
    #[prop(optional)]
    sort: Sort,
) -> impl IntoView {
    let total = match (&rows, &loader) {
        (Some(rows), _) => rows.len(),
        (None, Some(loader)) => loader.total(),
        (None, None) => 0,
    };
    let all = RwSignal::new(rows);
    let sort = RwSignal::new(sort);
    let current = RwSignal::new(0usize);
    let progress: RwSignal<Option<String>> = RwSignal::new(None);
    let failed: RwSignal<Option<String>> = RwSignal::new(None);
    let wants_csv = RwSignal::new(false);
    // A page in the default order, while not every row is here.
    let shown = loader.clone().map(|loader| {
        LocalResource::new(move || {
            let loader = loader.clone();
            let p = current.get();
            async move { loader.page(p).await }
        })
    });
    let need_all = move || {
        let Some(loader) = loader.clone() else { return };
        if all.with_untracked(Option::is_some) || progress.get_untracked().is_some() {
            return;
        }
        let users = format::count(total as i64);
        progress.set(Some(format!("Loading all {users} users…")));
        leptos::task::spawn_local(async move {
            let report = |done: usize, of: usize| {
                progress.set(Some(format!(
                    "Loading all {users} users: {done} of {of} files…"
                )))
            };
            match loader.all(report).await {
                Ok(rows) => all.set(Some(Arc::new(rows))),
                Err(e) => failed.set(Some(e)),
            }
            progress.set(None);
        });
    };
    let order = Memo::new(move |_| all.with(|a| a.as_ref().map(|rows| sorted(rows, sort.get()))));
    let header = columns
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mark = move || match (sort.get().column == i, sort.get().descending) {
                (true, false) => " ▲",
                (true, true) => " ▼",
                _ => "",
            };
            let need_all = need_all.clone();
            view! {
                <th scope="col">
                    <button type="button" class="sort" on:click=move |_| {
                        sort.update(|s| *s = s.toggle(i));
                        current.set(0);
                        if sort.get_untracked() != Sort::default() {
                            need_all();
                        }
                    }>{*name}{mark}</button>
                </th>
            }
        })
        .collect_view();
    let pages = total.div_ceil(PAGE).max(1);
    let body = move || {
        let rows: Vec<Vec<Cell>> = match (all.get(), order.get()) {
            (Some(rows), Some(order)) => {
                let (shown, _) = page(&order, current.get());
                shown.into_iter().map(|i| rows[i].clone()).collect()
            }
            // Sorted some other way, but not every row is here yet: the progress says so.
            _ if sort.get() != Sort::default() => Vec::new(),
            _ => match shown.and_then(|s| s.get()) {
                Some(Ok(rows)) => rows,
                _ => Vec::new(),
            },
        };
        rows.into_iter()
            .map(|r| {
                let cells = r
                    .into_iter()
                    .map(|c| view! { <td>{c.0}</td> })
                    .collect_view();
                view! { <tr>{cells}</tr> }
            })
            .collect_view()
    };
    let error = move || {
        let page_error = shown.and_then(|s| s.get()).and_then(Result::err);
        failed
            .get()
            .or(page_error)
            .map(|e| view! { <p class="error" role="alert">{e}</p> })
    };
    let at = move || current.get().min(pages - 1);
    let href = RwSignal::new(String::from("#"));
    let csv_href = move || {
        let mut csv = TableData::new(&columns);
        all.with_untracked(|a| {
            if let (Some(rows), Some(order)) = (a, order.get_untracked()) {
                for i in order {
                    csv.push(rows[i].iter().map(|c| (c.0.clone(), c.0.clone())).collect());
                }
            }
        });
        csv.csv_href()
    };
    let build_csv = {
        let csv_href = csv_href.clone();
        move || {
            if all.with_untracked(Option::is_some) {
                href.set(csv_href());
            }
        }
    };
    let on_focus = build_csv.clone();
    let on_click = move |ev: leptos::ev::MouseEvent| {
        if all.with_untracked(Option::is_none) {
            ev.prevent_default();
            wants_csv.set(true);
            need_all();
        }
    };
    let anchor = NodeRef::<leptos::html::A>::new();
    // Asked for before every row was here: downloaded once they are.
    Effect::new(move |_| {
        if !wants_csv.get() || all.with(Option::is_none) {
            return;
        }
        wants_csv.set(false);
        let _csv = csv_href();
        // Set on the element itself: the click must see it now, not after a re-render.
        #[cfg(target_arch = "wasm32")]
        if let Some(a) = anchor.get_untracked() {
            a.set_href(&_csv);
            a.click();
        }
    });
    view! {
        <p class="drill-actions">
            <a node_ref=anchor download=csv_name href=move || href.get() on:mousedown=move |_| build_csv() on:focus=move |_| on_focus() on:click=on_click>"Download CSV"</a>
            {move || progress.get().map(|p| view! { <span class="drill-progress" role="status">" "{p}</span> })}
        </p>
        {error}
        <div class="table-wrap">
            <table class="data drill-users">
                <thead><tr>{header}</tr></thead>
                <tbody>{body}</tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Pages of users" hidden=pages == 1>
            <button type="button" class="btn" disabled=move || at() == 0 on:click=move |_| current.update(|p| *p = p.saturating_sub(1))>"Previous"</button>
            <span>{move || format!("Page {} of {pages} ({PAGE} per page)", at() + 1)}</span>
            <button type="button" class="btn" disabled=move || { at() + 1 >= pages } on:click=move |_| current.update(|p| *p += 1)>"Next"</button>
        </nav>
    }
}

/// Which selection a [`Loader`] reads, and how its members print.
#[derive(Clone, Debug)]
enum Target {
    Growth {
        grain: Grain,
        period: String,
        status: Status,
    },
    /// A cohort period, its rows marked for the `day`-th retention day.
    Cohort {
        grain: Grain,
        period: String,
        day: usize,
    },
}

/// What a panel has fetched of its selection: chunks by number, shards by number.
#[derive(Default)]
struct Fetched {
    chunks: HashMap<usize, Arc<Vec<Member>>>,
    shards: HashMap<u32, Arc<UserShard>>,
}

/// How many files the panel fetches at once (a browser opens about six connections a host).
const AT_ONCE: usize = 6;

/// Fetches the pieces of one selection a page needs, keeping what it fetched.
#[derive(Clone)]
struct Loader {
    header: Arc<Header>,
    keep: Arc<Vec<bool>>,
    target: Target,
    client: MartClient,
    fetched: Arc<Mutex<Fetched>>,
}

impl Loader {
    fn new(header: Arc<Header>, countries: &[String], target: Target, client: MartClient) -> Self {
        let mut fetched = Fetched::default();
        fetched.chunks.insert(0, Arc::new(header.first.clone()));
        Loader {
            keep: Arc::new(kept(&header, countries)),
            header,
            target,
            client,
            fetched: Arc::new(Mutex::new(fetched)),
        }
    }

    /// The users the page's countries keep.
    fn total(&self) -> usize {
        self.header.count_of(&self.keep) as usize
    }

    fn chunk_url(&self, k: usize) -> String {
        match &self.target {
            Target::Growth {
                grain,
                period,
                status,
            } => self.client.drill_url(*grain, period, status.name(), k),
            Target::Cohort { grain, period, .. } => self.client.cohort_url(*grain, period, k),
        }
    }

    fn fetched(&self) -> std::sync::MutexGuard<'_, Fetched> {
        // One thread in the browser: a poisoned lock only means a panic elsewhere.
        self.fetched.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Fetches the chunks of `ks` not fetched yet, side by side.
    async fn chunks(&self, ks: &[usize]) -> Result<(), String> {
        let missing: Vec<usize> = {
            let f = self.fetched();
            ks.iter()
                .copied()
                .filter(|k| !f.chunks.contains_key(k))
                .collect()
        };
        let urls: Vec<String> = missing.iter().map(|&k| self.chunk_url(k)).collect();
        let got =
            futures::future::join_all(urls.iter().cloned().map(MartClient::fetch_bytes)).await;
        for ((k, url), bytes) in missing.into_iter().zip(&urls).zip(got) {
            let bytes = bytes?;
            let (n, members) = decode_chunk(&bytes, self.header.kind, self.header.version)
                .map_err(|e| format!("{url}: {e}"))?;
            if n != k {
                return Err(format!("{url} holds chunk {n}: {STALE}"));
            }
            self.header
                .check_chunk(k, &members)
                .map_err(|e| format!("{url}: {e}"))?;
            self.fetched().chunks.insert(k, Arc::new(members));
        }
        Ok(())
    }

    /// Fetches the dictionary shards of `shards` not fetched yet, side by side.
    async fn shards(&self, shards: &[u32]) -> Result<(), String> {
        let missing: Vec<u32> = {
            let f = self.fetched();
            shards
                .iter()
                .copied()
                .filter(|s| !f.shards.contains_key(s))
                .collect()
        };
        let urls: Vec<String> = missing.iter().map(|&s| self.client.users_url(s)).collect();
        let got =
            futures::future::join_all(urls.iter().cloned().map(MartClient::fetch_bytes)).await;
        for ((s, url), bytes) in missing.into_iter().zip(&urls).zip(got) {
            let shard = UserShard::decode(&bytes?).map_err(|e| format!("{url}: {e}"))?;
            if shard.version != self.header.version {
                return Err(format!("{url} is of another run: {STALE}"));
            }
            self.fetched().shards.insert(s, Arc::new(shard));
        }
        Ok(())
    }

    /// The rows of `members`, their shards fetched first.
    async fn rows(&self, members: &[Member]) -> Result<Vec<Vec<Cell>>, String> {
        self.shards(&shards_of(members, self.header.shard)).await?;
        let f = self.fetched();
        members
            .iter()
            .map(|m| {
                let shard = f.shards.get(&(m.user / self.header.shard));
                let user = shard
                    .and_then(|s| s.get(m.user))
                    .ok_or_else(|| format!("user {} is not in its shard: {STALE}", m.user))?;
                Ok(match self.target {
                    Target::Growth { .. } => growth_row(&self.header, m, user),
                    Target::Cohort { day, .. } => cohort_row(&self.header, m, user, day),
                })
            })
            .collect()
    }

    /// Page `p` (from 0) in the default order: only its chunks and shards are fetched.
    async fn page(&self, p: usize) -> Result<Vec<Vec<Cell>>, String> {
        let span = page_span(&self.header, &self.keep, p, PAGE);
        self.chunks(&span.iter().map(|s| s.0).collect::<Vec<_>>())
            .await?;
        let members: Vec<Member> = {
            let f = self.fetched();
            span.iter()
                .filter_map(|&(k, skip, take)| {
                    f.chunks.get(&k).map(|c| pick(c, &self.keep, skip, take))
                })
                .flatten()
                .collect()
        };
        self.rows(&members).await
    }

    /// Every kept member's row, fetching what is missing a few files at a time and
    /// reporting `(files done, files to fetch)`.
    async fn all(&self, progress: impl Fn(usize, usize)) -> Result<Vec<Vec<Cell>>, String> {
        let missing: Vec<usize> = {
            let f = self.fetched();
            (0..self.header.chunks.len())
                .filter(|k| !f.chunks.contains_key(k))
                .collect()
        };
        let mut done = 0;
        progress(done, missing.len());
        for batch in missing.chunks(AT_ONCE) {
            self.chunks(batch).await?;
            done += batch.len();
            progress(done, missing.len());
        }
        let members = {
            let f = self.fetched();
            let chunks: Vec<Arc<Vec<Member>>> = (0..self.header.chunks.len())
                .filter_map(|k| f.chunks.get(&k).cloned())
                .collect();
            all_members(chunks.iter().map(|c| c.as_slice()), &self.keep)
        };
        let shards: Vec<u32> = {
            let f = self.fetched();
            shards_of(&members, self.header.shard)
                .into_iter()
                .filter(|s| !f.shards.contains_key(s))
                .collect()
        };
        let files = missing.len() + shards.len();
        for batch in shards.chunks(AT_ONCE * 2) {
            self.shards(batch).await?;
            done += batch.len();
            progress(done, files);
        }
        self.rows(&members).await
    }
}

/// A selection's header with its first chunk.
async fn fetch_header(url: String, kind: Kind) -> Result<Arc<Header>, String> {
    let bytes = MartClient::fetch_bytes(url.clone()).await?;
    Header::decode(&bytes, kind)
        .map(Arc::new)
        .map_err(|e| format!("{url}: {e}"))
}

/// What to do when a drill file and the page's mart disagree: they come from the same run,
/// so the page is older than the data (a run finished since it loaded).
const STALE: &str = "a run finished since this page loaded: reload it";

/// How many users a panel lists, flagged if it is not the number that was clicked.
fn listed(total: usize, expected: Option<u64>) -> impl IntoView {
    let mismatch = expected.filter(|&e| e != total as u64);
    view! {
        <p class="drill-count">
            <span data-drill-users=total>{format::count(total as i64)}</span>
            " users listed"
            {mismatch.map(|e| view! {
                <span class="error">{format!(" (the chart says {}: {STALE})", format::count(e as i64))}</span>
            })}
        </p>
    }
}

/// The panel frame: title, the number clicked, a link that reproduces it, Close.
#[component]
fn Panel(
    title: String,
    tag: String,
    count: u64,
    what: &'static str,
    link: String,
    on_close: Callback<()>,
    children: Children,
) -> impl IntoView {
    view! {
        <section class="card drill" aria-label="Drill-down" data-drill=tag>
            <header class="card-head">
                <div>
                    <h2>{title}</h2>
                    <p class="sub">
                        <span class="drill-total" data-drill-count=count>{format::count(count as i64)}</span>
                        {format!(" users, {what}. ")}
                        <a href=link>"Link to this selection"</a>
                    </p>
                </div>
                <div class="card-actions">
                    <button type="button" class="btn" on:click=move |_| on_close.run(())>"Close"</button>
                </div>
            </header>
            <div class="drill-body">{children()}</div>
        </section>
    }
}

fn breakdown_table(heading: &'static str, rows: Vec<(String, u64)>) -> impl IntoView {
    let body = rows
        .into_iter()
        .map(|(c, n)| view! { <tr><td>{c}</td><td>{format::count(n as i64)}</td></tr> })
        .collect_view();
    view! {
        <table class="data drill-countries">
            <thead><tr><th scope="col">"country"</th><th scope="col">{heading}</th></tr></thead>
            <tbody>{body}</tbody>
        </table>
    }
}

/// The users behind one growth bar: a status in a period.
#[component]
pub fn GrowthDrill(
    selection: Selection,
    grain: Grain,
    rows: Arc<Vec<GrowthRow>>,
    /// The countries the page shows (empty: all).
    countries: Vec<String>,
    /// The URL that reproduces this selection.
    link: String,
    on_close: Callback<()>,
) -> impl IntoView {
    let status = selection.status;
    let keep = |c: &str| countries.is_empty() || countries.iter().any(|k| k == c);
    let mut breakdown: Vec<(String, u64)> = rows
        .iter()
        .filter(|r| r.period == selection.period && keep(&r.country))
        .map(|r| (r.country.clone(), count(status, r)))
        .collect();
    breakdown.sort();
    let count: u64 = breakdown.iter().map(|b| b.1).sum();
    let client = expect_context::<MartClient>();
    let url = client.drill_url(grain, &selection.period, status.name(), 0);
    let file = LocalResource::new(move || fetch_header(url.clone(), Kind::Growth));
    let csv_name = format!("{}-{}.csv", status.name(), selection.period);
    let target = Target::Growth {
        grain,
        period: selection.period.clone(),
        status,
    };
    let list = move || match file.get() {
        None => view! { <p class="loading">"Loading the users…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
        Some(Ok(header)) => {
            let loader = Loader::new(header, &countries, target.clone(), client.clone());
            view! {
                {listed(loader.total(), Some(count))}
                <UserTable loader columns=USER_COLUMNS.to_vec() csv_name=csv_name.clone() />
            }
            .into_any()
        }
    };
    view! {
        <Panel
            title=format!("{} users · {} of {}", status.label(), grain.name(), selection.period)
            tag=selection.to_query()
            count
            what="the value of the bar"
            link
            on_close
        >
            {breakdown_table(status.name(), breakdown)}
            <div class="drill-list">{list}</div>
        </Panel>
    }
}

/// The users of one retention cell: a cohort period, and who was seen on day N.
#[component]
pub fn CohortDrill(
    cell: HeatCell,
    grain: Grain,
    /// The heatmap's cohort for this period (its size and retained counts).
    cohort: Option<Cohort>,
    countries: Vec<String>,
    link: String,
    on_close: Callback<()>,
) -> impl IntoView {
    let day = cell.day;
    let retained = cohort.as_ref().and_then(|c| c.retained[day]);
    let size = cohort.as_ref().map_or(0, |c| c.size);
    let client = expect_context::<MartClient>();
    let url = client.cohort_url(grain, &cell.cohort, 0);
    let file = LocalResource::new(move || fetch_header(url.clone(), Kind::Cohort));
    let label = format!("D{}", RETENTION_DAYS[day]);
    let csv_name = format!("cohort-{}-{label}.csv", cell.cohort);
    let target = Target::Cohort {
        grain,
        period: cell.cohort.clone(),
        day,
    };
    let list = {
        let label = label.clone();
        move || match file.get() {
            None => view! { <p class="loading">"Loading the users…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
            Some(Ok(header)) => {
                let loader = Loader::new(header, &countries, target.clone(), client.clone());
                let (seen, by_country) = cohort_seen(&loader.header, &loader.keep, day);
                let seen_text = match seen {
                    Some(n) => format!("{} seen on {label}", format::count(n as i64)),
                    None => format!("{label} not yet observed for this cohort"),
                };
                view! {
                    {listed(loader.total(), Some(size))}
                    <p class="drill-seen" data-drill-seen=seen.map(|n| n.to_string()).unwrap_or_default()>{seen_text}</p>
                    {breakdown_table("seen", by_country)}
                    <UserTable loader columns=COHORT_COLUMNS.to_vec() csv_name=csv_name.clone() />
                }
                .into_any()
            }
        }
    };
    let what = match retained {
        Some(_) => "the cohort's size",
        None => "the cohort's size (this day is not observed yet)",
    };
    view! {
        <Panel
            title=format!("Cohort of {} {} · {label}: {} retained", grain.name(), cell.cohort, retained.map_or("n/o".to_string(), |r| format::count(r as i64)))
            tag=cell.to_query()
            count=size
            what
            link
            on_close
        >
            <div class="drill-list">{list}</div>
        </Panel>
    }
}

/// A flow's totals, as the mart has them.
fn flow_summary(r: InteractionRow) -> impl IntoView {
    view! {
        <table class="data drill-countries">
            <tbody>
                <tr><td>"interactions"</td><td data-flow="interactions">{format::count(r.interactions as i64)}</td></tr>
                <tr><td>"users"</td><td data-flow="users">{format::count(r.users as i64)}</td></tr>
                <tr><td>"miles"</td><td data-flow="miles">{format::number(r.miles)}</td></tr>
                <tr><td>"share of event type"</td><td data-flow="share">{format::share(r.share)}</td></tr>
            </tbody>
        </table>
    }
}

/// One Sankey link: a country's (or all countries') events of one type and category,
/// summarised, with its most active users.
#[component]
pub fn FlowDrill(
    pick: FlowPick,
    /// `None`: all countries.
    country: Option<String>,
    /// The page's flows for that country (the mart, summed when all countries).
    flows: Vec<InteractionRow>,
    link: String,
    on_close: Callback<()>,
) -> impl IntoView {
    let row = flows
        .into_iter()
        .find(|f| f.event_type == pick.event_type && f.transaction_category == pick.category);
    let count = row.as_ref().map_or(0, |r| r.users);
    let scope = match country.as_deref() {
        None => CountryScope::All,
        Some(c) if c == crate::marts::NO_COUNTRY => CountryScope::NoCountry,
        Some(c) => CountryScope::Country(c),
    };
    // The file's name, not the country's: it is made for paths (see `CountryScope`).
    let key = scope.file_stem();
    let url = expect_context::<MartClient>().interactions_url(scope);
    let file = LocalResource::new(move || MartClient::fetch_drill::<FlowsFile>(url.clone()));
    let category = pick.category.clone().unwrap_or_else(|| "none".into());
    let where_ = country.unwrap_or_else(|| "all countries".into());
    let csv_name = format!("{key}-{}-{category}.csv", pick.event_type);
    let summary = row.map(flow_summary);
    let list = {
        let pick = pick.clone();
        move || {
            match file.get() {
            None => view! { <p class="loading">"Loading the users…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
            Some(Ok(f)) => match pick.find(&f) {
                None => view! { <p class="error" role="alert">{format!("This flow has no users in the drill-down data: {STALE}.")}</p> }.into_any(),
                Some(flow) => {
                    let mismatch = (flow.users != count).then(|| view! {
                        <span class="error">{format!(" (the mart says {}: {STALE})", format::count(count as i64))}</span>
                    });
                    view! {
                        <p class="drill-count">
                            "The "{flow.top.len()}" most active of "
                            <span data-drill-users=flow.users>{format::count(flow.users as i64)}</span>
                            " users"{mismatch}
                        </p>
                        <UserTable
                            columns=TOP_COLUMNS.to_vec()
                            rows=Arc::new(top_users(flow))
                            csv_name=csv_name.clone()
                            sort=Sort { column: 1, descending: true }
                        />
                    }
                    .into_any()
                }
            },
        }
        }
    };
    view! {
        <Panel
            title=format!("{} → {category} · {where_}", pick.event_type)
            tag=pick.to_query()
            count
            what="who had these events"
            link
            on_close
        >
            {summary}
            <div class="drill-list">{list}</div>
        </Panel>
    }
}
