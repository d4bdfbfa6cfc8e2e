//! Retention figures: the cohort heatmap (cohort x D0..D90, cells coloured by rate, cells a
//! cohort has not reached yet in grey and labelled "not yet observed", never 0%) and
//! retention curves (rate by day since signup), one line per country or per cohort.

use plotly::common::{ColorScale, ColorScalePalette, Line, Marker, Mode};
use plotly::layout::{Axis, AxisType};
use plotly::{HeatMap, Plot, Scatter};

use super::{base_layout, colors, config, with_trace_fields};
use crate::data::format;
use crate::data::retention::Cohort;
use crate::marts::RETENTION_DAYS;

pub fn day_labels() -> Vec<String> {
    RETENTION_DAYS.iter().map(|d| format!("D{d}")).collect()
}

/// The text of one heatmap cell's tooltip.
pub fn cell_hover(cohort: &Cohort, i: usize) -> String {
    match (cohort.rate(i), cohort.retained[i]) {
        (Some(rate), Some(retained)) => format!(
            "{} retained: {} ({} of {} users)",
            day_labels()[i],
            format::percent(rate),
            format::count(retained as i64),
            format::count(cohort.observed_size[i] as i64)
        ),
        _ => format!("{}: not yet observed", day_labels()[i]),
    }
}

/// Cohorts top to bottom in date order; returns the figure as JSON.
pub fn heatmap(cohorts: &[Cohort]) -> String {
    let x = day_labels();
    // Plotly draws the first y category at the bottom; reverse so the oldest cohort is on top.
    let ordered: Vec<&Cohort> = cohorts.iter().rev().collect();
    let y: Vec<String> = ordered
        .iter()
        .map(|c| {
            format!(
                "{} (n={})",
                format::plotly_text(&c.date),
                format::count(c.size as i64)
            )
        })
        .collect();
    let rates: Vec<Vec<Option<f64>>> = ordered
        .iter()
        .map(|c| (0..x.len()).map(|i| c.rate(i)).collect())
        .collect();
    let censored: Vec<Vec<Option<f64>>> = ordered
        .iter()
        .map(|c| {
            (0..x.len())
                .map(|i| c.retained[i].is_none().then_some(1.0))
                .collect()
        })
        .collect();
    let hover: Vec<Vec<String>> = ordered
        .iter()
        .map(|c| {
            (0..x.len())
                .map(|i| format::plotly_text(&cell_hover(c, i)))
                .collect()
        })
        .collect();
    let shown: Vec<Vec<String>> = ordered
        .iter()
        .map(|c| {
            (0..x.len())
                .map(|i| c.rate(i).map_or_else(String::new, |r| format!("{r:.0}%")))
                .collect()
        })
        .collect();

    let mut plot = Plot::new();
    plot.add_trace(
        HeatMap::new(x.clone(), y.clone(), rates)
            .name("retention")
            .zmin(0.)
            .zmax(100.)
            .color_scale(ColorScale::Palette(ColorScalePalette::Blues))
            .reverse_scale(true)
            .hover_template("Cohort %{y}<br>%{customdata}<extra></extra>"),
    );
    plot.add_trace(
        HeatMap::new(x, y, censored)
            .name("not yet observed")
            .show_scale(false)
            .color_scale(ColorScale::Vector(vec![
                plotly::common::ColorScaleElement(0., "#f1f3f5".into()),
                plotly::common::ColorScaleElement(1., "#f1f3f5".into()),
            ]))
            .hover_template("Cohort %{y}<br>%{x}: not yet observed<extra></extra>"),
    );
    plot.set_layout(
        base_layout(110 + 36 * cohorts.len().max(3))
            .show_legend(false)
            .hover_mode(plotly::layout::HoverMode::Closest)
            .x_axis(
                Axis::new()
                    .side(plotly::common::AxisSide::Top)
                    .type_(AxisType::Category),
            )
            .y_axis(Axis::new().type_(AxisType::Category).auto_margin(true)),
    );
    plot.set_configuration(config());
    // Cells show their rate (or "n/o" on the grey layer); tooltips come from `customdata`.
    let not_observed: Vec<Vec<&str>> = ordered
        .iter()
        .map(|c| {
            c.retained
                .iter()
                .map(|r| if r.is_none() { "n/o" } else { "" })
                .collect()
        })
        .collect();
    let figure = with_trace_fields(
        &plot,
        0,
        serde_json::json!({ "text": shown, "texttemplate": "%{text}", "customdata": hover }),
    );
    let mut value: serde_json::Value = serde_json::from_str(&figure).unwrap_or_default();
    if let Some(t) = value.pointer_mut("/data/1").and_then(|t| t.as_object_mut()) {
        t.insert("text".into(), serde_json::json!(not_observed));
        t.insert("texttemplate".into(), "%{text}".into());
        t.insert("textfont".into(), serde_json::json!({ "color": "#868e96" }));
    }
    value.to_string()
}

/// One retention curve: a name and its rate per `RETENTION_DAYS` entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Curve {
    pub name: String,
    pub rates: Vec<Option<f64>>,
    pub detail: Vec<String>,
}

/// Curves on a shared day axis with unified hover.
pub fn curves(curves: &[Curve]) -> String {
    let x = day_labels();
    let mut plot = Plot::new();
    for (n, curve) in curves.iter().enumerate() {
        let color = colors::SERIES[n % colors::SERIES.len()];
        let hover: Vec<String> = curve
            .detail
            .iter()
            .map(|d| {
                format!(
                    "{}: {}<extra></extra>",
                    format::plotly_text(&curve.name),
                    format::plotly_text(d)
                )
            })
            .collect();
        plot.add_trace(
            Scatter::new(x.clone(), curve.rates.clone())
                .name(format::plotly_text(&curve.name))
                .mode(Mode::LinesMarkers)
                .line(Line::new().color(color).width(2.))
                .marker(Marker::new().color(color).size(6))
                .hover_template_array(hover),
        );
    }
    plot.set_layout(
        base_layout(340)
            .x_axis(
                Axis::new()
                    .type_(AxisType::Category)
                    .title("days since signup"),
            )
            .y_axis(Axis::new().title("retained (%)").range(vec![0., 100.])),
    );
    plot.set_configuration(config());
    plot.to_json()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::hostile;

    #[test]
    fn curve_names_and_tooltips_escape_markup() {
        let lines: Vec<Curve> = hostile::TEXTS
            .iter()
            .map(|t| Curve {
                name: t.to_string(),
                rates: vec![Some(50.0); RETENTION_DAYS.len()],
                detail: vec![t.to_string(); RETENTION_DAYS.len()],
            })
            .collect();
        let figure = curves(&lines);
        hostile::assert_escaped(&figure);
        let json: serde_json::Value = serde_json::from_str(&figure).unwrap();
        assert_eq!(json["data"][1]["name"], "&lt;b&gt;bold&lt;/b&gt;");
    }

    #[test]
    fn heatmap_labels_escape_markup() {
        let cohorts: Vec<Cohort> = hostile::TEXTS
            .iter()
            .map(|t| Cohort {
                date: t.to_string(),
                size: 10,
                retained: [Some(10), Some(5), None, None, None, None],
                observed_size: [10; 6],
            })
            .collect();
        hostile::assert_escaped(&heatmap(&cohorts));
    }
}
