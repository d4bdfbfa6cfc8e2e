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
use crate::marts::{Grain, MartClient, RETENTION_DAYS, RetentionRow};
use crate::state::Key;
use crate::state::filters::PageFilters;
use contract::Mart;

/// How many of the latest cohorts the curves by cohort show.
const LATEST_COHORTS: usize = 6;

#[component]
pub fn Retention() -> impl IntoView {
    let filters = PageFilters::new();
    let client = expect_context::<MartClient>();
    let rows = Resource::new(
        || (),
        move |_| client.fetch::<RetentionRow>(Mart::Retention.name()),
    );
    view! {
        <PageHead
            title="Retention"
            lead="Of the users who signed up on a day, the share active again exactly N days later. Grey cells: not yet observed."
        />
        {mart_view(rows, move |rows| view! { <RetentionView rows filters /> })}
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

/// The curves by cohort: the latest [`LATEST_COHORTS`] cohorts that have reached day 7,
/// oldest first.
pub fn cohort_curves(buckets: &[Cohort]) -> Vec<Curve> {
    let reached: Vec<&Cohort> = buckets.iter().filter(|c| c.retained[2].is_some()).collect();
    reached
        .iter()
        .rev()
        .take(LATEST_COHORTS)
        .rev()
        .map(|c| curve(format!("cohort {}", c.date), std::slice::from_ref(*c)))
        .collect()
}

/// The curves by country: one per country kept (empty `keep`: every country), then one
/// pooled over all of them (`buckets`, the selected countries' cohorts).
pub fn country_curves(
    rows: &[RetentionRow],
    all: &[String],
    keep: &[String],
    buckets: &[Cohort],
) -> Vec<Curve> {
    all.iter()
        .filter(|c| keep.is_empty() || keep.contains(c))
        .map(|country| {
            curve(
                country.clone(),
                &cohorts(rows, Grain::Day, |c| c == country),
            )
        })
        .chain(std::iter::once(curve("all selected".into(), buckets)))
        .collect()
}

/// The heatmap cell a click hit: x is "D7", y is "2025-03-03 (n=86)".
pub fn clicked_cell(event: PlotEvent) -> Option<HeatCell> {
    let PlotEvent::Click { x, y, .. } = event else {
        return None;
    };
    let day = x.trim_start_matches('D');
    HeatCell::parse(&format!("{}:{day}", y.get(..10).unwrap_or(&y)))
}

#[component]
fn RetentionView(rows: Arc<Vec<RetentionRow>>, filters: PageFilters) -> impl IntoView {
    let all = countries(rows.iter().map(|r| r.country.as_str()));
    let (grain, selected) = (filters.grain, filters.countries);
    let by_cohort = filters.flag(Key::Curves, "cohorts");
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
                cohort_curves(&buckets.get())
            } else {
                country_curves(&rows, &all, &selected.get(), &buckets.get())
            }
        })
    };
    let empty = Memo::new(move |_| buckets.with(Vec::is_empty));
    view! {
        <div class="filters">
            // Cohort periods differ per grain: an open cell no longer applies.
            <GrainPicker value=grain on_change=filters.on_grain(&[Key::Cell]) />
            <CountryPicker all=all.clone() selected=selected on_change=filters.on_countries() />
        </div>
        {move || {
            if empty.get() {
                return view! { <Empty what="The retention mart" /> }.into_any();
            }
            view! {
                <Heatmap buckets filters />
                <Drill buckets filters />
                <Curves lines by_cohort all=all.clone() filters />
            }
            .into_any()
        }}
    }
}

/// The cohort heatmap; a click on a cell opens its users.
#[component]
fn Heatmap(buckets: Memo<Vec<Cohort>>, filters: PageFilters) -> impl IntoView {
    let grain = filters.grain;
    let on_heatmap = Callback::new(move |event: PlotEvent| {
        if let Some(cell) = clicked_cell(event) {
            filters.set(Key::Cell, Some(cell.to_query()));
        }
    });
    view! {
        <ChartCard
            id="retention-heatmap"
            title=Signal::derive(move || format!("Retention by {} cohort", grain.get().name()))
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
    }
}

