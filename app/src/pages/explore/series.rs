//! One row of the explorer's series editor: the column, how it combines the countries,
//! bars or line, which axis, and a remove button. In flows the series' index and the
//! page's [`Editor`]; out go edits of that series, which the editor re-validates (a rate
//! column forces the pooled aggregation) and writes back to the URL.

use leptos::prelude::*;

use super::Editor;
use crate::data::explore::{Agg, Axis, Mark, column, columns};

#[component]
pub(super) fn SeriesRow(i: usize, editor: Editor) -> impl IntoView {
    let state = editor.state;
    let spec = move || state.with(|s| s.series.get(i).cloned());
    let set_column = move |e: leptos::ev::Event| {
        let key = event_target_value(&e);
        editor.edit_series(i, |spec| {
            if let Some(c) = column(&key) {
                spec.column = c;
            }
        })
    };
    let set_agg = move |e: leptos::ev::Event| {
        let agg = Agg::for_count(&event_target_value(&e));
        editor.edit_series(i, |spec| spec.agg = agg)
    };
    let set_mark = move |e: leptos::ev::Event| {
        let mark = Mark::from_key(&event_target_value(&e));
        editor.edit_series(i, |spec| spec.mark = mark)
    };
    let set_axis = move |e: leptos::ev::Event| {
        let axis = Axis::from_key(&event_target_value(&e));
        editor.edit_series(i, |spec| spec.axis = axis)
    };
    let remove = move |_| {
        editor.edit(|s| {
            if i < s.series.len() {
                s.series.remove(i);
            }
        })
    };
    let key = move || spec().map(|s| s.column.key).unwrap_or_default();
    let is_rate = move || spec().is_some_and(|s| s.column.is_rate());
    let agg = move || spec().map(|s| s.agg.key()).unwrap_or("sum");
    let mark = move || spec().map_or(Mark::Bar, |s| s.mark).key();
    let axis = move || spec().map_or(Axis::Left, |s| s.axis).key();
    view! {
        <div class="series-row" data-series=i>
            <label>
                "Column "
                <select aria-label="Column" prop:value=key on:change=set_column>
                    <optgroup label="Growth mart (this grain)">{column_options("growth.", key)}</optgroup>
                    <optgroup label="Retention mart (cohorts in the period)">{column_options("retention.", key)}</optgroup>
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
            {choice("As ", "Mark", mark, set_mark, [("bar", "bars"), ("line", "line")])}
            {choice("Axis ", "Axis", axis, set_axis, [("left", "left"), ("right", "right")])}
            <button type="button" class="btn subtle" aria-label=format!("Remove series {}", i + 1) on:click=remove>"Remove"</button>
        </div>
    }
}

/// The columns of one mart (`source` is its key prefix), the series' own selected.
fn column_options(
    source: &'static str,
    key: impl Fn() -> String + Copy + Send + Sync + 'static,
) -> impl IntoView {
    columns()
        .into_iter()
        .filter(|c| c.key.starts_with(source))
        .map(|c| view! { <option value=c.key.clone() selected=move || key() == c.key>{c.label}</option> })
        .collect_view()
}

/// A menu of two fixed `(value, text)` choices, the series' own selected.
fn choice(
    label: &'static str,
    aria: &'static str,
    value: impl Fn() -> &'static str + Copy + Send + Sync + 'static,
    on_change: impl Fn(leptos::ev::Event) + 'static,
    options: [(&'static str, &'static str); 2],
) -> impl IntoView {
    let options = options.map(|(v, text)| {
        view! { <option value=v selected=move || value() == v>{text}</option> }
    });
    view! {
        <label>
            {label}
            <select aria-label=aria prop:value=value on:change=on_change>
                {options}
            </select>
        </label>
    }
}
