//! A run's task graph as inline SVG: one rounded box per task, coloured by its state, and
//! an arrow from each upstream task to the task that waits for it. The layout is layered
//! left to right: a task's column is its longest path from a root, so every arrow points
//! right; within a column tasks are ordered by where their upstream tasks sit, which keeps
//! `mart_x -> test_x` pairs level. The layout is plain data (tested without a browser);
//! the component only draws it.

use std::collections::HashMap;

use leptos::prelude::*;

use crate::data::format;
use contract::runs::{TaskRow, TaskState};

/// Gaps and margin, in SVG user units (pixels at scale 1).
const ROW_GAP: f64 = 14.0;
const COL_GAP: f64 = 28.0;
const MARGIN: f64 = 8.0;
/// Box heights: one line for the name and one for the state, or two for a long name.
const NODE_H: f64 = 44.0;
const NODE_H_WRAPPED: f64 = 58.0;
/// Box widths: fitted to the longest line of the column, within these bounds. The least
/// fits a state line like "success · 9.9k rows", so boxes keep their width as a run goes.
const MIN_W: f64 = 132.0;
const MAX_W: f64 = 220.0;
const PAD: f64 = 9.0;
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

/// The second line of a task's box: its state, and its rows (or time) once it has them.
pub fn detail_line(task: &TaskRow) -> String {
    let state = task.state.name().replace('_', " ");
    match (task.rows, task.seconds) {
        (Some(rows), _) => format!("{state} · {} rows", compact(rows)),
        (None, Some(s)) => format!("{state} · {}", duration(s)),
        (None, None) => state,
    }
}

/// A task's state, rows and time in full, for its box's title and screen readers.
pub fn full_line(task: &TaskRow) -> String {
    let mut parts = vec![task.state.name().replace('_', " ")];
    if let Some(rows) = task.rows {
        parts.push(format!("{} rows", format::count(rows as i64)));
    }
    if let Some(s) = task.seconds {
        parts.push(duration(s));
    }
    parts.join(", ")
}

/// A count in at most four characters, for the boxes (the details show it in full):
/// `455`, `6.1k`, `10k`, `1.4M`.
pub fn compact(n: u64) -> String {
    let short = |x: f64, unit: &str| {
        if x < 9.95 {
            format!("{:.1}{unit}", x)
        } else {
            format!("{:.0}{unit}", x)
        }
    };
    match n {
        0..1_000 => n.to_string(),
        1_000..999_500 => short(n as f64 / 1e3, "k"),
        999_500..999_500_000 => short(n as f64 / 1e6, "M"),
        _ => short(n as f64 / 1e9, "G"),
    }
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

/// Seconds as people read a run's time: `"87 ms"`, `"9.4 s"`, `"2 min 05 s"`.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return format::DASH.into();
    }
    if seconds < 0.9995 {
        return format!("{:.0} ms", seconds * 1000.0);
    }
    if seconds < 60.0 {
        return format!("{seconds:.1} s");
    }
    let whole = seconds.round() as u64;
    let (h, m, s) = (whole / 3600, whole / 60 % 60, whole % 60);
    if h > 0 {
        format!("{h} h {m:02} min")
    } else {
        format!("{m} min {s:02} s")
    }
}

/// Positions every task and routes every edge.
pub fn layout(tasks: &[TaskRow]) -> Layout {
    let depths = depths(tasks);
    let cols = columns(tasks, &depths);
    let names: Vec<Vec<String>> = tasks.iter().map(|t| name_lines(&t.task)).collect();
    let lines: Vec<String> = tasks.iter().map(detail_line).collect();
    let widths: Vec<f64> = cols
        .iter()
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
        .collect();
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
    Layout {
        nodes,
        edges,
        width,
        height,
    }
}

