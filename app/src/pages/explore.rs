//! Explore: the chart builder. Pick series from any marts that share an x key (growth
//! periods; retention cohorts bucketed to the same grain), an aggregation across the
//! selected countries, bar or line, left or right axis. The join runs here, in Rust in the
//! browser; the state lives in the URL, so the link is the chart.

use std::sync::Arc;

use leptos::prelude::*;

use super::PageHead;
use crate::charts::card::ChartCard;
use crate::charts::explore::figure;
use crate::charts::plot::PlotEvent;
use crate::charts::table::TableData;
use crate::components::filters::{CountryPicker, GrainPicker};
use crate::components::filters::{FilterChips, range_and_countries};
use crate::components::notice::{Loading, MartProblem};
use crate::data::drill::periods_in_range;
use crate::data::explore::{ExploreState, Joined, SeriesSpec, join, preset};
use crate::data::growth::countries;
use crate::marts::{GrowthRow, MartClient, RetentionRow};
use crate::state::{Key, QueryState, Updates};
use contract::Mart;

mod series;

use series::SeriesRow;

#[component]
pub fn Explore() -> impl IntoView {
    let query = QueryState::new();
    let state = Memo::new(move |_| {
        query
            .map
            .with(|m| ExploreState::from_query(|k| m.get(k.name())))
    });
    let client = expect_context::<MartClient>();
    let growth = {
        let client = client.clone();
        Resource::new(
            move || state.with(|s| s.grain),
            move |g| client.fetch::<GrowthRow>(Mart::Growth(g).name()),
        )
    };
    let retention = Resource::new(
        || (),
        move |_| client.fetch::<RetentionRow>(Mart::Retention.name()),
    );
    view! {
        <PageHead
            title="Explore"
            lead="Combine series from several marts on one time axis. Rates over several countries are recomputed from counts, never averaged. Share the URL to share the chart."
        />
        <Presets />
        <Transition fallback=Loading>
            {move || {
                let editor = Editor { state, query };
                Suspend::new(async move {
                    match (growth.await, retention.await) {
                        (Err(e), _) | (_, Err(e)) => view! { <MartProblem error=e /> }.into_any(),
                        (Ok(g), Ok(r)) => view! { <Builder growth=g retention=r editor /> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

#[component]
fn Presets() -> impl IntoView {
    let site = expect_context::<crate::SiteConfig>();
    let links = (0..)
        .map_while(preset)
        .map(|(title, state)| {
            let query: Vec<String> = state.to_query().into_iter().map(|(k, v)| format!("{}={}", k.name(), encode(&v))).collect();
            view! { <a class="btn" href=format!("{}?{}", site.href("explore"), query.join("&"))>{title}</a> }
        })
        .collect_view();
    view! { <nav class="presets" aria-label="Ready-made charts">"Ready-made: "{links}</nav> }
}

/// Percent-encodes a query value (`:` and `,` stay readable).
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b':' | b',' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn table(joined: &Joined) -> TableData {
    let mut columns = vec!["period".to_string()];
    columns.extend(joined.series.iter().map(|s| s.spec.label()));
    let mut t = TableData {
        columns,
        ..TableData::default()
    };
    for (i, x) in joined.x.iter().enumerate() {
        let mut cells = vec![(
            if joined.complete[i] {
                x.clone()
            } else {
                format!("{x} (incomplete)")
            },
            x.clone(),
        )];
        cells.extend(joined.series.iter().map(|s| {
            (
                s.text(i),
                s.values[i].map(|v| v.to_string()).unwrap_or_default(),
            )
        }));
        t.push(cells);
    }
    t
}

/// Edits of the explorer's state: each changes a copy of the state in the URL and writes
/// it back whole, so what the page shows is always what the link holds.
#[derive(Clone, Copy)]
struct Editor {
    state: Memo<ExploreState>,
    query: QueryState,
}

impl Editor {
    fn apply(self, next: &ExploreState) {
        // Keys a state may omit are cleared first.
        let mut updates: Updates = vec![(Key::Countries, None), (Key::From, None), (Key::To, None)];
        updates.extend(next.to_query().into_iter().map(|(k, v)| (k, Some(v))));
        self.query.set(updates)
    }

    fn edit(self, f: impl FnOnce(&mut ExploreState)) {
        let mut next = self.state.get_untracked();
        f(&mut next);
        self.apply(&next)
    }

    /// Edits series `i` (if it is still there), re-validated after.
    fn edit_series(self, i: usize, f: impl FnOnce(&mut SeriesSpec)) {
        self.edit(move |s| {
            if let Some(spec) = s.series.get_mut(i) {
                f(spec);
                *spec = spec.validated();
            }
        })
    }
}

#[component]
fn Builder(
    growth: Arc<Vec<GrowthRow>>,
    retention: Arc<Vec<RetentionRow>>,
    editor: Editor,
) -> impl IntoView {
    let state = editor.state;
    let all = countries(growth.iter().map(|r| r.country.as_str()));
    let joined = Memo::new(move |_| state.with(|s| join(s, &growth, &retention)));
    let on_grain = Callback::new(move |g| {
        editor.edit(|s| {
            s.grain = g;
            s.from = None;
            s.to = None;
        })
    });
    let on_countries = Callback::new(move |c: Vec<String>| editor.edit(|s| s.countries = c));
    // A range brushed on the chart keeps only those periods (a chip clears it).
    let on_chart = Callback::new(move |event: PlotEvent| {
        if let PlotEvent::Range { from, to } = event {
            let labels = joined.with_untracked(|j| j.x.clone());
            if let Some((from, to)) = periods_in_range(&labels, &from, &to) {
                editor.edit(|s| {
                    s.from = Some(from);
                    s.to = Some(to);
                })
            }
        }
    });
    let active =
        Signal::derive(move || state.with(|s| range_and_countries(&s.from, &s.to, &s.countries)));
    let on_clear = Callback::new(move |keys: Vec<Key>| {
        editor.edit(|s| keys.into_iter().for_each(|k| s.clear(k)))
    });
    view! {
        <div class="filters">
            <GrainPicker value=Signal::derive(move || state.with(|s| s.grain)) on_change=on_grain />
            <CountryPicker all=all selected=Signal::derive(move || state.with(|s| s.countries.clone())) on_change=on_countries />
        </div>
        <FilterChips active=active on_clear=on_clear />
        <SeriesEditor editor />
        <ChartCard
            id="explore-chart"
            title=Signal::derive(move || {
                let s = state.get();
                format!("{} by {}", s.series.iter().map(SeriesSpec::label).collect::<Vec<_>>().join(" and "), s.grain.name())
            })
            subtitle="One x axis, unified tooltip: each series once, with its own value."
            figure=Signal::derive(move || joined.with(figure))
            table=Signal::derive(move || joined.with(table))
            on_event=on_chart
        >
            <p class="note">"Drag across the chart to keep only those periods."</p>
        </ChartCard>
    }
}

/// The series of the chart, one row each, and the button that adds one.
#[component]
fn SeriesEditor(editor: Editor) -> impl IntoView {
    let state = editor.state;
    let rows = move || {
        let n = state.with(|s| s.series.len());
        if n == 0 {
            return view! { <p class="note">"No series yet: add one."</p> }.into_any();
        }
        (0..n)
            .map(|i| view! { <SeriesRow i editor /> })
            .collect_view()
            .into_any()
    };
    view! {
        <section class="card series-editor" aria-label="Series">
            <header class="card-head">
                <h2>"Series"</h2>
                <button type="button" class="btn" on:click=move |_| editor.edit(ExploreState::add_series)>"Add series"</button>
            </header>
            <div class="series-rows">{rows}</div>
        </section>
    }
}
