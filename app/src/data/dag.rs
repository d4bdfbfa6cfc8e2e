//! A run's task graph laid out as plain data: the tasks of a run (names, upstream names,
//! states) flow in, a box per task and an S-curve per upstream edge come out, in SVG user
//! units, for `components::dag` to draw. The layout is layered left to right: a task's
//! column is its longest path from a root, so every arrow points right; within a column
//! tasks are ordered by where their upstream tasks sit, which keeps `mart_x -> test_x`
//! pairs level. Nothing is measured in a document (the server lays it out too), so text
//! widths are estimated per character. Tested without a browser.

use std::collections::HashMap;

use crate::data::format;
use contract::runs::TaskRow;

/// Gaps and margin, in SVG user units (pixels at scale 1).
const ROW_GAP: f64 = 14.0;
const COL_GAP: f64 = 28.0;
const MARGIN: f64 = 8.0;
/// Box heights: one line for the name and one for the state, or two for a long name.
pub const NODE_H: f64 = 44.0;
const NODE_H_WRAPPED: f64 = 58.0;
/// Box widths: fitted to the longest line of the column, within these bounds. The least
/// fits a state line like "success · 9.9k rows", so boxes keep their width as a run goes.
const MIN_W: f64 = 132.0;
const MAX_W: f64 = 220.0;
/// Text inset from a box's left edge.
pub const PAD: f64 = 9.0;
/// Approximate advance of one character of a name (12.5px, semi-bold) and of the state
/// line (11px): the SVG is laid out before it is in a document, so nothing is measured.
/// On the wide side, so a name never runs out of its box.
const NAME_CHAR: f64 = 7.9;
const LINE_CHAR: f64 = 6.3;
/// Names longer than this go on two lines, split at an underscore.
const WRAP_AT: usize = 16;
/// Longest name line drawn in full; a longer one ends in "…" (the box's title has it all).
const NAME_MAX: usize = ((MAX_W - 2.0 * PAD) / NAME_CHAR) as usize;

/// Where one task is drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeBox {
    /// Index into the tasks the layout was made from.
    pub task: usize,
    /// Column: the longest path from a task with no upstream.
    pub depth: usize,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    /// The name as drawn: one or two lines.
    pub name: Vec<String>,
    /// The state line under it.
    pub line: String,
}

/// An arrow from an upstream task to the task that waits for it (indexes into the tasks).
#[derive(Clone, Debug, PartialEq)]
pub struct EdgeLine {
    pub from: usize,
    pub to: usize,
    /// SVG path data: a horizontal S-curve from the right edge of `from` to the left of `to`.
    pub path: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// One per task, in the tasks' order.
    pub nodes: Vec<NodeBox>,
    pub edges: Vec<EdgeLine>,
    pub width: f64,
    pub height: f64,
}

/// Each task's longest path from a root (a task none of whose upstream tasks is in the
/// list). Upstream names not in the list are ignored; a cycle, which the orchestrator
/// never produces, is cut where it is found instead of recursing forever.
pub fn depths(tasks: &[TaskRow]) -> Vec<usize> {
    let index: HashMap<&str, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.task.as_str(), i))
        .collect();
    let mut depth: Vec<Option<usize>> = vec![None; tasks.len()];
    let mut visiting = vec![false; tasks.len()];

    fn visit(
        i: usize,
        tasks: &[TaskRow],
        index: &HashMap<&str, usize>,
        depth: &mut [Option<usize>],
        visiting: &mut [bool],
    ) -> usize {
        if let Some(d) = depth[i] {
            return d;
        }
        if visiting[i] {
            return 0;
        }
        visiting[i] = true;
        let mut d = 0;
        for up in &tasks[i].upstream {
            if let Some(&j) = index.get(up.as_str()) {
                d = d.max(visit(j, tasks, index, depth, visiting) + 1);
            }
        }
        visiting[i] = false;
        depth[i] = Some(d);
        d
    }

    (0..tasks.len())
        .map(|i| visit(i, tasks, &index, &mut depth, &mut visiting))
        .collect()
}

