//! Growth: stacked new / retained / resurrected bars above zero, churned below, active
//! users as a line, and the quick ratio; by day, week or month, for chosen countries and
//! dates, with or without the incomplete last period. Click a bar for the users behind it;
//! brush a range on either chart to filter the page (charts and the range totals) to it.

use std::sync::Arc;

use leptos::prelude::*;

use super::PageHead;
use crate::charts::card::ChartCard;
use crate::charts::growth::{accounting, quick_ratio};
use crate::charts::plot::PlotEvent;
use crate::charts::table::TableData;
use crate::components::drill::GrowthDrill;
use crate::components::filters::{
    ActiveFilter, CountryPicker, DateRange, FilterChips, GrainPicker, Switch, range_and_countries,
};
use crate::components::notice::{Empty, mart_view};
use crate::data::drill::{Selection, Status, periods_in_range, status_at};
use crate::data::format;
use crate::data::growth::{Filter, Period, aggregate, countries};
use crate::marts::{Grain, GrowthRow, MartClient};
use crate::state::{QueryState, list_value};

#[component]
pub fn Growth() -> impl IntoView {
    let query = QueryState::new();
    let grain = query.grain();
    let client = expect_context::<MartClient>();
    let rows = Resource::new(
        move || grain.get(),
        move |g| client.fetch::<GrowthRow>(g.mart()),
    );
    view! {
        <PageHead
            title="Growth"
            lead="Who is new, who stayed, who came back and who left, per period. Active = new + retained + resurrected."
        />
        {mart_view(rows, move |rows| view! { <GrowthView rows grain query=query.clone() /> })}
    }
}

/// The growth table: one row per period, raw values for the CSV.
pub fn table(periods: &[Period]) -> TableData {
    let mut t = TableData::new(&[
        "period",
        "new",
        "retained",
        "resurrected",
        "churned",
        "active",
        "growth",
        "quick ratio",
        "complete",
    ]);
    for p in periods {
        let n = |v: u64| (format::count(v as i64), v.to_string());
        t.push(vec![
            (p.period.clone(), p.period.clone()),
            n(p.new_users),
            n(p.retained_users),
            n(p.resurrected_users),
            n(p.churned_users),
            n(p.active_users),
            (format::signed(p.growth), p.growth.to_string()),
            (
                format::ratio(p.quick_ratio()),
                p.quick_ratio().map(|q| q.to_string()).unwrap_or_default(),
            ),
            (
                if p.is_complete { "yes" } else { "incomplete" }.into(),
                p.is_complete.to_string(),
            ),
        ]);
    }
    t
}

