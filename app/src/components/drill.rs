//! Drill-down panels: a click on a growth bar or a retention cell opens the users behind
//! that number, fetched as one small file (`data/drill/...`), with its breakdown by country
//! (from the mart the page already has). The user table sorts, pages and downloads; its
//! count is checked against the number clicked.

use std::sync::Arc;

use leptos::prelude::*;

use crate::charts::table::TableData;
use crate::data::drill::{
    COHORT_COLUMNS, Cell, CohortFile, DrillFile, FlowPick, FlowsFile, HeatCell, PAGE, Selection,
    Sort, TOP_COLUMNS, USER_COLUMNS, cohort_users, count, page, sorted, top_users, users,
};
use crate::data::format;
use crate::data::retention::Cohort;
use crate::marts::{CountryScope, Grain, GrowthRow, InteractionRow, MartClient, RETENTION_DAYS};

/// A sortable, paged table of users with a CSV download of all of them. Only the page shown
/// is rendered; the CSV is built when the link is used (a panel can list 100,000 users).
#[component]
fn UserTable(
    columns: Vec<&'static str>,
    rows: Vec<Vec<Cell>>,
    csv_name: String,
    /// The initial order (default: by the first column, ascending).
    #[prop(optional)]
    sort: Sort,
) -> impl IntoView {
    let sort = RwSignal::new(sort);
    let current = RwSignal::new(0usize);
    let rows = Arc::new(rows);
    let order = {
        let rows = rows.clone();
        Memo::new(move |_| sorted(&rows, sort.get()))
    };
    let header = columns
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mark = move || match (sort.get().column == i, sort.get().descending) {
                (true, false) => " ▲",
                (true, true) => " ▼",
                _ => "",
            };
            view! {
                <th scope="col">
                    <button type="button" class="sort" on:click=move |_| {
                        sort.update(|s| *s = s.toggle(i));
                        current.set(0);
                    }>{*name}{mark}</button>
                </th>
            }
        })
        .collect_view();
    let pages = rows.len().div_ceil(PAGE).max(1);
    let body = {
        let rows = rows.clone();
        move || {
            let (shown, _) = order.with(|o| page(o, current.get()));
            shown
                .into_iter()
                .map(|i| {
                    let cells = rows[i]
                        .iter()
                        .map(|c| view! { <td>{c.0.clone()}</td> })
                        .collect_view();
                    view! { <tr>{cells}</tr> }
                })
                .collect_view()
        }
    };
    let at = move || current.get().min(pages - 1);
    let href = RwSignal::new(String::from("#"));
    let build_csv = move || {
        let mut csv = TableData::new(&columns);
        order.with_untracked(|o| {
            for &i in o {
                csv.push(rows[i].iter().map(|c| (c.0.clone(), c.0.clone())).collect());
            }
        });
        href.set(csv.csv_href());
    };
    let on_focus = build_csv.clone();
    view! {
        <p class="drill-actions">
            <a download=csv_name href=move || href.get() on:mousedown=move |_| build_csv() on:focus=move |_| on_focus()>"Download CSV"</a>
        </p>
        <div class="table-wrap">
            <table class="data drill-users">
                <thead><tr>{header}</tr></thead>
                <tbody>{body}</tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Pages of users" hidden=pages == 1>
            <button type="button" class="btn" disabled=move || at() == 0 on:click=move |_| current.update(|p| *p = p.saturating_sub(1))>"Previous"</button>
            <span>{move || format!("Page {} of {pages} ({PAGE} per page)", at() + 1)}</span>
            <button type="button" class="btn" disabled=move || at() + 1 >= pages on:click=move |_| current.update(|p| *p += 1)>"Next"</button>
        </nav>
    }
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
    let url = expect_context::<MartClient>().drill_url(grain, &selection.period, status.name());
    let file = LocalResource::new(move || MartClient::fetch_drill::<DrillFile>(url.clone()));
    let csv_name = format!("{}-{}.csv", status.name(), selection.period);
    let list = move || match file.get() {
        None => view! { <p class="loading">"Loading the users…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
        Some(Ok(f)) => {
            let rows = users(&f, &countries);
            view! {
                {listed(rows.len(), Some(count))}
                <UserTable columns=USER_COLUMNS.to_vec() rows csv_name=csv_name.clone() />
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
    let url = expect_context::<MartClient>().cohort_url(grain, &cell.cohort);
    let file = LocalResource::new(move || MartClient::fetch_drill::<CohortFile>(url.clone()));
    let label = format!("D{}", RETENTION_DAYS[day]);
    let csv_name = format!("cohort-{}-{label}.csv", cell.cohort);
    let list = {
        let label = label.clone();
        move || match file.get() {
            None => view! { <p class="loading">"Loading the users…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
            Some(Ok(f)) => {
                let (rows, seen) = cohort_users(&f, &countries, day);
                let seen_text = match seen {
                    Some(n) => format!("{} seen on {label}", format::count(n as i64)),
                    None => format!("{label} not yet observed for this cohort"),
                };
                let mut by_country: std::collections::BTreeMap<String, u64> = Default::default();
                for r in &rows {
                    if r[3].0 == "yes" {
                        *by_country.entry(r[1].0.clone()).or_default() += 1;
                    }
                }
                view! {
                    {listed(rows.len(), Some(size))}
                    <p class="drill-seen" data-drill-seen=seen.map(|n| n.to_string()).unwrap_or_default()>{seen_text}</p>
                    {breakdown_table("seen", by_country.into_iter().collect())}
                    <UserTable columns=COHORT_COLUMNS.to_vec() rows csv_name=csv_name.clone() />
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
                            rows=top_users(flow)
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