/// The tasks of each column, top to bottom. Column 0 keeps the tasks' order; each later
/// column is sorted by the height of its tasks' upstream boxes (ties keep the tasks'
/// order), which draws fan-outs and their tests as level rows with few crossings.
pub fn columns(tasks: &[TaskRow], depths: &[usize]) -> Vec<Vec<usize>> {
    let count = depths.iter().max().map_or(0, |d| d + 1);
    let mut cols: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (i, &d) in depths.iter().enumerate() {
        cols[d].push(i);
    }
    let index: HashMap<&str, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.task.as_str(), i))
        .collect();
    // A task's height as an offset from its column's middle (columns are centred).
    let mut level = vec![0.0_f64; tasks.len()];
    for (c, col) in cols.iter_mut().enumerate() {
        if c > 0 {
            // Level with the first upstream task (the one a task is named for:
            // `test_x` after `mart_x`), then by the mean of all of them.
            let key = |i: usize| {
                let ups: Vec<f64> = tasks[i]
                    .upstream
                    .iter()
                    .filter_map(|u| index.get(u.as_str()))
                    .filter(|&&j| depths[j] < c)
                    .map(|&j| level[j])
                    .collect();
                let mean = ups.iter().sum::<f64>() / ups.len().max(1) as f64;
                (ups.first().copied().unwrap_or(0.0), mean)
            };
            let mut keyed: Vec<((f64, f64), usize)> = col.iter().map(|&i| (key(i), i)).collect();
            keyed.sort_by(|a, b| {
                (a.0.0.total_cmp(&b.0.0))
                    .then(a.0.1.total_cmp(&b.0.1))
                    .then(a.1.cmp(&b.1))
            });
            *col = keyed.into_iter().map(|(_, i)| i).collect();
        }
        let middle = (col.len() as f64 - 1.0) / 2.0;
        for (row, &i) in col.iter().enumerate() {
            level[i] = row as f64 - middle;
        }
    }
    cols
}

/// A task's name as drawn: on one line, or on two split at the underscore that makes the
/// longer line shortest (`mart_user_growth_` / `metrics_month`); a line over [`NAME_MAX`]
/// characters ends in "…".
pub fn name_lines(name: &str) -> Vec<String> {
    fn clip(line: &str) -> String {
        if line.chars().count() <= NAME_MAX {
            line.to_string()
        } else {
            let head: String = line.chars().take(NAME_MAX - 1).collect();
            format!("{head}…")
        }
    }
    let len = name.chars().count();
    if len <= WRAP_AT {
        return vec![name.to_string()];
    }
    let split = name
        .char_indices()
        .filter(|&(_, c)| c == '_')
        .map(|(i, _)| i + 1)
        .filter(|&i| i < name.len())
        .min_by_key(|&i| {
            let left = name[..i].chars().count();
            left.max(len - left)
        });
    match split {
        Some(i) => vec![clip(&name[..i]), clip(&name[i..])],
        None => vec![clip(name)],
    }
}

/// Positions every task and routes every edge.
pub fn layout(tasks: &[TaskRow]) -> Layout {
    let depths = depths(tasks);
    let cols = columns(tasks, &depths);
    let names: Vec<Vec<String>> = tasks.iter().map(|t| name_lines(&t.task)).collect();
    let lines: Vec<String> = tasks.iter().map(format::task_line).collect();
    let widths = column_widths(&cols, &names, &lines);
    // One height for every box, so rows line up across columns.
    let h = if names.iter().any(|n| n.len() > 1) {
        NODE_H_WRAPPED
    } else {
        NODE_H
    };
    let tallest = cols.iter().map(Vec::len).max().unwrap_or(0) as f64;
    let height = if tallest > 0.0 {
        tallest * (h + ROW_GAP) - ROW_GAP + 2.0 * MARGIN
    } else {
        0.0
    };
    let mut nodes: Vec<Option<NodeBox>> = vec![None; tasks.len()];
    let mut x = MARGIN;
    for (c, col) in cols.iter().enumerate() {
        let top = (height - (col.len() as f64 * (h + ROW_GAP) - ROW_GAP)) / 2.0;
        for (row, &i) in col.iter().enumerate() {
            nodes[i] = Some(NodeBox {
                task: i,
                depth: c,
                x,
                y: top + row as f64 * (h + ROW_GAP),
                w: widths[c],
                h,
                name: names[i].clone(),
                line: lines[i].clone(),
            });
        }
        x += widths[c] + COL_GAP;
    }
    let width = if cols.is_empty() {
        0.0
    } else {
        x - COL_GAP + MARGIN
    };
    let nodes: Vec<NodeBox> = nodes.into_iter().flatten().collect();
    let edges = route_edges(tasks, &nodes);
    Layout {
        nodes,
        edges,
        width,
        height,
    }
}

