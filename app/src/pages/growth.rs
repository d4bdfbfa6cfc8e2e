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
use crate::marts::{GrowthRow, MartClient};
use crate::state::Key;
use crate::state::filters::PageFilters;
use contract::Mart;

/// Query keys that name periods of one grain: a new grain drops them.
const PERIOD_KEYS: &[Key] = &[Key::From, Key::To, Key::Drill];

#[component]
pub fn Growth() -> impl IntoView {
    let filters = PageFilters::new();
    let grain = filters.grain;
    let client = expect_context::<MartClient>();
    let rows = Resource::new(
        move || grain.get(),
        move |g| client.fetch::<GrowthRow>(Mart::Growth(g).name()),
    );
    view! {
        <PageHead
            title="Growth"
            lead="Who is new, who stayed, who came back and who left, per period. Active = new + retained + resurrected."
        />
        {mart_view(rows, move |rows| view! { <GrowthView rows filters /> })}
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

/// What a click or a brush on a growth chart asks for.
#[derive(Debug, PartialEq)]
pub enum ChartPick {
    /// Open the users behind a bar's segment.
    Drill(Selection),
    /// Keep only the periods from the first to the last.
    Range(String, String),
}

/// A chart event read against the periods drawn; `None` when it hit nothing.
pub fn chart_pick(event: PlotEvent, periods: &[Period]) -> Option<ChartPick> {
    match event {
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
                Some(y) => periods
                    .iter()
                    .find(|p| p.period == period)
                    .and_then(|p| status_at(p, y)),
                None => Status::from_label(&trace),
            };
            status.map(|status| ChartPick::Drill(Selection { period, status }))
        }
        PlotEvent::Range { from, to } => {
            let labels: Vec<String> = periods.iter().map(|p| p.period.clone()).collect();
            periods_in_range(&labels, &from, &to).map(|(from, to)| ChartPick::Range(from, to))
        }
        PlotEvent::Legend { .. } => None,
    }
}

/// The chips of the filters in force: dates, countries and the open bar.
pub fn chips(filter: &Filter, open: Option<&Selection>) -> Vec<ActiveFilter> {
    let mut active = range_and_countries(&filter.from, &filter.to, &filter.countries);
    if let Some(s) = open {
        active.push(ActiveFilter {
            label: format!("{} users, {}", s.status.label(), s.period),
            keys: vec![Key::Drill],
        });
    }
    active
}

#[component]
fn GrowthView(rows: Arc<Vec<GrowthRow>>, filters: PageFilters) -> impl IntoView {
    let complete = filters.flag(Key::Complete, "1");
    let filter = Memo::new(move |_| Filter {
        countries: filters.countries.get(),
        from: filters.from.get(),
        to: filters.to.get(),
        complete_only: complete.get(),
    });
    let periods = {
        let rows = rows.clone();
        Memo::new(move |_| aggregate(&rows, &filter.get()))
    };
    let selection = filters.parsed(Key::Drill, Selection::parse);
    // A bar click opens its users; a brushed range becomes the page's date filter.
    let on_chart = Callback::new(move |event: PlotEvent| {
        match periods.with_untracked(|ps| chart_pick(event, ps)) {
            Some(ChartPick::Drill(s)) => filters.set(Key::Drill, Some(s.to_query())),
            Some(ChartPick::Range(from, to)) => filters.set_range(from, to),
            None => {}
        }
    });
    let active = Signal::derive(move || chips(&filter.get(), selection.get().as_ref()));
    let empty = Memo::new(move |_| periods.with(Vec::is_empty));
    view! {
        <GrowthFilters rows=rows.clone() filters complete />
        <FilterChips active=active on_clear=filters.on_clear() />
        {move || {
            if empty.get() {
                return view! { <Empty what="The growth mart" /> }.into_any();
            }
            view! {
                <RangeTotals periods=periods />
                <AccountingChart periods filters on_chart />
                <Drill rows=rows.clone() filters selection />
                <ChartCard
                    id="quick-ratio-chart"
                    title="Quick ratio"
                    subtitle="(new + resurrected) / churned. Above 1.0 the user base grows; no value where nobody churned."
                    figure=Signal::derive(move || periods.with(|p| quick_ratio(p, filters.grain.get())))
                    table=Signal::derive(move || periods.with(|p| table(p)))
                    on_event=on_chart
                />
            }
            .into_any()
        }}
    }
}

