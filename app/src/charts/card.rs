//! A titled card around one chart: "Chart" / "Table" toggle and a CSV download of the
//! same data. Both views are in the HTML from the server; the toggle only hides one.

use leptos::prelude::*;

use super::plot::Chart;
use super::table::{DataTable, TableData};

#[component]
pub fn ChartCard(
    /// Unique on the page; the chart's element id and the CSV file's name.
    id: &'static str,
    #[prop(into)] title: Signal<String>,
    #[prop(optional, into)] subtitle: Option<String>,
    #[prop(into)] figure: Signal<String>,
    #[prop(into)] table: Signal<TableData>,
    /// Clicks and brushes on the chart (see `PlotEvent`).
    #[prop(optional)]
    on_event: Option<Callback<super::plot::PlotEvent>>,
    /// Legend clicks pick a series (reported through `on_event`) instead of hiding it.
    #[prop(optional)]
    legend_picks: bool,
    /// Extra content under the chart (a legend note, a hint).
    #[prop(optional)]
    children: Option<Children>,
) -> impl IntoView {
    let show_table = RwSignal::new(false);
    let toggle_label = move || {
        if show_table.get() {
            "Show chart"
        } else {
            "Show table"
        }
    };
    view! {
        <section class="card chart-card" aria-label=title>
            <header class="card-head">
                <div>
                    <h2>{title}</h2>
                    {subtitle.map(|s| view! { <p class="sub">{s}</p> })}
                </div>
                <div class="card-actions">
                    <button type="button" class="btn" on:click=move |_| show_table.update(|s| *s = !*s)>
                        {toggle_label}
                    </button>
                    <a class="btn" download=format!("{id}.csv") href=move || table.with(TableData::csv_href)>
                        "Download CSV"
                    </a>
                </div>
            </header>
            <div class="chart-view" class:hidden=show_table>
                {match on_event {
                    Some(on_event) => view! { <Chart id=id figure=figure on_event=on_event legend_picks=legend_picks /> }.into_any(),
                    None => view! { <Chart id=id figure=figure /> }.into_any(),
                }}
            </div>
            <div class="table-view" class:hidden=move || !show_table.get() data-table=id>
                <DataTable data=table />
            </div>
            {children.map(|c| c())}
        </section>
    }
    .into_any()
}