/// The users of the open cell, if one is open.
#[component]
fn Drill(buckets: Memo<Vec<Cohort>>, filters: PageFilters) -> impl IntoView {
    let cell = filters.parsed(Key::Cell, HeatCell::parse);
    let on_close = filters.on_close(Key::Cell);
    let here = crate::state::link_here();
    move || {
        let cell = cell.get()?;
        let link = here.get();
        let cohort = buckets.with(|b| b.iter().find(|c| c.date == cell.cohort).cloned());
        Some(view! {
            <CohortDrill cell grain=filters.grain.get() cohort countries=filters.countries.get() link on_close=on_close />
        })
    }
}

/// The curves by country or by cohort, and the switch between them.
#[component]
fn Curves(
    lines: Memo<Vec<Curve>>,
    by_cohort: Memo<bool>,
    all: Vec<String>,
    filters: PageFilters,
) -> impl IntoView {
    let on_mode = filters.on_flag(Key::Curves, "cohorts");
    // A country picked in the curves' legend filters the whole page (cross-filtering).
    let on_curves = Callback::new(move |event: PlotEvent| {
        if let PlotEvent::Legend { trace } = event
            && all.contains(&trace)
        {
            filters.set_countries(&[trace]);
        }
    });
    view! {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cohort(date: &str, size: u64, retained: [Option<u64>; 6]) -> Cohort {
        Cohort {
            date: date.into(),
            size,
            retained,
            observed_size: retained.map(|r| if r.is_some() { size } else { 0 }),
        }
    }

    #[test]
    fn curves_by_cohort_are_the_latest_that_reached_day_7() {
        let reached = [Some(10), Some(5), Some(2), None, None, None];
        let young = [Some(10), Some(5), None, None, None, None];
        let mut buckets: Vec<Cohort> = (1..=8)
            .map(|d| cohort(&format!("2025-03-0{d}"), 10, reached))
            .collect();
        buckets.push(cohort("2025-03-09", 10, young));
        let names: Vec<String> = cohort_curves(&buckets)
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(
            names,
            (3..=8)
                .map(|d| format!("cohort 2025-03-0{d}"))
                .collect::<Vec<_>>()
        );
        assert_eq!(cohort_curves(&buckets)[0].rates[2], Some(20.0));
        assert!(cohort_curves(&[]).is_empty());
    }

    #[test]
    fn curves_by_country_end_with_the_pooled_selection() {
        let all: Vec<String> = ["MY", "SG"].map(String::from).to_vec();
        let pooled = [cohort(
            "2025-03-01",
            4,
            [Some(4), None, None, None, None, None],
        )];
        let names = |keep: &[String]| -> Vec<String> {
            country_curves(&[], &all, keep, &pooled)
                .into_iter()
                .map(|c| c.name)
                .collect()
        };
        assert_eq!(names(&[]), ["MY", "SG", "all selected"]);
        assert_eq!(names(&["SG".into()]), ["SG", "all selected"]);
        let curves = country_curves(&[], &all, &[], &pooled);
        assert_eq!(curves[2].rates[0], Some(100.0));
        assert_eq!(curves[0].rates[0], None, "no rows for MY");
    }

    #[test]
    fn a_heatmap_click_names_its_cohort_and_day() {
        let click = |x: &str, y: &str| PlotEvent::Click {
            trace: String::new(),
            x: x.into(),
            y: y.into(),
            pointer_y: None,
            link: None,
        };
        assert_eq!(
            clicked_cell(click("D7", "2025-03-03 (n=86)")),
            Some(HeatCell {
                cohort: "2025-03-03".into(),
                day: 2
            })
        );
        assert_eq!(clicked_cell(click("D8", "2025-03-03 (n=86)")), None);
        assert_eq!(clicked_cell(click("D7", "short")), None);
        let legend = PlotEvent::Legend { trace: "SG".into() };
        assert_eq!(clicked_cell(legend), None);
    }
}
