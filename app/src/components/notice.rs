//! What a page shows instead of a chart when its data is missing or failed to load:
//! what happened and what to run.

use leptos::prelude::*;

use crate::marts::MartError;

#[component]
pub fn MartProblem(error: MartError) -> impl IntoView {
    let title = match error {
        MartError::Missing { .. } => "No data yet",
        MartError::Fetch { .. } => "Could not load the data",
        MartError::Format { .. } => "The data is not in the expected format",
    };
    view! {
        <div class="problem" role="alert">
            <h2>{title}</h2>
            <p>{error.to_string()}</p>
        </div>
    }
}

#[component]
pub fn Empty(what: &'static str) -> impl IntoView {
    view! {
        <div class="problem" role="status">
            <h2>"Nothing to show"</h2>
            <p>{format!("{what} has no rows for this selection. Widen the filters, or load events with `heymax run --input <events.csv>`.")}</p>
        </div>
    }
}

#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" role="status">"Loading data…"</p> }
}
