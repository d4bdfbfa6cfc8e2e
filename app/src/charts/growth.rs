//! Growth accounting figures: stacked bars (new, retained, resurrected above zero, churned
//! below) with active users as a line on the same x axis, and the quick ratio against its
//! 1.0 line. Incomplete periods get lighter bars, a shaded band and "incomplete" in the
//! tooltip. Churned is drawn negative but its tooltip shows the positive count.

use plotly::common::{Anchor, DashType, Font, Line, Marker, Mode};
use plotly::layout::{
    Annotation, Axis, AxisType, BarMode, DragMode, RangeMode, SelectDirection, Shape, ShapeLayer,
    ShapeLine, ShapeType,
};
use plotly::{Bar, Plot, Scatter};

use super::{base_layout, colors, config};
use crate::data::format;
use crate::data::growth::Period;
use crate::marts::Grain;

/// The tooltip line of one series at one period (both texts escaped here: the explorer's
/// series names come from its catalog, not from this file).
pub fn hover_line(series: &str, value: &str, complete: bool) -> String {
    let suffix = if complete { "" } else { " (incomplete)" };
    format!(
        "{}: {}{suffix}<extra></extra>",
        format::plotly_text(series),
        format::plotly_text(value)
    )
}

/// A shaded band over the incomplete periods and a note saying so, if there are any.
fn incomplete_band(periods: &[Period], grain: Grain) -> Option<(Shape, Annotation)> {
    let first = periods.iter().position(|p| !p.is_complete)?;
    // The band runs from half a period before the first incomplete one to half after the last.
    let half = match grain {
        Grain::Day => 12,
        Grain::Week => 84,
        Grain::Month => 360,
    };
    let x0 = shift_hours(&periods[first].period, -half);
    let x1 = shift_hours(&periods[periods.len() - 1].period, half);
    let shape = Shape::new()
        .shape_type(ShapeType::Rect)
        .x_ref("x")
        .y_ref("paper")
        .x0(x0.clone())
        .x1(x1)
        .y0(0)
        .y1(1)
        .fill_color("rgba(134,142,150,0.14)")
        .line(ShapeLine::new().width(0.))
        .layer(ShapeLayer::Below);
    let note = Annotation::new()
        .x(x0)
        .x_ref("x")
        .y(1.0)
        .y_ref("paper")
        .x_anchor(Anchor::Right)
        .y_anchor(Anchor::Bottom)
        .show_arrow(false)
        .text("incomplete →")
        .font(Font::new().size(11).color("#868e96"));
    Some((shape, note))
}

/// `YYYY-MM-DD` plus `hours`, as a Plotly date string (`YYYY-MM-DD HH:MM:SS`).
fn shift_hours(date: &str, hours: i64) -> String {
    use chrono::{NaiveDate, TimeDelta};
    match date.parse::<NaiveDate>() {
        Ok(d) => (d.and_time(chrono::NaiveTime::MIN) + TimeDelta::hours(hours)).to_string(),
        Err(_) => date.to_string(),
    }
}

/// A date x axis whose tooltip title is the period label (`YYYY-MM-DD`).
pub fn date_axis() -> Axis {
    Axis::new().type_(AxisType::Date).hover_format("%Y-%m-%d")
}

/// Per-point bar colours: the series colour, faded where the period is incomplete.
fn bar_colors(periods: &[Period], color: &str) -> Vec<String> {
    periods
        .iter()
        .map(|p| colors::faded(color, if p.is_complete { 0.9 } else { 0.35 }))
        .collect()
}

/// The main growth chart.
pub fn accounting(periods: &[Period], grain: Grain) -> String {
    let x: Vec<String> = periods.iter().map(|p| p.period.clone()).collect();
    let mut plot = Plot::new();
    type BarSpec = (&'static str, &'static str, fn(&Period) -> u64, bool);
    let bars: [BarSpec; 4] = [
        ("New", colors::NEW, |p| p.new_users, false),
        ("Retained", colors::RETAINED, |p| p.retained_users, false),
        (
            "Resurrected",
            colors::RESURRECTED,
            |p| p.resurrected_users,
            false,
        ),
        ("Churned", colors::CHURNED, |p| p.churned_users, true),
    ];
    for (name, color, value, below) in bars {
        let y: Vec<i64> = periods
            .iter()
            .map(|p| {
                if below {
                    -(value(p) as i64)
                } else {
                    value(p) as i64
                }
            })
            .collect();
        let hover: Vec<String> = periods
            .iter()
            .map(|p| hover_line(name, &format::count(value(p) as i64), p.is_complete))
            .collect();
        plot.add_trace(
            Bar::new(x.clone(), y)
                .name(name)
                .marker(Marker::new().color_array(bar_colors(periods, color)))
                .hover_template_array(hover),
        );
    }
    let hover: Vec<String> = periods
        .iter()
        .map(|p| {
            hover_line(
                "Active",
                &format::count(p.active_users as i64),
                p.is_complete,
            )
        })
        .collect();
    plot.add_trace(
        Scatter::new(x, periods.iter().map(|p| p.active_users).collect())
            .name("Active")
            .mode(Mode::LinesMarkers)
            .line(Line::new().color(colors::ACTIVE).width(2.5))
            .marker(Marker::new().color(colors::ACTIVE).size(5))
            .hover_template_array(hover),
    );
    // Dragging brushes a date range (the page filters to it); zoom stays in the toolbar.
    let mut layout = base_layout(420)
        .drag_mode(DragMode::Select)
        .select_direction(SelectDirection::Horizontal)
        .bar_mode(BarMode::Relative)
        .x_axis(date_axis())
        .y_axis(
            Axis::new()
                .title("users")
                .zero_line(true)
                .zero_line_color("#adb5bd")
                .tick_format(",d"),
        );
    if let Some((band, note)) = incomplete_band(periods, grain) {
        layout = layout.shapes(vec![band]).annotations(vec![note]);
    }
    plot.set_layout(layout);
    plot.set_configuration(config());
    plot.to_json()
}