/// Each column's box width: fitted to its longest name or state line, within
/// [`MIN_W`]..[`MAX_W`].
fn column_widths(cols: &[Vec<usize>], names: &[Vec<String>], lines: &[String]) -> Vec<f64> {
    cols.iter()
        .map(|col| {
            col.iter()
                .map(|&i| {
                    let name = names[i].iter().map(|l| l.chars().count()).max();
                    let name = name.unwrap_or(0) as f64 * NAME_CHAR;
                    let line = lines[i].chars().count() as f64 * LINE_CHAR;
                    name.max(line) + 2.0 * PAD
                })
                .fold(MIN_W, f64::max)
                .min(MAX_W)
        })
        .collect()
}

/// An S-curve from each upstream task's box to its task's (upstream names not in the
/// list draw nothing).
fn route_edges(tasks: &[TaskRow], nodes: &[NodeBox]) -> Vec<EdgeLine> {
    let index: HashMap<&str, usize> = tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.task.as_str(), i))
        .collect();
    let mut edges = Vec::new();
    for (to, task) in tasks.iter().enumerate() {
        for up in &task.upstream {
            let Some(&from) = index.get(up.as_str()) else {
                continue;
            };
            let (a, b) = (&nodes[from], &nodes[to]);
            let (x1, y1) = (a.x + a.w, a.y + a.h / 2.0);
            // Ends short of the box so the arrowhead's tip touches it.
            let (x2, y2) = (b.x - 2.0, b.y + b.h / 2.0);
            let bend = ((x2 - x1) / 2.0).max(COL_GAP / 2.0);
            edges.push(EdgeLine {
                from,
                to,
                path: format!(
                    "M{x1:.1},{y1:.1} C{:.1},{y1:.1} {:.1},{y2:.1} {x2:.1},{y2:.1}",
                    x1 + bend,
                    x2 - bend
                ),
            });
        }
    }
    edges
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::fixtures::task;

    /// The orchestrator's graph: a chain of layers, eight marts fanning out of `activity`,
    /// one test per mart, and `commit` after every test.
    fn pipeline() -> Vec<TaskRow> {
        let mut tasks = vec![
            task("ingest", &[]),
            task("bronze", &["ingest"]),
            task("test_bronze", &["bronze"]),
            task("silver", &["test_bronze"]),
            task("gold", &["silver"]),
            task("test_gold", &["gold"]),
            task("activity", &["test_gold"]),
        ];
        let marts: Vec<String> = (0..8).map(|i| format!("mart_{i}")).collect();
        for m in &marts {
            tasks.push(task(m, &["activity"]));
        }
        // Tests listed in reverse, so ordering by upstream has something to do; the last
        // three also check their mart against another (lifecycle against growth).
        for (i, m) in marts.iter().enumerate().rev() {
            let mut upstream = vec![m.as_str()];
            if i >= 5 {
                upstream.push(&marts[i - 5]);
            }
            tasks.push(task(&format!("test_{m}"), &upstream));
        }
        let mut upstream = vec!["silver".to_string()];
        upstream.extend(marts.iter().map(|m| format!("test_{m}")));
        let upstream: Vec<&str> = upstream.iter().map(String::as_str).collect();
        tasks.push(task("commit", &upstream));
        tasks
    }

    #[test]
    fn a_chain_goes_one_column_per_task() {
        let tasks = vec![task("a", &[]), task("b", &["a"]), task("c", &["b"])];
        assert_eq!(depths(&tasks), vec![0, 1, 2]);
        let l = layout(&tasks);
        assert!(l.nodes[0].x < l.nodes[1].x && l.nodes[1].x < l.nodes[2].x);
        // One row: every box at the same height.
        assert!(l.nodes.iter().all(|n| n.y == l.nodes[0].y));
    }

    #[test]
    fn a_diamond_takes_the_longest_path() {
        // a -> b -> d, a -> c -> e -> d: d sits after e, not after b.
        let tasks = vec![
            task("d", &["b", "e"]),
            task("a", &[]),
            task("b", &["a"]),
            task("c", &["a"]),
            task("e", &["c"]),
        ];
        assert_eq!(depths(&tasks), vec![3, 0, 1, 1, 2]);
        let cols = columns(&tasks, &depths(&tasks));
        assert_eq!(cols, vec![vec![1], vec![2, 3], vec![4], vec![0]]);
    }

    #[test]
    fn the_pipeline_has_a_box_per_task_and_an_edge_per_upstream() {
        let tasks = pipeline();
        let l = layout(&tasks);
        assert_eq!(tasks.len(), 24);
        assert_eq!(l.nodes.len(), tasks.len());
        let upstream: usize = tasks.iter().map(|t| t.upstream.len()).sum();
        assert_eq!(l.edges.len(), upstream);
        let d = depths(&tasks);
        assert_eq!(d[tasks.len() - 1], 9, "commit comes after the mart tests");
        // Boxes never overlap.
        for (i, a) in l.nodes.iter().enumerate() {
            for b in &l.nodes[i + 1..] {
                let apart =
                    a.x + a.w <= b.x || b.x + b.w <= a.x || a.y + a.h <= b.y || b.y + b.h <= a.y;
                assert!(apart, "{a:?} overlaps {b:?}");
            }
            assert!(a.x >= 0.0 && a.x + a.w <= l.width && a.y >= 0.0 && a.y + a.h <= l.height);
        }
    }

    #[test]
    fn every_edge_points_left_to_right() {
        let tasks = pipeline();
        let l = layout(&tasks);
        for e in &l.edges {
            let (a, b) = (&l.nodes[e.from], &l.nodes[e.to]);
            assert!(a.depth < b.depth);
            assert!(
                a.x + a.w < b.x,
                "{} -> {}",
                tasks[e.from].task,
                tasks[e.to].task
            );
        }
    }

    #[test]
    fn each_mart_test_sits_level_with_its_mart() {
        let tasks = pipeline();
        let l = layout(&tasks);
        for e in &l.edges {
            let first = &tasks[e.to].upstream[0];
            if tasks[e.to].task.starts_with("test_mart_") && *first == tasks[e.from].task {
                assert_eq!(l.nodes[e.from].y, l.nodes[e.to].y, "{}", tasks[e.to].task);
            }
        }
    }

    #[test]
    fn unknown_upstream_and_cycles_do_not_break_the_layout() {
        let tasks = vec![task("a", &["b", "gone"]), task("b", &["a"])];
        let l = layout(&tasks);
        assert_eq!(l.nodes.len(), 2);
        assert!(layout(&[]).nodes.is_empty());
    }

    #[test]
    fn long_names_wrap_at_the_underscore_nearest_the_middle() {
        assert_eq!(name_lines("test_bronze"), vec!["test_bronze"]);
        assert_eq!(
            name_lines("mart_user_growth_metrics_month"),
            vec!["mart_user_growth_", "metrics_month"]
        );
        assert_eq!(
            name_lines("test_user_lifecycle_month"),
            vec!["test_user_", "lifecycle_month"]
        );
        let long = name_lines("a_averyveryveryverylongnamewithoutbreaks");
        assert_eq!(long[1].chars().count(), NAME_MAX);
        assert!(long[1].ends_with('…'));
        assert_eq!(name_lines("nounderscoresinthisnameatall").len(), 1);
    }
}
