//! What a page shows instead of a chart when its data is missing or failed to load:
//! what happened and what to run.

use std::sync::Arc;

use leptos::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::marts::{Mart, MartError};

/// A mart's rows shown by `view` once loaded: "Loading…" until then (the previous view
/// stays while a filter refetches), and what to run when the mart is missing or broken.
pub fn mart_view<T, V>(
    rows: Resource<Mart<T>>,
    view: impl Fn(Arc<Vec<T>>) -> V + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Serialize + DeserializeOwned + Send + Sync + 'static,
    V: IntoView + 'static,
{
    view! {
        <Transition fallback=Loading>
            {move || {
                let view = view.clone();
                Suspend::new(async move {
                    match rows.await {
                        Err(e) => view! { <MartProblem error=e /> }.into_any(),
                        Ok(rows) => view(rows).into_any(),
                    }
                })
            }}
        </Transition>
    }
}

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