/// The task graph. A click (or Enter) on a task calls `on_select` with its name; the
/// `selected` task is outlined and its edges drawn darker.
#[component]
pub fn DagGraph(
    tasks: Vec<TaskRow>,
    #[prop(into)] selected: Signal<Option<String>>,
    on_select: Callback<String>,
) -> impl IntoView {
    let layout = layout(&tasks);
    let (width, height) = (layout.width, layout.height);
    let names: Vec<String> = tasks.iter().map(|t| t.task.clone()).collect();
    let edges = layout
        .edges
        .iter()
        .map(|e| {
            let (from, to) = (names[e.from].clone(), names[e.to].clone());
            let related =
                move || selected.with(|s| s.as_deref().is_some_and(|s| s == from || s == to));
            view! {
                <path
                    class="dag-edge"
                    class:related=related
                    d=e.path.clone()
                    data-from=names[e.from].clone()
                    data-to=names[e.to].clone()
                    marker-end="url(#dag-arrow)"
                />
            }
        })
        .collect_view();
    let nodes = layout
        .nodes
        .iter()
        .map(|n| {
            let task = &tasks[n.task];
            let name = task.task.clone();
            let is_selected = {
                let name = name.clone();
                move || selected.with(|s| s.as_deref() == Some(name.as_str()))
            };
            let select = {
                let name = name.clone();
                move || on_select.run(name.clone())
            };
            let on_key = {
                let select = select.clone();
                move |ev: leptos::ev::KeyboardEvent| {
                    if ev.key() == "Enter" || ev.key() == " " {
                        ev.prevent_default();
                        select();
                    }
                }
            };
            let label = format!("{name}: {}", full_line(task));
            let title = label.clone();
            // The name's lines and the state line, centred in the box as a block.
            let top = (n.h - NODE_H - 15.0 * (n.name.len() as f64 - 1.0)) / 2.0;
            let name_text = n
                .name
                .iter()
                .enumerate()
                .map(|(k, line)| {
                    view! { <text class="dag-name" x=PAD y=top + 19.0 + 15.0 * k as f64>{line.clone()}</text> }
                })
                .collect_view();
            let line_y = top + 35.0 + 15.0 * (n.name.len() as f64 - 1.0);
            view! {
                <g
                    class="dag-node"
                    class:selected=is_selected
                    data-task=name.clone()
                    data-state=task.state.name()
                    transform=format!("translate({:.1},{:.1})", n.x, n.y)
                    role="button"
                    tabindex="0"
                    aria-label=label
                    on:click=move |_| select()
                    on:keydown=on_key
                >
                    <title>{title}</title>
                    <rect width=format!("{:.1}", n.w) height=format!("{:.1}", n.h) rx="8" ry="8" />
                    {name_text}
                    <text class="dag-line" x=PAD y=line_y>{n.line.clone()}</text>
                </g>
            }
        })
        .collect_view();
    view! {
        <div class="dag-scroll">
            <svg
                class="dag"
                viewBox=format!("0 0 {width:.1} {height:.1}")
                // Shrinks to fit the card down to 72% of its natural size, then scrolls.
                style=format!("max-width: {width:.0}px; min-width: {:.0}px", width * 0.72)
                role="group"
                aria-label="Task graph of the run"
            >
                <defs>
                    <marker
                        id="dag-arrow"
                        viewBox="0 0 10 10"
                        refX="9"
                        refY="5"
                        markerUnits="userSpaceOnUse"
                        markerWidth="9"
                        markerHeight="9"
                        orient="auto-start-reverse"
                    >
                        <path class="dag-arrowhead" d="M0,0 L10,5 L0,10 z" />
                    </marker>
                </defs>
                <g class="dag-edges">{edges}</g>
                <g class="dag-nodes">{nodes}</g>
            </svg>
        </div>
    }
}

/// The six task states with their colours, as the graph draws them.
#[component]
pub fn DagLegend() -> impl IntoView {
    let items = TaskState::ALL
        .iter()
        .map(|state| {
            view! {
                <li>
                    <span class="dag-swatch" data-state=state.name()></span>
                    {state.name().replace('_', " ")}
                </li>
            }
        })
        .collect_view();
    view! { <ul class="dag-legend" aria-label="Task states">{items}</ul> }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(name: &str, upstream: &[&str]) -> TaskRow {
        TaskRow {
            run_id: 1,
            task: name.into(),
            group: "layer".into(),
            upstream: upstream.iter().map(|u| u.to_string()).collect(),
            state: TaskState::Success,
            attempts: 1,
            started_at: None,
            ended_at: None,
            seconds: Some(0.5),
            rows: None,
            error: None,
            note: None,
        }
    }

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
    fn labels_and_durations() {
        let mut t = task("silver", &[]);
        assert_eq!(detail_line(&t), "success · 500 ms");
        t.rows = Some(12_345);
        assert_eq!(detail_line(&t), "success · 12k rows");
        t.state = TaskState::UpForRetry;
        t.rows = None;
        t.seconds = None;
        assert_eq!(detail_line(&t), "up for retry");
        assert_eq!(duration(9.44), "9.4 s");
        assert_eq!(duration(0.087), "87 ms");
        assert_eq!(duration(0.9999), "1.0 s");
        assert_eq!(duration(125.0), "2 min 05 s");
        assert_eq!(duration(3725.0), "1 h 02 min");
        assert_eq!(duration(f64::NAN), format::DASH);
        assert_eq!(full_line(&task("gold", &[])), "success, 500 ms");
        assert_eq!(compact(455), "455");
        assert_eq!(compact(6_090), "6.1k");
        assert_eq!(compact(10_000), "10k");
        assert_eq!(compact(999_999), "1.0M");
        assert_eq!(compact(12_345_678), "12M");
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
