//! Plotly figures built in Rust (the `plotly` crate) and handed to the page as JSON: one
//! builder per chart, a `Chart` component that draws it in the browser, a card around each
//! chart with its table and CSV download. Every combined chart shares one x axis with
//! unified hover, and every trace carries a per-point hover template with its value already
//! formatted, so the tooltip lists each series once, with its own value.
//!
//! Plotly renders pseudo-HTML (links, bold, styled spans) in every text it draws, so every
//! string that comes from the data reaches a figure through `format::plotly_text`, and
//! `plot.rs` decodes the names Plotly reports back.

pub mod card;
pub mod explore;
pub mod growth;
pub mod interactions;
pub mod plot;
pub mod retention;
pub mod sparkline;
pub mod table;

use plotly::Layout;
use plotly::common::{Font, Orientation};
use plotly::layout::{HoverMode, Legend, Margin};

/// One colour per series, the same on every page. See: style/app.css (the legend chips).
pub mod colors {
    pub const NEW: &str = "#2f9e44";
    pub const RETAINED: &str = "#1c7ed6";
    pub const RESURRECTED: &str = "#f59f00";
    pub const CHURNED: &str = "#e03131";
    pub const ACTIVE: &str = "#212529";
    pub const RATIO: &str = "#7048e8";
    /// Series the explorer adds, in order.
    pub const SERIES: [&str; 8] = [
        "#1c7ed6", "#e8590c", "#2f9e44", "#7048e8", "#c2255c", "#0c8599", "#5c940d", "#495057",
    ];

    /// `#rrggbb` at `alpha` (incomplete periods are drawn lighter).
    pub fn faded(hex: &str, alpha: f64) -> String {
        let channel =
            |i: usize| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("00"), 16).unwrap_or(0);
        format!("rgba({},{},{},{alpha})", channel(1), channel(3), channel(5))
    }
}

/// The layout every time chart starts from: unified hover on one x axis, legend on top.
pub fn base_layout(height: usize) -> Layout {
    Layout::new()
        .height(height)
        .hover_mode(HoverMode::XUnified)
        .margin(Margin::new().left(60).right(60).top(30).bottom(40))
        .legend(
            Legend::new()
                .orientation(Orientation::Horizontal)
                .y(1.12)
                .x(0.0),
        )
        .font(Font::new().family("Inter, system-ui, sans-serif").size(12))
        .paper_background_color("rgba(0,0,0,0)")
        .plot_background_color("rgba(0,0,0,0)")
}

/// Plotly's config for every chart: resizes with the page, keeps zoom/pan/PNG download.
pub fn config() -> plotly::Configuration {
    plotly::Configuration::new()
        .responsive(true)
        .display_logo(false)
}

/// A figure as JSON with fields the `plotly` crate does not model (2-D `text` for heatmap
/// cells, `texttemplate`) set on trace `trace`.
pub fn with_trace_fields(plot: &plotly::Plot, trace: usize, fields: serde_json::Value) -> String {
    let mut figure: serde_json::Value = match serde_json::from_str(&plot.to_json()) {
        Ok(v) => v,
        Err(_) => return plot.to_json(),
    };
    if let (Some(target), serde_json::Value::Object(fields)) = (
        figure
            .pointer_mut(&format!("/data/{trace}"))
            .and_then(|t| t.as_object_mut()),
        fields,
    ) {
        target.extend(fields);
    }
    figure.to_string()
}

/// Test helpers: hostile text from the data, and a check that none of it stays markup.
#[cfg(test)]
pub mod hostile {
    /// A live link, bold text and a span that would cover the page (issue 15, item 7).
    pub const TEXTS: [&str; 3] = [
        r#"<a href="https://example.com/">x</a>"#,
        "<b>bold</b>",
        r#"<span style="position:fixed;inset:0;background:red">cover</span>"#,
    ];

    /// Panics if a figure's JSON has any of `TEXTS`' tags unescaped, or lacks their
    /// escaped form (which shows the text did reach the figure).
    pub fn assert_escaped(figure: &str) {
        for tag in ["<a ", "<a>", "</a>", "<b>", "</b>", "<span", "</span>"] {
            assert!(!figure.contains(tag), "raw {tag} in {figure}");
        }
        for escaped in ["&lt;a href=", "&lt;b&gt;bold&lt;/b&gt;", "&lt;span style="] {
            assert!(figure.contains(escaped), "no {escaped} in {figure}");
        }
    }
}
