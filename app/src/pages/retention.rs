//! Retention: the cohort heatmap (cohorts by day, week or month x D0..D90) and retention
//! curves for chosen countries or cohorts. Cells a cohort has not reached yet read
//! "not yet observed", never 0%. Click a cell for the cohort's users and who came back on
//! that day; click a country in the curves' legend to show only that country everywhere.

use std::sync::Arc;

use leptos::prelude::*;

use super::PageHead;
use crate::charts::card::ChartCard;
use crate::charts::plot::PlotEvent;
use crate::charts::retention::{Curve, curves, day_labels, heatmap};
use crate::charts::table::TableData;
use crate::components::drill::CohortDrill;
use crate::components::filters::{CountryPicker, GrainPicker};
use crate::components::notice::{Empty, mart_view};
use crate::data::drill::HeatCell;
use crate::data::format;
use crate::data::growth::countries;
use crate::data::retention::{Cohort, cohorts, pooled_rate};
use crate::marts::{Grain, MartClient, RETENTION, RETENTION_DAYS, RetentionRow};
use crate::state::{QueryState, list_value};

#[component]
pub fn Retention() -> impl IntoView {
    let query = QueryState::new();
    let client = expect_context::<MartClient>();
    let rows = Resource::new(|| (), move |_| client.fetch::<RetentionRow>(RETENTION));
    view! {
        <PageHead
            title="Retention"
            lead="Of the users who signed up on a day, the share active again exactly N days later. Grey cells: not yet observed."
        />
        {mart_view(rows, move |rows| view! { <RetentionView rows query=query.clone() /> })}
    }
}

pub fn heatmap_table(cohorts: &[Cohort]) -> TableData {
    let mut columns = vec!["cohort", "users"];
    let labels = day_labels();
    columns.extend(labels.iter().map(String::as_str));
    let mut t = TableData::new(&columns);
    for c in cohorts {
        let mut cells = vec![
            (c.date.clone(), c.date.clone()),
            (format::count(c.size as i64), c.size.to_string()),
        ];
        for i in 0..RETENTION_DAYS.len() {
            cells.push(match c.rate(i) {
                Some(r) => (format::percent(r), r.to_string()),
                None => ("not yet observed".into(), String::new()),
            });
        }
        t.push(cells);
    }
    t
}

fn curves_table(curves: &[Curve]) -> TableData {
    let mut columns = vec!["series"];
    let labels = day_labels();
    columns.extend(labels.iter().map(String::as_str));
    let mut t = TableData::new(&columns);
    for c in curves {
        let mut cells = vec![(c.name.clone(), c.name.clone())];
        cells.extend(c.rates.iter().map(|r| match r {
            Some(r) => (format::percent(*r), r.to_string()),
            None => ("not yet observed".into(), String::new()),
        }));
        t.push(cells);
    }
    t
}

fn curve(name: String, cohorts: &[Cohort]) -> Curve {
    let rates: Vec<Option<f64>> = (0..RETENTION_DAYS.len())
        .map(|i| pooled_rate(cohorts, i).map(|r| r.0))
        .collect();
    let detail = rates
        .iter()
        .map(|r| format::or_dash(*r, format::percent))
        .collect();
    Curve {
        name,
        rates,
        detail,
    }
}

