//! The explorer's figure: every joined series on one x axis (bar or line, left or right
//! axis), unified hover with each series' own formatted value, incomplete periods marked.

use plotly::common::AxisSide;
use plotly::common::{Line, Marker, Mode};
use plotly::layout::{Axis, BarMode, RangeMode};
use plotly::{Bar, Plot, Scatter};

use super::{base_layout, colors, config};
use crate::charts::growth::{date_axis, hover_line};
use crate::data::explore::{Axis as Side, Joined, Mark, Unit};
use crate::data::format;

pub fn figure(joined: &Joined) -> String {
    let mut plot = Plot::new();
    for (n, s) in joined.series.iter().enumerate() {
        let color = colors::SERIES[n % colors::SERIES.len()];
        let hover: Vec<String> = (0..joined.x.len())
            .map(|i| hover_line(&s.spec.label(), &s.text(i), joined.complete[i]))
            .collect();
        let axis = match s.spec.axis {
            Side::Left => "y",
            Side::Right => "y2",
        };
        match s.spec.mark {
            Mark::Bar => {
                let fill: Vec<String> = joined
                    .complete
                    .iter()
                    .map(|c| colors::faded(color, if *c { 0.85 } else { 0.35 }))
                    .collect();
                plot.add_trace(
                    Bar::new(joined.x.clone(), s.values.clone())
                        .name(format::plotly_text(&s.spec.label()))
                        .y_axis(axis)
                        .marker(Marker::new().color_array(fill))
                        .hover_template_array(hover),
                )
            }
            Mark::Line => plot.add_trace(
                Scatter::new(joined.x.clone(), s.values.clone())
                    .name(format::plotly_text(&s.spec.label()))
                    .y_axis(axis)
                    .mode(Mode::LinesMarkers)
                    .connect_gaps(false)
                    .line(Line::new().color(color).width(2.))
                    .marker(Marker::new().color(color).size(5))
                    .hover_template_array(hover),
            ),
        }
    }
    let axis_title = |side: Side| -> String {
        let names: Vec<String> = joined
            .series
            .iter()
            .filter(|s| s.spec.axis == side)
            .map(|s| format::plotly_text(&s.spec.label()))
            .collect();
        names.join(", ")
    };
    let format_of = |side: Side| -> &'static str {
        let units: Vec<Unit> = joined
            .series
            .iter()
            .filter(|s| s.spec.axis == side)
            .map(|s| s.spec.column.unit)
            .collect();
        if !units.is_empty() && units.iter().all(|u| *u == Unit::Percent) {
            ".0f"
        } else {
            ","
        }
    };
    // Dragging brushes a range of periods (the page keeps only those); zoom is in the toolbar.
    let mut layout = base_layout(440)
        .drag_mode(plotly::layout::DragMode::Select)
        .select_direction(plotly::layout::SelectDirection::Horizontal)
        .bar_mode(BarMode::Group)
        .x_axis(date_axis())
        .y_axis(
            Axis::new()
                .title(axis_title(Side::Left).as_str())
                .tick_format(format_of(Side::Left))
                .zero_line(true)
                .range_mode(RangeMode::ToZero),
        );
    if joined.series.iter().any(|s| s.spec.axis == Side::Right) {
        layout = layout.y_axis2(
            Axis::new()
                .title(axis_title(Side::Right).as_str())
                .overlaying("y")
                .side(AxisSide::Right)
                .show_grid(false)
                .range_mode(RangeMode::ToZero)
                .tick_format(format_of(Side::Right)),
        );
    }
    plot.set_layout(layout);
    plot.set_configuration(config());
    plot.to_json()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::charts::hostile;
    use crate::data::explore::{Agg, Column, JoinedSeries, SeriesSpec};

    #[test]
    fn series_names_and_axis_titles_escape_markup() {
        let series = hostile::TEXTS
            .iter()
            .zip([Side::Left, Side::Right, Side::Left])
            .zip([Mark::Bar, Mark::Line, Mark::Line])
            .map(|((t, axis), mark)| JoinedSeries {
                spec: SeriesSpec {
                    column: Column {
                        key: "growth.new_users".into(),
                        label: t.to_string(),
                        unit: Unit::Count,
                    },
                    agg: Agg::Sum,
                    mark,
                    axis,
                },
                values: vec![Some(1.0)],
            })
            .collect();
        let joined = Joined {
            x: vec!["2025-03-03".into()],
            complete: vec![true],
            series,
        };
        hostile::assert_escaped(&figure(&joined));
    }
}
