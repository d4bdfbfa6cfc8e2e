//! Interactions: per country (or all), a Sankey from event type to transaction category
//! (width = interactions, label = share of the event type) and a table with users and miles.
//! Click a link for that flow's totals and its most active users.

use std::sync::Arc;

use leptos::prelude::*;

use super::PageHead;
use crate::charts::card::ChartCard;
use crate::charts::interactions::{category, flows, sankey};
use crate::charts::plot::PlotEvent;
use crate::charts::table::TableData;
use crate::components::drill::FlowDrill;
use crate::components::notice::{Empty, mart_view};
use crate::data::drill::FlowPick;
use crate::data::format;
use crate::data::growth::countries;
use crate::marts::{InteractionRow, MartClient};
use crate::state::Key;
use crate::state::filters::PageFilters;
use contract::Mart;

#[component]
pub fn Interactions() -> impl IntoView {
    let filters = PageFilters::new();
    let client = expect_context::<MartClient>();
    let rows = Resource::new(
        || (),
        move |_| client.fetch::<InteractionRow>(Mart::Interactions.name()),
    );
    view! {
        <PageHead
            title="Interactions"
            lead="What users do, by event type and transaction category: how often, how many users, how many miles."
        />
        {mart_view(rows, move |rows| view! { <InteractionsView rows filters /> })}
    }
}

pub fn table(flows: &[InteractionRow]) -> TableData {
    let mut t = TableData::new(&[
        "event type",
        "category",
        "interactions",
        "share of event type",
        "users",
        "miles",
    ]);
    for f in flows {
        t.push(vec![
            (f.event_type.clone(), f.event_type.clone()),
            (
                category(f).to_string(),
                f.transaction_category.clone().unwrap_or_default(),
            ),
            (
                format::count(f.interactions as i64),
                f.interactions.to_string(),
            ),
            (format::share(f.share), f.share.to_string()),
            (format::count(f.users as i64), f.users.to_string()),
            (format::number(f.miles), f.miles.to_string()),
        ]);
    }
    t
}

#[component]
fn InteractionsView(rows: Arc<Vec<InteractionRow>>, filters: PageFilters) -> impl IntoView {
    let all = countries(rows.iter().map(|r| r.country.as_str()));
    let country = filters.value(Key::Country);
    let selected = Memo::new(move |_| {
        let c = country.get();
        flows(&rows, |r| c.as_deref().is_none_or(|c| c == r))
    });
    let on_sankey = Callback::new(move |event: PlotEvent| {
        if let PlotEvent::Click {
            link: Some((event_type, category)),
            ..
        } = event
        {
            let pick = FlowPick::parse(&format!("{event_type}:{category}"));
            filters.set(Key::Flow, pick.map(|p| p.to_query()));
        }
    });
    let empty = Memo::new(move |_| selected.with(Vec::is_empty));
    let name = move || country.get().unwrap_or_else(|| "all countries".into());
    view! {
        <div class="filters">
            <CountryButtons all country filters />
        </div>
        {move || {
            if empty.get() {
                return view! { <Empty what="The interactions mart" /> }.into_any();
            }
            view! {
                <ChartCard
                    id="interactions-sankey"
                    title=Signal::derive(move || format!("From event type to category, {}", name()))
                    subtitle="Link width = interactions; hover a link for its share of the event type."
                    figure=Signal::derive(move || selected.with(|f| sankey(f)))
                    table=Signal::derive(move || selected.with(|f| table(f)))
                    on_event=on_sankey
                >
                    <p class="note">"Click a link for its most active users."</p>
                </ChartCard>
                <Drill country selected filters />
                <section class="card" aria-label="Interactions table">
                    <header class="card-head"><h2>"Users and miles"</h2></header>
                    <crate::charts::table::DataTable data=Signal::derive(move || selected.with(|f| table(f))) />
                </section>
            }
            .into_any()
        }}
    }
}

/// One button per country, and one for all of them.
#[component]
fn CountryButtons(
    all: Vec<String>,
    country: Memo<Option<String>>,
    filters: PageFilters,
) -> impl IntoView {
    let buttons = std::iter::once(None)
        .chain(all.into_iter().map(Some))
        .map(|c| {
            let label = c.clone().unwrap_or_else(|| "All countries".into());
            let value = c.clone();
            view! {
                <button
                    type="button"
                    class="seg-btn"
                    aria-pressed=move || (country.get() == c).to_string()
                    on:click=move |_| filters.set(Key::Country, value.clone())
                >
                    {label}
                </button>
            }
        })
        .collect_view();
    view! { <div class="seg" role="group" aria-label="Country">{buttons}</div> }
}

/// The users of the open flow, if one is open.
#[component]
fn Drill(
    country: Memo<Option<String>>,
    selected: Memo<Vec<InteractionRow>>,
    filters: PageFilters,
) -> impl IntoView {
    let flow = filters.parsed(Key::Flow, FlowPick::parse);
    let on_close = filters.on_close(Key::Flow);
    let here = crate::state::link_here();
    move || {
        let pick = flow.get()?;
        let link = here.get();
        Some(view! {
            <FlowDrill pick country=country.get() flows=selected.get() link on_close=on_close />
        })
    }
}
