//! A tiny trend line for KPI cards as inline SVG, drawn on the server (no Plotly needed
//! for a 120x32 glyph, and it is there on first paint).

use leptos::prelude::*;

/// SVG polyline points for `values` in a `width` x `height` box (top = max).
pub fn points(values: &[f64], width: f64, height: f64) -> String {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.len() < 2 {
        return String::new();
    }
    let (min, max) = finite
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    let span = if max > min { max - min } else { 1.0 };
    let step = width / (values.len() - 1) as f64;
    values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, v)| {
            format!(
                "{:.1},{:.1}",
                i as f64 * step,
                height - 2.0 - (v - min) / span * (height - 4.0)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[component]
pub fn Sparkline(
    values: Vec<f64>,
    #[prop(default = "#1c7ed6")] color: &'static str,
) -> impl IntoView {
    view! {
        <svg class="spark" viewBox="0 0 120 32" width="120" height="32" aria-hidden="true">
            <polyline points=points(&values, 120.0, 32.0) fill="none" stroke=color stroke-width="2" />
        </svg>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn scales_to_the_box() {
        assert_eq!(
            super::points(&[0.0, 10.0], 120.0, 32.0),
            "0.0,30.0 120.0,2.0"
        );
        assert_eq!(super::points(&[5.0], 120.0, 32.0), "");
    }
}
