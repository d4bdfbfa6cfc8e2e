//! The drill-down panel: opened by a click on a growth bar, it shows that number's
//! breakdown by country (from the mart the page already has) and the users behind it
//! (fetched as one small file: `data/drill/<grain>/<period>/<status>.json`), sortable,
//! paged and downloadable. Its count is the bar's value; the list is checked against it.

use std::sync::Arc;

use leptos::prelude::*;

use crate::charts::table::TableData;
use crate::data::drill::{DrillFile, PAGE, Selection, Sort, USER_COLUMNS, UserRow, page, users};
use crate::data::format;
use crate::marts::{Grain, GrowthRow, MartClient};

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
        .map(|r| (r.country.clone(), status.count(r)))
        .collect();
    breakdown.sort();
    let count: u64 = breakdown.iter().map(|b| b.1).sum();
    let url = expect_context::<MartClient>().drill_url(grain, &selection.period, status.key());
    let file = LocalResource::new(move || MartClient::fetch_drill::<DrillFile>(url.clone()));
    let sort = RwSignal::new(Sort::default());
    let current = RwSignal::new(0usize);
    let csv_name = format!("{}-{}.csv", status.key(), selection.period);
    let tag = selection.to_query();
    let title = format!(
        "{} users · {} of {}",
        status.label(),
        grain.noun(),
        selection.period
    );
    let list = {
        let countries = countries.clone();
        move || -> Option<Result<Vec<UserRow>, String>> {
            let file = file.get()?;
            Some(file.map(|f| users(&f, &countries, sort.get())))
        }
    };
    let table = move |rows: Vec<UserRow>| {
        let total = rows.len();
        let mut csv = TableData::new(&USER_COLUMNS);
        for r in &rows {
            csv.push(vec![
                (r.0.clone(), r.0.clone()),
                (
                    r.1.clone().unwrap_or_default(),
                    r.1.clone().unwrap_or_default(),
                ),
                (r.2.clone(), r.2.clone()),
                (r.3.clone(), r.3.clone()),
                (r.4.to_string(), r.4.to_string()),
            ]);
        }
        let (shown, pages) = page(&rows, current.get());
        let at = current.get().min(pages - 1);
        let header = USER_COLUMNS
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let mark = move || {
                    let s = sort.get();
                    match (s.column == i, s.descending) {
                        (true, false) => " ▲",
                        (true, true) => " ▼",
                        _ => "",
                    }
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
        let body = shown
            .into_iter()
            .map(|r| {
                view! {
                    <tr>
                        <td>{r.0}</td>
                        <td>{r.1.unwrap_or_else(|| "unknown".into())}</td>
                        <td>{r.2}</td>
                        <td>{r.3}</td>
                        <td>{format::count(r.4 as i64)}</td>
                    </tr>
                }
            })
            .collect_view();
        let matches = total as u64 == count;
        view! {
            <p class="drill-count">
                <span data-drill-users=total>{format::count(total as i64)}</span>
                " users listed"
                {(!matches).then(|| view! {
                    <span class="error">{format!(" (the chart says {}: rebuild the warehouse with `heymax run`)", format::count(count as i64))}</span>
                })}
                " · "
                <a download=csv_name.clone() href=csv.csv_href()>"Download CSV"</a>
            </p>
            <div class="table-wrap">
                <table class="data drill-users">
                    <thead><tr>{header}</tr></thead>
                    <tbody>{body}</tbody>
                </table>
            </div>
            <nav class="pager" aria-label="Pages of users" hidden=pages == 1>
                <button type="button" class="btn" disabled=at == 0 on:click=move |_| current.update(|p| *p = p.saturating_sub(1))>"Previous"</button>
                <span>{format!("Page {} of {pages} ({PAGE} per page)", at + 1)}</span>
                <button type="button" class="btn" disabled=at + 1 >= pages on:click=move |_| current.update(|p| *p += 1)>"Next"</button>
            </nav>
        }
    };
    let breakdown_rows = breakdown
        .into_iter()
        .map(|(c, n)| view! { <tr><td>{c}</td><td>{format::count(n as i64)}</td></tr> })
        .collect_view();
    view! {
        <section class="card drill" aria-label="Drill-down" data-drill=tag>
            <header class="card-head">
                <div>
                    <h2>{title}</h2>
                    <p class="sub">
                        <span class="drill-total" data-drill-count=count>{format::count(count as i64)}</span>
                        " users, the value of the bar. "
                        <a href=link>"Link to this selection"</a>
                    </p>
                </div>
                <div class="card-actions">
                    <button type="button" class="btn" on:click=move |_| on_close.run(())>"Close"</button>
                </div>
            </header>
            <div class="drill-body">
                <table class="data drill-countries">
                    <thead><tr><th scope="col">"country"</th><th scope="col">{status.key()}</th></tr></thead>
                    <tbody>{breakdown_rows}</tbody>
                </table>
                <div class="drill-list">
                    {move || match list() {
                        None => view! { <p class="loading">"Loading the users…"</p> }.into_any(),
                        Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                        Some(Ok(rows)) => table(rows).into_any(),
                    }}
                </div>
            </div>
        </section>
    }
}