/// Quick ratio per period with the 1.0 reference line.
pub fn quick_ratio(periods: &[Period], grain: Grain) -> String {
    let x: Vec<String> = periods.iter().map(|p| p.period.clone()).collect();
    let hover: Vec<String> = periods
        .iter()
        .map(|p| {
            hover_line(
                "Quick ratio",
                &format::ratio(p.quick_ratio()),
                p.is_complete,
            )
        })
        .collect();
    let mut plot = Plot::new();
    plot.add_trace(
        Scatter::new(x, periods.iter().map(Period::quick_ratio).collect())
            .name("Quick ratio")
            .mode(Mode::LinesMarkers)
            .connect_gaps(false)
            .line(Line::new().color(colors::RATIO).width(2.))
            .hover_template_array(hover),
    );
    let reference = Shape::new()
        .shape_type(ShapeType::Line)
        .x_ref("paper")
        .x0(0)
        .x1(1)
        .y0(1)
        .y1(1)
        .line(
            ShapeLine::new()
                .color("#868e96")
                .width(1.)
                .dash(DashType::Dash),
        );
    let (mut shapes, mut notes) = (vec![reference], vec![]);
    if let Some((band, note)) = incomplete_band(periods, grain) {
        shapes.push(band);
        notes.push(note);
    }
    plot.set_layout(
        base_layout(260)
            .drag_mode(DragMode::Select)
            .select_direction(SelectDirection::Horizontal)
            .show_legend(false)
            .x_axis(date_axis())
            .y_axis(
                Axis::new()
                    .title("quick ratio")
                    .range_mode(RangeMode::ToZero),
            )
            .shapes(shapes)
            .annotations(notes),
    );
    plot.set_configuration(config());
    plot.to_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period(label: &str, churned: u64, complete: bool) -> Period {
        Period {
            period: label.into(),
            new_users: 1200,
            retained_users: 30,
            resurrected_users: 4,
            churned_users: churned,
            active_users: 1234,
            growth: 1204 - churned as i64,
            is_complete: complete,
        }
    }

    #[test]
    fn tooltip_lines_are_formatted_and_flag_incomplete_periods() {
        assert_eq!(
            hover_line("New", "1,200", true),
            "New: 1,200<extra></extra>"
        );
        assert_eq!(
            hover_line("Active", "1,234", false),
            "Active: 1,234 (incomplete)<extra></extra>"
        );
    }

    #[test]
    fn tooltip_lines_escape_the_series_name_and_value() {
        assert_eq!(
            hover_line("<b>x</b>", "%{y}", true),
            "&lt;b&gt;x&lt;/b&gt;: &#37;{y}<extra></extra>"
        );
    }

    #[test]
    fn churn_is_drawn_below_zero_but_its_tooltip_is_positive() {
        let figure: serde_json::Value = serde_json::from_str(&accounting(
            &[
                period("2025-03-03", 1500, true),
                period("2025-03-10", 7, false),
            ],
            Grain::Week,
        ))
        .unwrap();
        let traces = figure["data"].as_array().unwrap();
        let names: Vec<&str> = traces.iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            ["New", "Retained", "Resurrected", "Churned", "Active"],
            "each series once"
        );
        assert_eq!(traces[3]["y"], serde_json::json!([-1500, -7]));
        assert_eq!(
            traces[3]["hovertemplate"][0],
            "Churned: 1,500<extra></extra>"
        );
        assert_eq!(
            traces[3]["hovertemplate"][1],
            "Churned: 7 (incomplete)<extra></extra>"
        );
        assert_eq!(
            traces[4]["hovertemplate"][0],
            "Active: 1,234<extra></extra>"
        );
        assert_eq!(figure["layout"]["hovermode"], "x unified");
        assert_eq!(figure["layout"]["barmode"], "relative");
        // The incomplete week is shaded.
        assert_eq!(figure["layout"]["shapes"].as_array().map(Vec::len), Some(1));
    }
}
