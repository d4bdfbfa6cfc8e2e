//! One component per page. Each reads its marts through `MartClient` as resources, so the
//! server renders real numbers and the browser refetches only when a filter needs
//! another mart; filters live in the URL query (see `state`).

pub mod explore;
pub mod growth;
pub mod interactions;
pub mod overview;
pub mod pipeline;
pub mod retention;

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn PageHead(title: &'static str, lead: &'static str) -> impl IntoView {
    view! {
        <Title text=format!("{title} · heymax") />
        <div class="page-head">
            <h1>{title}</h1>
            <p class="lead">{lead}</p>
        </div>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    let site = expect_context::<crate::SiteConfig>();
    if let Some(status) = use_context::<crate::ResponseStatus>() {
        (status.0)(404);
    }
    view! {
        <Title text="Not found · heymax" />
        <div class="problem" role="alert">
            <h1>"Page not found"</h1>
            <p>"There is no such page. "<a href=site.href("")>"Go to the overview"</a>"."</p>
        </div>
    }
}
