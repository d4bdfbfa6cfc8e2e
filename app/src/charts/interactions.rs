//! The interactions Sankey: event type -> transaction category (no category shows as
//! "none"), link width = interactions, link label = the share of its event type, as %.

use plotly::Plot;
use plotly::sankey::{Link, Node};

use super::{colors, config};
use crate::data::format;
use crate::marts::InteractionRow;

/// Interactions summed over `keep`'s countries per (event type, category), with shares
/// recomputed from the sums. See: METRICS.md, Interactions.
pub fn flows(rows: &[InteractionRow], keep: impl Fn(&str) -> bool) -> Vec<InteractionRow> {
    use std::collections::BTreeMap;
    let mut sums: BTreeMap<(String, Option<String>), InteractionRow> = BTreeMap::new();
    for row in rows.iter().filter(|r| keep(&r.country)) {
        let entry = sums
            .entry((row.event_type.clone(), row.transaction_category.clone()))
            .or_insert_with(|| InteractionRow {
                country: String::new(),
                interactions: 0,
                users: 0,
                miles: 0.,
                share: 0.,
                ..row.clone()
            });
        entry.interactions += row.interactions;
        // A user belongs to one country (dim_users), so distinct users add up across countries.
        entry.users += row.users;
        entry.miles += row.miles;
    }
    let mut per_type: BTreeMap<String, u64> = BTreeMap::new();
    for r in sums.values() {
        *per_type.entry(r.event_type.clone()).or_default() += r.interactions;
    }
    sums.into_values()
        .map(|mut r| {
            let total = per_type.get(&r.event_type).copied().unwrap_or(0);
            r.share = if total > 0 {
                r.interactions as f64 / total as f64
            } else {
                0.
            };
            r
        })
        .collect()
}

pub fn category(row: &InteractionRow) -> &str {
    row.transaction_category.as_deref().unwrap_or("none")
}

/// The Sankey figure (JSON) for flows from `flows`.
pub fn sankey(flows: &[InteractionRow]) -> String {
    let mut labels: Vec<String> = Vec::new();
    let index =
        |label: String, labels: &mut Vec<String>| match labels.iter().position(|l| *l == label) {
            Some(i) => i,
            None => {
                labels.push(label);
                labels.len() - 1
            }
        };
    let (mut source, mut target, mut value, mut hover) = (vec![], vec![], vec![], vec![]);
    for f in flows {
        let s = index(f.event_type.clone(), &mut labels);
        // Categories are right-hand nodes even when a name equals an event type.
        let t = index(format!("{} ", category(f)), &mut labels);
        source.push(s);
        target.push(t);
        value.push(f.interactions);
        hover.push(format!(
            "{} → {}: {} interactions<br>{} of {}<br>{} users · {} miles",
            format::plotly_text(&f.event_type),
            format::plotly_text(category(f)),
            format::count(f.interactions as i64),
            format::share(f.share),
            format::plotly_text(&f.event_type),
            format::count(f.users as i64),
            format::number(f.miles)
        ));
    }
    let node_colors: Vec<String> = (0..labels.len())
        .map(|i| colors::SERIES[i % colors::SERIES.len()].to_string())
        .collect();
    let link_colors: Vec<String> = source
        .iter()
        .map(|s| colors::faded(colors::SERIES[*s % colors::SERIES.len()], 0.35))
        .collect();
    let shown: Vec<String> = labels
        .iter()
        .map(|l| format::plotly_text(l.trim_end()))
        .collect();
    let mut plot = Plot::new();
    plot.add_trace(
        plotly::Sankey::new()
            .node(
                Node::new()
                    .label(shown.iter().map(String::as_str).collect())
                    .pad(18)
                    .thickness(18)
                    .color_array(node_colors),
            )
            .link(
                Link::new()
                    .source(source)
                    .target(target)
                    .value(value)
                    .color_array(link_colors),
            ),
    );
    plot.set_layout(super::base_layout(460).hover_mode(plotly::layout::HoverMode::Closest));
    plot.set_configuration(config());
    // A Sankey link's hovertemplate is one string (an array breaks Plotly's hover): the
    // per-link text goes in `customdata`, which the template shows.
    let mut figure: serde_json::Value =
        serde_json::from_str(&plot.to_json()).unwrap_or(serde_json::Value::Null);
    if let Some(link) = figure
        .pointer_mut("/data/0/link")
        .and_then(|l| l.as_object_mut())
    {
        link.insert("customdata".into(), serde_json::json!(hover));
        link.insert(
            "hovertemplate".into(),
            serde_json::json!("%{customdata}<extra></extra>"),
        );
    }
    figure.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(country: &str, event: &str, cat: Option<&str>, n: u64) -> InteractionRow {
        InteractionRow {
            country: country.into(),
            event_type: event.into(),
            transaction_category: cat.map(String::from),
            interactions: n,
            users: 1,
            miles: 10.,
            share: 0.,
        }
    }

    #[test]
    fn shares_across_countries_come_from_summed_counts() {
        let rows = vec![
            row("SG", "miles_earned", Some("dining"), 1),
            row("SG", "miles_earned", Some("travel"), 3),
            row("MY", "miles_earned", Some("dining"), 4),
            row("MY", "like", None, 2),
        ];
        let all = flows(&rows, |_| true);
        let dining = all.iter().find(|r| category(r) == "dining").unwrap();
        assert_eq!(dining.interactions, 5);
        assert_eq!(dining.share, 5. / 8.);
        assert_eq!(
            all.iter().find(|r| r.event_type == "like").unwrap().share,
            1.0
        );
        let sg = flows(&rows, |c| c == "SG");
        assert_eq!(sg.len(), 2);
        assert_eq!(sg[0].share, 0.25);
    }

    #[test]
    fn the_sankey_escapes_markup_in_labels_and_tooltips() {
        use crate::charts::hostile;
        let rows: Vec<InteractionRow> = hostile::TEXTS
            .iter()
            .map(|t| row(t, t, Some(t), 1))
            .collect();
        let figure = sankey(&flows(&rows, |_| true));
        hostile::assert_escaped(&figure);
        let json: serde_json::Value = serde_json::from_str(&figure).unwrap();
        assert_eq!(
            json["data"][0]["node"]["label"][0],
            "&lt;a href=\"https://example.com/\"&gt;x&lt;/a&gt;"
        );
    }

    #[test]
    fn the_sankey_labels_links_with_shares() {
        let figure = sankey(&flows(
            &[
                row("SG", "like", None, 2),
                row("SG", "share", Some("like"), 2),
            ],
            |_| true,
        ));
        assert!(
            figure.contains("like → none: 2 interactions<br>100.0% of like"),
            "{figure}"
        );
        // "like" as a category is its own node, not the event type's.
        assert!(
            figure.contains(r#""label":["like","none","share","like"]"#),
            "{figure}"
        );
        // One hovertemplate string for all links (Plotly's Sankey takes no array there).
        let json: serde_json::Value = serde_json::from_str(&figure).unwrap();
        assert_eq!(
            json["data"][0]["link"]["hovertemplate"],
            "%{customdata}<extra></extra>"
        );
        assert_eq!(
            json["data"][0]["link"]["customdata"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
}