#[component]
fn RetentionView(rows: Arc<Vec<RetentionRow>>, query: QueryState) -> impl IntoView {
    let all = countries(rows.iter().map(|r| r.country.as_str()));
    let grain = query.grain();
    let q = query.clone();
    let selected = Memo::new(move |_| q.list("countries"));
    let q = query.clone();
    let by_cohort = Memo::new(move |_| q.get("curves").as_deref() == Some("cohorts"));
    let buckets = {
        let rows = rows.clone();
        Memo::new(move |_| {
            let keep = selected.get();
            cohorts(&rows, grain.get(), |c| {
                keep.is_empty() || keep.iter().any(|k| k == c)
            })
        })
    };
    let lines = {
        let all = all.clone();
        Memo::new(move |_| {
            if by_cohort.get() {
                // The latest six cohorts that have reached day 7, oldest first.
                let b = buckets.get();
                let reached: Vec<&Cohort> = b.iter().filter(|c| c.retained[2].is_some()).collect();
                reached
                    .iter()
                    .rev()
                    .take(6)
                    .rev()
                    .map(|c| curve(format!("cohort {}", c.date), std::slice::from_ref(*c)))
                    .collect::<Vec<_>>()
            } else {
                let keep = selected.get();
                all.iter()
                    .filter(|c| keep.is_empty() || keep.contains(c))
                    .map(|country| {
                        curve(
                            country.clone(),
                            &cohorts(&rows, Grain::Day, |c| c == country),
                        )
                    })
                    .chain(std::iter::once(curve(
                        "all selected".into(),
                        &buckets.get(),
                    )))
                    .collect()
            }
        })
    };
    let q = query.clone();
    // Cohort periods differ per grain: an open cell no longer applies.
    let on_grain = Callback::new(move |g: Grain| {
        q.set(vec![("grain", Some(g.key().to_string())), ("cell", None)])
    });
    let q = query.clone();
    let on_countries =
        Callback::new(move |c: Vec<String>| q.set(vec![("countries", list_value(&c))]));
    let q = query.clone();
    let on_mode = Callback::new(move |cohort: bool| {
        q.set(vec![("curves", cohort.then(|| "cohorts".to_string()))])
    });
    let q = query.clone();
    let cell = Memo::new(move |_| q.get("cell").and_then(|c| HeatCell::parse(&c)));
    let q = query.clone();
    let on_heatmap = Callback::new(move |event: PlotEvent| {
        if let PlotEvent::Click { x, y, .. } = event {
            // x is "D7", y is "2025-03-03 (n=86)".
            let day = x.trim_start_matches('D');
            if let Some(cell) = HeatCell::parse(&format!("{}:{day}", y.get(..10).unwrap_or(&y))) {
                q.set(vec![("cell", Some(cell.to_query()))]);
            }
        }
    });
    // A country picked in the curves' legend filters the whole page (cross-filtering).
    let q = query.clone();
    let countries_all = all.clone();
    let on_curves = Callback::new(move |event: PlotEvent| {
        if let PlotEvent::Legend { trace } = event
            && countries_all.contains(&trace)
        {
            q.set(vec![("countries", list_value(&[trace]))]);
        }
    });
    let q = query.clone();
    let on_close = Callback::new(move |()| q.set(vec![("cell", None)]));
    let here = crate::state::link_here();
    let drill = move || {
        let cell = cell.get()?;
        let link = here.get();
        let cohort = buckets.with(|b| b.iter().find(|c| c.date == cell.cohort).cloned());
        Some(view! {
            <CohortDrill cell grain=grain.get() cohort countries=selected.get() link on_close=on_close />
        })
    };
    let empty = Memo::new(move |_| buckets.with(Vec::is_empty));
    view! {
        <div class="filters">
            <GrainPicker value=grain on_change=on_grain />
            <CountryPicker all=all selected=selected on_change=on_countries />
        </div>
        {move || {
            if empty.get() {
                return view! { <Empty what="The retention mart" /> }.into_any();
            }
            view! {
                <ChartCard
                    id="retention-heatmap"
                    title=Signal::derive(move || format!("Retention by {} cohort", grain.get().noun()))
                    subtitle="Rate = users active on day N / cohort size, pooled over the selected countries."
                    figure=Signal::derive(move || buckets.with(|b| heatmap(b)))
                    table=Signal::derive(move || buckets.with(|b| heatmap_table(b)))
                    on_event=on_heatmap
                >
                    <p class="note">
                        <span class="swatch censored"></span>
                        " n/o = not yet observed: the cohort has not reached that day in the data. It is not 0%. Click a cell for the cohort's users."
                    </p>
                </ChartCard>
                {drill}
                <div class="filters">
                    <div class="seg" role="group" aria-label="Curves by">
                        <button type="button" class="seg-btn" aria-pressed=move || (!by_cohort.get()).to_string() on:click=move |_| on_mode.run(false)>"by country"</button>
                        <button type="button" class="seg-btn" aria-pressed=move || by_cohort.get().to_string() on:click=move |_| on_mode.run(true)>"by cohort"</button>
                    </div>
                </div>
                <ChartCard
                    id="retention-curves"
                    title=Signal::derive(move || if by_cohort.get() { "Retention curves of the latest cohorts".to_string() } else { "Retention curves by country".to_string() })
                    subtitle="Each point pools every cohort that has reached that day."
                    figure=Signal::derive(move || lines.with(|l| curves(l)))
                    table=Signal::derive(move || lines.with(|l| curves_table(l)))
                    on_event=on_curves
                    legend_picks=true
                >
                    <p class="note" hidden=move || by_cohort.get()>"Click a country in the legend to show only that country on the whole page."</p>
                </ChartCard>
            }
            .into_any()
        }}
    }
}
