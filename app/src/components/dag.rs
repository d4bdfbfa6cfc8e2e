//! A run's task graph as inline SVG: one rounded box per task, coloured by its state, and
//! an arrow from each upstream task to the task that waits for it. The boxes and arrows
//! are placed by `data::dag::layout` (plain data, tested without a browser); this
//! component only draws them and reports clicks.

use leptos::prelude::*;

use crate::data::dag::{EdgeLine, NODE_H, NodeBox, PAD, layout};
use crate::data::format;
use contract::runs::{TaskRow, TaskState};

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
        .map(|e| edge(e, &names, selected))
        .collect_view();
    let nodes = layout
        .nodes
        .into_iter()
        .map(|n| {
            let task = tasks[n.task].clone();
            view! { <DagNode node=n task selected on_select /> }
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

/// One arrow, darker while either of its tasks is selected.
fn edge(e: &EdgeLine, names: &[String], selected: Signal<Option<String>>) -> impl IntoView + use<> {
    let (from, to) = (names[e.from].clone(), names[e.to].clone());
    let related = move || selected.with(|s| s.as_deref().is_some_and(|s| s == from || s == to));
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
}

/// One task's box: its name on one or two lines and its state line; a button for the
/// keyboard and screen readers too.
#[component]
fn DagNode(
    node: NodeBox,
    task: TaskRow,
    selected: Signal<Option<String>>,
    on_select: Callback<String>,
) -> impl IntoView {
    let n = node;
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
    let label = format!("{name}: {}", format::task_details(&task));
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