/// Grain, countries, dates and the complete-periods switch.
#[component]
fn GrowthFilters(
    rows: Arc<Vec<GrowthRow>>,
    filters: PageFilters,
    complete: Memo<bool>,
) -> impl IntoView {
    let all = countries(rows.iter().map(|r| r.country.as_str()));
    let periods = || rows.iter().map(|r| r.period.clone());
    let (min, max) = (
        periods().min().unwrap_or_default(),
        periods().max().unwrap_or_default(),
    );
    view! {
        <div class="filters">
            <GrainPicker value=filters.grain on_change=filters.on_grain(PERIOD_KEYS) />
            <CountryPicker all=all selected=filters.countries on_change=filters.on_countries() />
            <DateRange min=min max=max from=filters.from to=filters.to on_change=filters.on_dates() />
            <Switch label="Complete periods only" on=complete on_change=filters.on_flag(Key::Complete, "1") />
        </div>
    }
}

/// The growth accounting chart, with how to read and use it.
#[component]
fn AccountingChart(
    periods: Memo<Vec<Period>>,
    filters: PageFilters,
    on_chart: Callback<PlotEvent>,
) -> impl IntoView {
    let grain = filters.grain;
    let incomplete_note = move || {
        periods.with(|ps| {
            ps.iter()
                .filter(|p| !p.is_complete)
                .map(|p| p.period.clone())
                .collect::<Vec<_>>()
        })
    };
    view! {
        <ChartCard
            id="growth-chart"
            title=Signal::derive(move || format!("Growth accounting by {}", grain.get().name()))
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
    }
}

/// The users behind the open bar, if one is open.
#[component]
fn Drill(
    rows: Arc<Vec<GrowthRow>>,
    filters: PageFilters,
    selection: Memo<Option<Selection>>,
) -> impl IntoView {
    let here = crate::state::link_here();
    let on_close = filters.on_close(Key::Drill);
    move || {
        let selection = selection.get()?;
        let link = here.get();
        Some(view! {
            <GrowthDrill
                selection
                grain=filters.grain.get()
                rows=rows.clone()
                countries=filters.countries.get()
                link
                on_close=on_close
            />
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn periods() -> Vec<Period> {
        ["2025-03-03", "2025-03-10", "2025-03-17"]
            .iter()
            .map(|p| Period {
                period: p.to_string(),
                new_users: 3,
                retained_users: 2,
                churned_users: 1,
                ..Period::default()
            })
            .collect()
    }

    fn click(trace: &str, x: &str, pointer_y: Option<f64>) -> PlotEvent {
        PlotEvent::Click {
            trace: trace.into(),
            x: x.into(),
            y: String::new(),
            pointer_y,
            link: None,
        }
    }

    fn drill(period: &str, status: Status) -> Option<ChartPick> {
        Some(ChartPick::Drill(Selection {
            period: period.into(),
            status,
        }))
    }

    #[test]
    fn a_click_opens_the_segment_under_the_pointer() {
        let ps = periods();
        // The unified hover names the first trace; the pointer at 4 is in "retained" (3..5).
        let at = |y| chart_pick(click("New", "2025-03-10 00:00", Some(y)), &ps);
        assert_eq!(at(4.0), drill("2025-03-10", Status::Retained));
        assert_eq!(at(-0.5), drill("2025-03-10", Status::Churned));
        assert_eq!(at(9.0), None);
        // Without a pointer height the trace's name says which.
        assert_eq!(
            chart_pick(click("Churned", "2025-03-17", None), &ps),
            drill("2025-03-17", Status::Churned)
        );
        assert_eq!(
            chart_pick(click("Active users", "2025-03-17", None), &ps),
            None
        );
    }

    #[test]
    fn a_brush_keeps_the_periods_inside_it_and_legends_do_nothing() {
        let ps = periods();
        let range = |from: &str, to: &str| PlotEvent::Range {
            from: from.into(),
            to: to.into(),
        };
        assert_eq!(
            chart_pick(range("2025-03-05", "2025-03-18 12:00"), &ps),
            Some(ChartPick::Range("2025-03-10".into(), "2025-03-17".into()))
        );
        assert_eq!(chart_pick(range("2025-04-01", "2025-04-02"), &ps), None);
        let legend = PlotEvent::Legend {
            trace: "New".into(),
        };
        assert_eq!(chart_pick(legend, &ps), None);
    }

    #[test]
    fn the_open_bar_is_a_chip_after_dates_and_countries() {
        let filter = Filter {
            countries: vec!["SG".into()],
            from: Some("2025-03-10".into()),
            ..Filter::default()
        };
        let open = Selection {
            period: "2025-03-10".into(),
            status: Status::New,
        };
        let active = chips(&filter, Some(&open));
        let keys: Vec<Vec<Key>> = active.iter().map(|a| a.keys.clone()).collect();
        assert_eq!(
            keys,
            [
                vec![Key::From, Key::To],
                vec![Key::Countries],
                vec![Key::Drill]
            ]
        );
        assert_eq!(active[2].label, "New users, 2025-03-10");
        assert!(chips(&Filter::default(), None).is_empty());
    }
}
