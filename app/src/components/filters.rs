//! Filter controls: grain (day / week / month), a country multi-select, a date range and
//! a switch. Each reports changes through a callback; pages keep the state in the URL.

use leptos::prelude::*;

use crate::marts::Grain;
use crate::state::Key;

#[component]
pub fn GrainPicker(
    #[prop(into)] value: Signal<Grain>,
    on_change: Callback<Grain>,
) -> impl IntoView {
    view! {
        <div class="seg" role="group" aria-label="Grain">
            {Grain::ALL
                .into_iter()
                .map(|g| {
                    view! {
                        <button
                            type="button"
                            class="seg-btn"
                            aria-pressed=move || (value.get() == g).to_string()
                            on:click=move |_| on_change.run(g)
                        >
                            {g.name()}
                        </button>
                    }
                })
                .collect_view()}
        </div>
    }
}

/// The selection after toggling `country` (an empty selection means every country).
pub fn toggle(all: &[String], selected: &[String], country: &str) -> Vec<String> {
    let mut next: Vec<String> = if selected.is_empty() {
        all.to_vec()
    } else {
        selected.to_vec()
    };
    if let Some(i) = next.iter().position(|c| c == country) {
        next.remove(i);
    } else {
        next.push(country.to_string());
    }
    next.sort();
    if next.len() == all.len() || next.is_empty() {
        Vec::new()
    } else {
        next
    }
}

#[component]
pub fn CountryPicker(
    all: Vec<String>,
    #[prop(into)] selected: Signal<Vec<String>>,
    on_change: Callback<Vec<String>>,
) -> impl IntoView {
    let all = std::sync::Arc::new(all);
    view! {
        <fieldset class="countries">
            <legend>"Countries"</legend>
            <label class="chip">
                <input type="checkbox" prop:checked=move || selected.with(Vec::is_empty) on:change=move |_| on_change.run(Vec::new()) />
                "All"
            </label>
            {all.iter()
                .map(|c| {
                    let country = c.clone();
                    let all = all.clone();
                    let checked = {
                        let country = country.clone();
                        move || selected.with(|s| s.is_empty() || s.contains(&country))
                    };
                    view! {
                        <label class="chip">
                            <input
                                type="checkbox"
                                name="country"
                                value=country.clone()
                                prop:checked=checked
                                on:change=move |_| on_change.run(toggle(&all, &selected.get_untracked(), &country))
                            />
                            {c.clone()}
                        </label>
                    }
                })
                .collect_view()}
        </fieldset>
    }
}

#[component]
pub fn DateRange(
    min: String,
    max: String,
    #[prop(into)] from: Signal<Option<String>>,
    #[prop(into)] to: Signal<Option<String>>,
    on_change: Callback<(Option<String>, Option<String>)>,
) -> impl IntoView {
    let value = |e: leptos::ev::Event| Some(event_target_value(&e)).filter(|v| !v.is_empty());
    view! {
        <div class="dates">
            <label>
                "From "
                <input type="date" min=min.clone() max=max.clone() prop:value=move || from.get().unwrap_or_default()
                    on:change=move |e| on_change.run((value(e), to.get_untracked())) />
            </label>
            <label>
                "To "
                <input type="date" min=min max=max prop:value=move || to.get().unwrap_or_default()
                    on:change=move |e| on_change.run((from.get_untracked(), value(e))) />
            </label>
        </div>
    }
}

#[component]
pub fn Switch(
    label: &'static str,
    #[prop(into)] on: Signal<bool>,
    on_change: Callback<bool>,
) -> impl IntoView {
    view! {
        <label class="switch">
            <input type="checkbox" prop:checked=on on:change=move |e| on_change.run(event_target_checked(&e)) />
            {label}
        </label>
    }
}

/// One active filter, shown as a chip that removes it.
#[derive(Clone, Debug, PartialEq)]
pub struct ActiveFilter {
    pub label: String,
    /// The query keys cleared when the chip is removed.
    pub keys: Vec<Key>,
}

/// Chips for a date range and a country selection (those that are set).
pub fn range_and_countries(
    from: &Option<String>,
    to: &Option<String>,
    countries: &[String],
) -> Vec<ActiveFilter> {
    let mut active = Vec::new();
    if from.is_some() || to.is_some() {
        active.push(ActiveFilter {
            label: format!(
                "{} – {}",
                from.as_deref().unwrap_or("start"),
                to.as_deref().unwrap_or("end")
            ),
            keys: vec![Key::From, Key::To],
        });
    }
    if !countries.is_empty() {
        // Names are data: a chip lists a few, then only counts (a URL may hold 200).
        let label = if countries.len() <= CHIP_COUNTRIES {
            countries.join(", ")
        } else {
            format!(
                "{} and {} more countries",
                countries[..CHIP_COUNTRIES - 1].join(", "),
                countries.len() - (CHIP_COUNTRIES - 1)
            )
        };
        active.push(ActiveFilter {
            label,
            keys: vec![Key::Countries],
        });
    }
    active
}

/// The most country names a filter chip spells out.
const CHIP_COUNTRIES: usize = 4;

/// The filters in force (dates brushed or typed, countries, an open drill-down), each
/// removable, and one button that resets them all.
#[component]
pub fn FilterChips(
    #[prop(into)] active: Signal<Vec<ActiveFilter>>,
    on_clear: Callback<Vec<Key>>,
) -> impl IntoView {
    view! {
        <div class="chips" role="group" aria-label="Active filters" hidden=move || active.with(Vec::is_empty)>
            <span class="chips-label">"Filtered by"</span>
            {move || {
                active
                    .get()
                    .into_iter()
                    .map(|f| {
                        let keys = f.keys.clone();
                        let aria = format!("Remove filter {}", f.label);
                        view! {
                            <button
                                type="button"
                                class="chip active-filter"
                                aria-label=aria
                                on:click=move |_| on_clear.run(keys.clone())
                            >
                                {f.label}
                                " ✕"
                            </button>
                        }
                    })
                    .collect_view()
            }}
            <button
                type="button"
                class="btn subtle"
                on:click=move |_| on_clear.run(active.get().into_iter().flat_map(|f| f.keys).collect())
            >
                "Reset all"
            </button>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::{range_and_countries, toggle};

    #[test]
    fn toggling_countries_keeps_all_as_empty() {
        let all: Vec<String> = ["ID", "MY", "SG"].map(String::from).to_vec();
        assert_eq!(toggle(&all, &[], "MY"), ["ID", "SG"]);
        assert_eq!(
            toggle(&all, &["ID".into(), "SG".into()], "MY"),
            Vec::<String>::new()
        );
        assert_eq!(toggle(&all, &["SG".into()], "SG"), Vec::<String>::new());
        assert_eq!(toggle(&all, &["SG".into()], "ID"), ["ID", "SG"]);
    }

    #[test]
    fn a_long_country_selection_is_counted_on_its_chip() {
        let few: Vec<String> = ["a,b", "MY"].map(String::from).to_vec();
        assert_eq!(range_and_countries(&None, &None, &few)[0].label, "a,b, MY");
        let many: Vec<String> = (0..200).map(|i| format!("C{i}")).collect();
        assert_eq!(
            range_and_countries(&None, &None, &many)[0].label,
            "C0, C1, C2 and 197 more countries"
        );
    }
}
