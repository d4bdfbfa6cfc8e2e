//! The top bar: brand and one link per page, the current one marked for screen readers
//! and styled by `aria-current`.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

use crate::SiteConfig;

pub const PAGES: [(&str, &str); 6] = [
    ("", "Overview"),
    ("growth", "Growth"),
    ("retention", "Retention"),
    ("interactions", "Interactions"),
    ("explore", "Explore"),
    ("pipeline", "Pipeline"),
];

#[component]
pub fn Nav() -> impl IntoView {
    let site = expect_context::<SiteConfig>();
    let location = use_location();
    let links = PAGES
        .iter()
        .map(|(path, label)| {
            let href = site.href(path);
            let target = href.clone();
            let current = move || {
                let here = location.pathname.get();
                let here = here.trim_end_matches('/');
                (here == target.trim_end_matches('/')).then_some("page")
            };
            view! { <a href=href aria-current=current>{*label}</a> }
        })
        .collect_view();
    view! {
        <header class="topbar">
            <a class="brand" href=site.href("")>"heymax"</a>
            <nav aria-label="Pages">{links}</nav>
        </header>
    }
}
