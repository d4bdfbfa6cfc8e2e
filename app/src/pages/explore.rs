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
use crate::data::explore::{
    Agg, Axis, ExploreState, Joined, Mark, SeriesSpec, columns, join, preset,
};
use crate::data::growth::countries;
use crate::marts::{GrowthRow, MartClient, RETENTION, RetentionRow};
use crate::state::QueryState;

#[component]
pub fn Explore() -> impl IntoView {
    let query = QueryState::new();
    let q = query.clone();
    let state = Memo::new(move |_| q.map.with(|m| ExploreState::from_query(|k| m.get(k))));
    let client = expect_context::<MartClient>();
    let growth = {
        let client = client.clone();
        Resource::new(
            move || state.with(|s| s.grain),
            move |g| client.fetch::<GrowthRow>(g.mart()),
        )
    };
    let retention = Resource::new(|| (), move |_| client.fetch::<RetentionRow>(RETENTION));
    view! {
        <PageHead
            title="Explore"
            lead="Combine series from several marts on one time axis. Rates over several countries are recomputed from counts, never averaged. Share the URL to share the chart."
        />
        <Presets />
        <Transition fallback=Loading>
            {move || {
                let query = query.clone();
                Suspend::new(async move {
                    match (growth.await, retention.await) {
                        (Err(e), _) | (_, Err(e)) => view! { <MartProblem error=e /> }.into_any(),
                        (Ok(g), Ok(r)) => view! { <Builder growth=g retention=r state query /> }.into_any(),
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
            let query: Vec<String> = state.to_query().into_iter().map(|(k, v)| format!("{k}={}", encode(&v))).collect();
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

#[component]
fn Builder(
    growth: Arc<Vec<GrowthRow>>,
    retention: Arc<Vec<RetentionRow>>,
    state: Memo<ExploreState>,
    query: QueryState,
) -> impl IntoView {
    let all = countries(growth.iter().map(|r| r.country.as_str()));
    let joined = Memo::new(move |_| state.with(|s| join(s, &growth, &retention)));
    let apply = {
        let query = query.clone();
        move |next: ExploreState| {
            // Keys a state may omit are cleared first.
            let mut updates: Vec<(&'static str, Option<String>)> =
                vec![("countries", None), ("from", None), ("to", None)];
            updates.extend(next.to_query().into_iter().map(|(k, v)| (k, Some(v))));
            query.set(updates)
        }
    };
    let edit = {
        let apply = apply.clone();
        move |f: Box<dyn FnOnce(&mut ExploreState)>| {
            let mut next = state.get_untracked();
            f(&mut next);
            apply(next)
        }
    };
    let on_grain = Callback::new({
        let edit = edit.clone();
        move |g| {
            edit(Box::new(move |s: &mut ExploreState| {
                s.grain = g;
                s.from = None;
                s.to = None;
            }))
        }
    });
    let on_countries = Callback::new({
        let edit = edit.clone();
        move |c: Vec<String>| edit(Box::new(move |s: &mut ExploreState| s.countries = c))
    });
    let add = {
        let edit = edit.clone();
        move |_| {
            edit(Box::new(|s: &mut ExploreState| {
                let axis = if s.series.is_empty() {
                    Axis::Left
                } else {
                    Axis::Right
                };
                if let Some(spec) =
                    SeriesSpec::new("growth.active_users", Agg::Sum, Mark::Line, axis)
                {
                    s.series.push(spec);
                }
            }))
        }
    };
    let rows = {
        let edit = edit.clone();
        move || {
            let n = state.with(|s| s.series.len());
            if n == 0 {
                return view! { <p class="note">"No series yet: add one."</p> }.into_any();
            }
            (0..n)
                .map(|i| view! { <SeriesRow i state edit=edit.clone() /> })
                .collect_view()
                .into_any()
        }
    };
    // A range brushed on the chart keeps only those periods (a chip clears it).
    let on_chart = Callback::new({
        let edit = edit.clone();
        move |event: PlotEvent| {
            if let PlotEvent::Range { from, to } = event {
                let labels = joined.with_untracked(|j| j.x.clone());
                if let Some((from, to)) = periods_in_range(&labels, &from, &to) {
                    edit(Box::new(move |s: &mut ExploreState| {
                        s.from = Some(from);
                        s.to = Some(to);
                    }))
                }
            }
        }
    });
    let active =
        Signal::derive(move || state.with(|s| range_and_countries(&s.from, &s.to, &s.countries)));
    let on_clear = Callback::new({
        let edit = edit.clone();
        move |keys: Vec<&'static str>| {
            edit(Box::new(move |s: &mut ExploreState| {
                for key in keys {
                    match key {
                        "from" => s.from = None,
                        "to" => s.to = None,
                        "countries" => s.countries.clear(),
                        _ => {}
                    }
                }
            }))
        }
    });
    view! {
        <div class="filters">
            <GrainPicker value=Signal::derive(move || state.with(|s| s.grain)) on_change=on_grain />
            <CountryPicker all=all selected=Signal::derive(move || state.with(|s| s.countries.clone())) on_change=on_countries />
        </div>
        <FilterChips active=active on_clear=on_clear />
        <section class="card series-editor" aria-label="Series">
            <header class="card-head">
                <h2>"Series"</h2>
                <button type="button" class="btn" on:click=add>"Add series"</button>
            </header>
            <div class="series-rows">{rows}</div>
        </section>
        <ChartCard
            id="explore-chart"
            title=Signal::derive(move || {
                let s = state.get();
                format!("{} by {}", s.series.iter().map(SeriesSpec::label).collect::<Vec<_>>().join(" and "), s.grain.noun())
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

type Edit = Box<dyn FnOnce(&mut ExploreState)>;

#[component]
fn SeriesRow<E>(i: usize, state: Memo<ExploreState>, edit: E) -> impl IntoView
where
    E: Fn(Edit) + Clone + Send + Sync + 'static,
{
    let spec = move || state.with(|s| s.series.get(i).cloned());
    let update = {
        let edit = edit.clone();
        move |f: Box<dyn FnOnce(&mut SeriesSpec) + Send>| {
            edit(Box::new(move |s: &mut ExploreState| {
                if let Some(spec) = s.series.get_mut(i) {
                    f(spec);
                    // Re-validate: a rate column forces the pooled aggregation.
                    if let Some(fixed) =
                        SeriesSpec::new(&spec.column.key, spec.agg, spec.mark, spec.axis)
                    {
                        *spec = fixed;
                    }
                }
            }))
        }
    };
    let set_column = {
        let update = update.clone();
        move |e: leptos::ev::Event| {
            let key = event_target_value(&e);
            update(Box::new(move |spec| {
                if let Some(c) = crate::data::explore::column(&key) {
                    spec.column = c;
                }
            }))
        }
    };
    let set_agg = {
        let update = update.clone();
        move |e: leptos::ev::Event| {
            let v = event_target_value(&e);
            update(Box::new(move |spec| {
                spec.agg = Agg::FOR_COUNTS
                    .into_iter()
                    .find(|a| a.key() == v)
                    .unwrap_or(Agg::Sum)
            }))
        }
    };
    let set_mark = {
        let update = update.clone();
        move |e: leptos::ev::Event| {
            let line = event_target_value(&e) == "line";
            update(Box::new(move |spec| {
                spec.mark = if line { Mark::Line } else { Mark::Bar }
            }))
        }
    };
    let set_axis = {
        let update = update.clone();
        move |e: leptos::ev::Event| {
            let right = event_target_value(&e) == "right";
            update(Box::new(move |spec| {
                spec.axis = if right { Axis::Right } else { Axis::Left }
            }))
        }
    };
    let remove = move |_| {
        edit(Box::new(move |s: &mut ExploreState| {
            if i < s.series.len() {
                s.series.remove(i);
            }
        }))
    };
    let key = move || spec().map(|s| s.column.key).unwrap_or_default();
    let is_rate = move || spec().is_some_and(|s| s.column.is_rate());
    let agg = move || spec().map(|s| s.agg.key()).unwrap_or("sum");
    let mark = move || {
        if spec().is_some_and(|s| s.mark == Mark::Line) {
            "line"
        } else {
            "bar"
        }
    };
    let axis = move || {
        if spec().is_some_and(|s| s.axis == Axis::Right) {
            "right"
        } else {
            "left"
        }
    };
    view! {
        <div class="series-row" data-series=i>
            <label>
                "Column "
                <select aria-label="Column" prop:value=key on:change=set_column>
                    <optgroup label="Growth mart (this grain)">
                        {columns().into_iter().filter(|c| c.key.starts_with("growth.")).map(|c| view! { <option value=c.key.clone() selected=move || key() == c.key>{c.label}</option> }).collect_view()}
                    </optgroup>
                    <optgroup label="Retention mart (cohorts in the period)">
                        {columns().into_iter().filter(|c| c.key.starts_with("retention.")).map(|c| view! { <option value=c.key.clone() selected=move || key() == c.key>{c.label}</option> }).collect_view()}
                    </optgroup>
                </select>
            </label>
            <label>
                "Across countries "
                <select aria-label="Aggregation" prop:value=agg on:change=set_agg disabled=is_rate>
                    {move || if is_rate() {
                        view! { <option value="pooled" selected>{Agg::Pooled.label()}</option> }.into_any()
                    } else {
                        Agg::FOR_COUNTS.into_iter().map(|a| view! { <option value=a.key() selected=move || agg() == a.key()>{a.label()}</option> }).collect_view().into_any()
                    }}
                </select>
            </label>
            <label>
                "As "
                <select aria-label="Mark" prop:value=mark on:change=set_mark>
                    <option value="bar" selected=move || mark() == "bar">"bars"</option>
                    <option value="line" selected=move || mark() == "line">"line"</option>
                </select>
            </label>
            <label>
                "Axis "
                <select aria-label="Axis" prop:value=axis on:change=set_axis>
                    <option value="left" selected=move || axis() == "left">"left"</option>
                    <option value="right" selected=move || axis() == "right">"right"</option>
                </select>
            </label>
            <button type="button" class="btn subtle" aria-label=format!("Remove series {}", i + 1) on:click=remove>"Remove"</button>
        </div>
    }
}
