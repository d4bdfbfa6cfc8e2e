//! A KPI card: a headline number, its change against the period before, a trend line.

use leptos::prelude::*;

use crate::charts::sparkline::Sparkline;

#[derive(Clone, Debug, PartialEq)]
pub struct Kpi {
    pub label: &'static str,
    pub value: String,
    /// "+12.5% vs week of 2025-05-19"; `None` when there is nothing to compare with.
    pub change: Option<String>,
    /// Whether the change is good news (colours it); `None` is neutral.
    pub good: Option<bool>,
    pub note: String,
    pub trend: Vec<f64>,
    pub color: &'static str,
}

#[component]
pub fn KpiCard(kpi: Kpi) -> impl IntoView {
    let tone = match kpi.good {
        Some(true) => "change up",
        Some(false) => "change down",
        None => "change",
    };
    view! {
        <article class="card kpi" aria-label=kpi.label>
            <h2 class="kpi-label">{kpi.label}</h2>
            <p class="kpi-value" data-kpi=kpi.label>{kpi.value}</p>
            {kpi.change.map(|c| view! { <p class=tone>{c}</p> })}
            <Sparkline values=kpi.trend color=kpi.color />
            <p class="sub">{kpi.note}</p>
        </article>
    }
}