#[component]
fn GrowthView(rows: Arc<Vec<GrowthRow>>, grain: Memo<Grain>, query: QueryState) -> impl IntoView {
    let all = countries(rows.iter().map(|r| r.country.as_str()));
    let (min, max) = (
        rows.iter()
            .map(|r| r.period.clone())
            .min()
            .unwrap_or_default(),
        rows.iter()
            .map(|r| r.period.clone())
            .max()
            .unwrap_or_default(),
    );
    let filter = {
        let q = query.clone();
        Memo::new(move |_| Filter {
            countries: q.list("countries"),
            from: q.get("from"),
            to: q.get("to"),
            complete_only: q.get("complete").as_deref() == Some("1"),
        })
    };
    let periods = {
        let rows = rows.clone();
        Memo::new(move |_| aggregate(&rows, &filter.get()))
    };
    let selection = {
        let q = query.clone();
        Memo::new(move |_| q.get("drill").and_then(|d| Selection::parse(&d)))
    };
    let set = |q: &QueryState| {
        let q = q.clone();
        move |updates| q.set(updates)
    };
    let on_grain = Callback::new({
        let set = set(&query);
        move |g: Grain| {
            // Periods differ per grain: a date range or an open bar no longer applies.
            set(vec![
                ("grain", Some(g.key().to_string())),
                ("from", None),
                ("to", None),
                ("drill", None),
            ])
        }
    });
    let on_countries = Callback::new({
        let set = set(&query);
        move |c: Vec<String>| set(vec![("countries", list_value(&c))])
    });
    let on_dates = Callback::new({
        let set = set(&query);
        move |(from, to): (Option<String>, Option<String>)| set(vec![("from", from), ("to", to)])
    });
    let on_complete = Callback::new({
        let set = set(&query);
        move |on: bool| set(vec![("complete", on.then(|| "1".to_string()))])
    });
    // A bar click opens its users; a brushed range becomes the page's date filter.
    let on_chart = Callback::new({
        let set = set(&query);
        move |event: PlotEvent| match event {
            PlotEvent::Click {
                trace,
                x,
                pointer_y,
                ..
            } => {
                let period = x.get(..10).unwrap_or(&x).to_string();
                // The unified hover reports every series at this x: the pointer's height
                // says which stacked segment was clicked.
                let status = match pointer_y {
                    Some(y) => periods.with_untracked(|ps| {
                        ps.iter()
                            .find(|p| p.period == period)
                            .and_then(|p| status_at(p, y))
                    }),
                    None => Status::from_label(&trace),
                };
                if let Some(status) = status {
                    set(vec![(
                        "drill",
                        Some(Selection { period, status }.to_query()),
                    )]);
                }
            }
            PlotEvent::Range { from, to } => {
                let labels: Vec<String> =
                    periods.with_untracked(|ps| ps.iter().map(|p| p.period.clone()).collect());
                if let Some((from, to)) = periods_in_range(&labels, &from, &to) {
                    set(vec![("from", Some(from)), ("to", Some(to))]);
                }
            }
            PlotEvent::Legend { .. } => {}
        }
    });
    let active = Signal::derive({
        let q = query.clone();
        move || {
            let f = filter.get();
            let mut active = range_and_countries(&f.from, &f.to, &f.countries);
            if let Some(s) = q.get("drill").and_then(|d| Selection::parse(&d)) {
                active.push(ActiveFilter {
                    label: format!("{} users, {}", s.status.label(), s.period),
                    keys: vec!["drill"],
                });
            }
            active
        }
    });
    let on_clear = Callback::new({
        let set = set(&query);
        move |keys: Vec<&'static str>| set(keys.into_iter().map(|k| (k, None)).collect())
    });
    let on_close = Callback::new({
        let set = set(&query);
        move |()| set(vec![("drill", None)])
    });
    let here = crate::state::link_here();
    let drill = move || {
        let selection = selection.get()?;
        let link = here.get();
        Some(view! {
            <GrowthDrill
                selection
                grain=grain.get()
                rows=rows.clone()
                countries=filter.get().countries
                link
                on_close=on_close
            />
        })
    };
    let incomplete_note = move || {
        periods.with(|ps| {
            ps.iter()
                .filter(|p| !p.is_complete)
                .map(|p| p.period.clone())
                .collect::<Vec<_>>()
        })
    };
    let empty = Memo::new(move |_| periods.with(Vec::is_empty));
    view! {
        <div class="filters">
            <GrainPicker value=grain on_change=on_grain />
            <CountryPicker all=all selected=Signal::derive(move || filter.get().countries) on_change=on_countries />
            <DateRange
                min=min
                max=max
                from=Signal::derive(move || filter.get().from)
                to=Signal::derive(move || filter.get().to)
                on_change=on_dates
            />
            <Switch label="Complete periods only" on=Signal::derive(move || filter.get().complete_only) on_change=on_complete />
        </div>
        <FilterChips active=active on_clear=on_clear />
        {move || {
            if empty.get() {
                return view! { <Empty what="The growth mart" /> }.into_any();
            }
            view! {
                <RangeTotals periods=periods />
                <ChartCard
                    id="growth-chart"
                    title=Signal::derive(move || format!("Growth accounting by {}", grain.get().noun()))
                    subtitle="Bars: new, retained and resurrected users above zero, churned below. Line: active users."
                    figure=Signal::derive(move || periods.with(|p| accounting(p, grain.get())))
                    table=Signal::derive(move || periods.with(|p| table(p)))
                    on_event=on_chart
                >
                    <p class="note">"Click a bar for the users behind it; drag across the chart to keep only those periods."</p>
                    <p class="note" hidden=move || incomplete_note().is_empty()>
                        {move || format!(
                            "Shaded: {} still in progress (the data ends inside it), drawn lighter. Switch on \"Complete periods only\" to hide it.",
                            incomplete_note().join(", ")
                        )}
                    </p>
                </ChartCard>
                {drill.clone()}
                <ChartCard
                    id="quick-ratio-chart"
                    title="Quick ratio"
                    subtitle="(new + resurrected) / churned. Above 1.0 the user base grows; no value where nobody churned."
                    figure=Signal::derive(move || periods.with(|p| quick_ratio(p, grain.get())))
                    table=Signal::derive(move || periods.with(|p| table(p)))
                    on_event=on_chart
                />
            }
            .into_any()
        }}
    }
}

/// Totals over the periods shown: what the brushed or typed date range adds up to.
#[component]
fn RangeTotals(periods: Memo<Vec<Period>>) -> impl IntoView {
    let totals = move || {
        periods.with(|ps| {
            let sum = |f: fn(&Period) -> u64| ps.iter().map(f).sum::<u64>() as i64;
            let new = sum(|p| p.new_users);
            let resurrected = sum(|p| p.resurrected_users);
            let churned = sum(|p| p.churned_users);
            let span = match (ps.first(), ps.last()) {
                (Some(a), Some(b)) if a.period != b.period => {
                    format!("{} to {}", a.period, b.period)
                }
                (Some(a), _) => a.period.clone(),
                _ => String::new(),
            };
            [
                ("New users", format::count(new)),
                ("Resurrected users", format::count(resurrected)),
                ("Churned users", format::count(churned)),
                ("Net growth", format::signed(new + resurrected - churned)),
                ("Periods", format!("{} ({span})", ps.len())),
            ]
        })
    };
    view! {
        <div class="range-totals" aria-label="Totals over the periods shown">
            {move || {
                totals()
                    .into_iter()
                    .map(|(label, value)| view! {
                        <div class="range-total">
                            <span class="kpi-label">{label}</span>
                            <span class="range-value" data-kpi=label>{value}</span>
                        </div>
                    })
                    .collect_view()
            }}
        </div>
    }
}
