//! Pipeline: the run history (`<base>data/runs.json`, a `RunList`) as a table, the selected
//! run (`<base>data/runs/<id>.json`, a `RunDetail`) as a task graph, and one task's details.
//!
//! Both files are fetched by the browser only, after hydration: the server renders the head
//! and a "Loading run history…" placeholder, which is also what the browser's first render
//! holds, so the HTML hydrates as is. While a run is in progress both files are fetched
//! again every 1.5 s, so the graph follows the run task by task.

use leptos::prelude::*;
use serde::de::DeserializeOwned;

use super::PageHead;
use crate::SiteConfig;
use crate::components::dag::{DagGraph, DagLegend};
use crate::data::format;
use contract::runs::{RunDetail, RunList, RunRow, TaskRow, TaskState};

/// How often the page refetches while a run is in progress.
const REFRESH_MS: u64 = 1500;

/// `<base>data/runs.json`: the run history.
pub fn runs_url(base: &str) -> String {
    contract::paths::url(base, contract::paths::RUNS)
}

/// `<base>data/runs/<id>.json`: one run with its tasks.
pub fn run_url(base: &str, id: i64) -> String {
    contract::paths::url(base, &contract::paths::run(id))
}

/// An RFC 3339 time as `YYYY-MM-DD HH:MM:SS UTC`; the text as given if it does not parse.
pub fn utc_time(text: &str) -> String {
    use chrono::SubsecRound;
    // Display, not `format("%Y...")`: chrono's strftime parser stays out of the wasm.
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc).trunc_subsecs(0).to_string())
        .unwrap_or_else(|_| text.to_string())
}

/// An optional time or a dash.
fn time_or_dash(text: Option<&str>) -> String {
    format::or_dash(text, utc_time)
}

/// A duration or, with none, a dash (or "running…" while the run or task runs).
fn seconds_or(seconds: Option<f64>, running: bool) -> String {
    match seconds {
        Some(s) => format::duration(s),
        None if running => "running…".into(),
        None => format::DASH.into(),
    }
}

/// What the page knows of the run history.
#[derive(Clone, Debug, PartialEq)]
enum History {
    Loading,
    /// No runs file (404) or no runs in it.
    Empty,
    Failed(String),
    Loaded(RunList),
}

/// The page's state, `Copy` so every handler and task can hold it.
#[derive(Clone, Copy)]
struct Runs {
    base: StoredValue<String>,
    history: RwSignal<History>,
    /// The detail last loaded, with the run it belongs to.
    detail: RwSignal<Option<(i64, Result<RunDetail, String>)>>,
    /// The run the user clicked (`None`: the newest).
    chosen: RwSignal<Option<i64>>,
    /// The run shown: the one chosen while it is in the history, else the newest.
    shown: Memo<Option<i64>>,
    /// The task whose details are open; kept across refreshes and runs.
    task: RwSignal<Option<String>>,
    /// A refresh is in flight (a slow answer must not stack up interval ticks).
    busy: StoredValue<bool>,
}

impl Runs {
    fn new(base: String) -> Self {
        let history = RwSignal::new(History::Loading);
        let chosen = RwSignal::new(None);
        let shown = Memo::new(move |_| {
            history.with(|h| match h {
                History::Loaded(list) => {
                    let chosen = chosen.get();
                    chosen
                        .filter(|id| list.runs.iter().any(|r| r.run_id == *id))
                        .or_else(|| list.runs.first().map(|r| r.run_id))
                }
                _ => None,
            })
        });
        Self {
            base: StoredValue::new(base),
            history,
            detail: RwSignal::new(None),
            chosen,
            shown,
            task: RwSignal::new(None),
            busy: StoredValue::new(false),
        }
    }

    /// Fetches the history, then the shown run. Safe to call from a timer: it does nothing
    /// while a refresh is in flight or after the page is gone.
    fn refresh(self) {
        if self.busy.try_get_value().unwrap_or(true) {
            return;
        }
        self.busy.set_value(true);
        leptos::task::spawn_local(async move {
            let Some(base) = self.base.try_get_value() else {
                return;
            };
            let history = match fetch_json::<RunList>(runs_url(&base)).await {
                Ok(Some(mut list)) if !list.runs.is_empty() => {
                    list.runs.sort_by_key(|r| std::cmp::Reverse(r.run_id));
                    History::Loaded(list)
                }
                Ok(_) => History::Empty,
                // A failed refresh keeps the runs already shown.
                Err(_) if matches!(self.history.try_get_untracked(), Some(History::Loaded(_))) => {
                    self.busy.try_set_value(false);
                    return;
                }
                Err(e) => History::Failed(e),
            };
            set_if_changed(self.history, history);
            if let Some(id) = self.shown.try_get_untracked().flatten() {
                self.load_run(id).await;
            }
            self.busy.try_set_value(false);
        });
    }

    /// Fetches one run's detail and keeps it if that run is still the one shown.
    async fn load_run(self, id: i64) {
        let Some(base) = self.base.try_get_value() else {
            return;
        };
        let detail = match fetch_json::<RunDetail>(run_url(&base, id)).await {
            Ok(Some(detail)) => Ok(detail),
            Ok(None) => Err(format!(
                "run #{id} is no longer in the history (only recent runs are kept)"
            )),
            Err(e) => Err(e),
        };
        if self.shown.try_get_untracked().flatten() == Some(id) {
            set_if_changed(self.detail, Some((id, detail)));
        }
    }

    /// Shows run `id` (a click on its row).
    fn choose(self, id: i64) {
        self.chosen.set(Some(id));
        let loaded = self.detail.with_untracked(|d| d.as_ref().map(|d| d.0));
        if loaded != Some(id) {
            self.detail.set(None);
            leptos::task::spawn_local(self.load_run(id));
        }
    }
}

/// Sets `signal` only when the value differs, so a refresh that finds nothing new redraws
/// nothing (the graph keeps its focus and the table its hover).
fn set_if_changed<T: PartialEq + Send + Sync + 'static>(signal: RwSignal<T>, value: T) {
    if signal.try_with_untracked(|v| *v != value).unwrap_or(false) {
        signal.try_set(value);
    }
}

/// GETs a run file in the browser, never from the cache (a run in progress rewrites it):
/// `Ok(None)` when it is not there (404).
async fn fetch_json<T: DeserializeOwned>(url: String) -> Result<Option<T>, String> {
    match crate::marts::fetch_browser_json(&url, true).await? {
        Ok(value) => Ok(Some(value)),
        Err(404) => Ok(None),
        Err(status) => Err(format!(
            "could not load {url} (HTTP {status}): check that the server is running and reload"
        )),
    }
}

/// Refetches every [`REFRESH_MS`] while a run is in progress; the timer stops when the run
/// ends and when the page is left.
#[cfg(target_arch = "wasm32")]
fn refresh_while_live(runs: Runs) {
    let timer = StoredValue::new(None::<IntervalHandle>);
    Effect::new(move |_| {
        // A run in progress in this server, or the run shown still running.
        let live = runs
            .history
            .with(|h| matches!(h, History::Loaded(l) if l.running.is_some()))
            || runs
                .detail
                .with(|d| matches!(d, Some((_, Ok(r))) if r.run.is_running()));
        match (live, timer.get_value()) {
            (true, None) => {
                let every = std::time::Duration::from_millis(REFRESH_MS);
                if let Ok(handle) = set_interval_with_handle(move || runs.refresh(), every) {
                    timer.set_value(Some(handle));
                }
            }
            (false, Some(handle)) => {
                handle.clear();
                timer.set_value(None);
            }
            _ => {}
        }
    });
    on_cleanup(move || {
        if let Some(Some(handle)) = timer.try_get_value() {
            handle.clear();
        }
    });
}

#[cfg(not(target_arch = "wasm32"))]
fn refresh_while_live(_: Runs) {}

#[component]
pub fn Pipeline() -> impl IntoView {
    let site = expect_context::<SiteConfig>();
    let runs = Runs::new(site.base);
    // Effects run in the browser only, after hydration: the first fetch starts there.
    Effect::new(move |_| runs.refresh());
    refresh_while_live(runs);
    view! {
        <PageHead
            title="Pipeline"
            lead="Every run of the pipeline, newest first. Click a run to see its tasks as a graph, and a task for its details."
        />
        {move || match runs.history.get() {
            History::Loading => view! { <p class="loading" role="status">"Loading run history…"</p> }.into_any(),
            History::Empty => view! {
                <div class="problem notice" role="status">
                    <h2>"No runs yet"</h2>
                    <p>"No pipeline runs recorded yet: run "<code>"heymax run --input <events.csv>"</code>" or trigger one with "<code>"POST /api/runs"</code>"."</p>
                </div>
            }.into_any(),
            History::Failed(e) => view! {
                <div class="problem" role="alert">
                    <h2>"Could not load the run history"</h2>
                    <p>{e}</p>
                </div>
            }.into_any(),
            History::Loaded(list) => view! { <RunHistory list runs /> }.into_any(),
        }}
        {move || runs.shown.get().map(|id| view! { <RunView id runs /> })}
    }
}

/// The schedule, the run in progress and the table of runs.
#[component]
fn RunHistory(list: RunList, runs: Runs) -> impl IntoView {
    let schedule = match (list.next_scheduled_at, list.schedule) {
        (Some(next), cron) => Some(
            view! {
                "Next scheduled run: "{utc_time(&next)}
                {cron.map(|c| view! { " (schedule "<code>{c}</code>")" })}"."
            }
            .into_any(),
        ),
        (None, Some(cron)) => Some(view! { "Schedule: "<code>{cron}</code>"." }.into_any()),
        (None, None) => None,
    };
    let running = list.running.map(|id| {
        format!(
            "Run #{id} is in progress: this page refreshes every {:.1} s.",
            REFRESH_MS as f64 / 1000.0
        )
    });
    let rows = list
        .runs
        .into_iter()
        .map(|run| view! { <RunLine run runs /> })
        .collect_view();
    view! {
        <section class="card runs" aria-label="Run history">
            <header class="card-head">
                <div>
                    <h2>"Runs"</h2>
                    {schedule.map(|s| view! { <p class="sub schedule">{s}</p> })}
                    {running.map(|s| view! { <p class="sub live" role="status">{s}</p> })}
                </div>
                <div class="card-actions">
                    <button type="button" class="btn" on:click=move |_| runs.refresh()>"Refresh"</button>
                </div>
            </header>
            <div class="table-wrap">
                <table class="data runs-table">
                    <thead>
                        <tr>
                            <th scope="col">"run"</th>
                            <th scope="col" class="text">"status"</th>
                            <th scope="col" class="text">"trigger"</th>
                            <th scope="col" class="text">"started"</th>
                            <th scope="col">"duration"</th>
                            <th scope="col">"rows"</th>
                            <th scope="col" class="text">"failed task"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}

/// One run of the table; a click shows it below.
#[component]
fn RunLine(run: RunRow, runs: Runs) -> impl IntoView {
    let id = run.run_id;
    let running = run.is_running();
    let selected = move || runs.shown.get() == Some(id);
    view! {
        <tr
            data-run-id=id
            class="run-row"
            class:selected=selected
            on:click=move |_| runs.choose(id)
        >
            <td>
                <button type="button" class="run-link" aria-pressed=move || selected().to_string()>
                    {format!("#{id}")}
                </button>
            </td>
            <td class="text"><StatusBadge status=run.status.name() /></td>
            <td class="text">{run.trigger}</td>
            <td class="text">{utc_time(&run.started_at)}</td>
            <td>{seconds_or(run.seconds, running)}</td>
            <td>{format::count(run.rows as i64)}</td>
            <td class="text">{format::or_dash(run.failed_task, |t| t)}</td>
        </tr>
    }
}

#[component]
fn StatusBadge(status: &'static str) -> impl IntoView {
    view! { <span class="badge" data-status=status>{status.replace('_', " ")}</span> }
}

/// The run shown: its summary, its graph and the details of the task clicked.
#[component]
fn RunView(id: i64, runs: Runs) -> impl IntoView {
    move || {
        runs.detail.with(|detail| match detail {
            Some((loaded, Ok(detail))) if *loaded == id => {
                view! { <RunCard detail=detail.clone() runs /> }.into_any()
            }
            Some((loaded, Err(e))) if *loaded == id => view! {
                <div class="problem" role="alert">
                    <h2>{format!("Could not load run #{id}")}</h2>
                    <p>{e.clone()}</p>
                </div>
            }
            .into_any(),
            _ => view! { <p class="loading" role="status">{format!("Loading run #{id}…")}</p> }
                .into_any(),
        })
    }
}

#[component]
fn RunCard(detail: RunDetail, runs: Runs) -> impl IntoView {
    let RunDetail { run, tasks } = detail;
    let fact = |name: &'static str, value: String| {
        view! { <div><dt>{name}</dt><dd>{value}</dd></div> }
    };
    let running = run.is_running();
    let facts = view! {
        <dl class="facts">
            {fact("trigger", run.trigger.clone())}
            {fact("input", run.input.clone())}
            {fact("batch", format::or_dash(run.batch_id, |b| b.to_string()))}
            {fact("started", utc_time(&run.started_at))}
            {fact("ended", time_or_dash(run.ended_at.as_deref()))}
            {fact("duration", seconds_or(run.seconds, running))}
            {fact("rows read", format::count(run.rows as i64))}
            {fact("failed task", format::or_dash(run.failed_task.clone(), |t| t))}
        </dl>
    };
    let on_select = Callback::new(move |name: String| runs.task.set(Some(name)));
    let tasks_for_details = tasks.clone();
    view! {
        <section class="card run" data-run-id=run.run_id aria-label="Selected run">
            <header class="card-head">
                <div>
                    <h2>{format!("Run #{} ", run.run_id)}<StatusBadge status=run.status.name() /></h2>
                    <p class="sub">{format!("{} tasks; click one for its details.", tasks.len())}</p>
                </div>
                <DagLegend />
            </header>
            {facts}
            {run.error.map(|e| view! { <pre class="run-error">{e}</pre> })}
            <DagGraph tasks selected=runs.task on_select />
        </section>
        {move || {
            let name = runs.task.get();
            let task = name.and_then(|n| tasks_for_details.iter().find(|t| t.task == n).cloned());
            match task {
                Some(task) => view! { <TaskDetails task on_close=Callback::new(move |_| runs.task.set(None)) /> }.into_any(),
                None => view! { <p class="note task-hint">"Click a task in the graph to see its state, rows, time and errors."</p> }.into_any(),
            }
        }}
    }
}

#[component]
fn TaskDetails(task: TaskRow, on_close: Callback<()>) -> impl IntoView {
    let running = task.state == TaskState::Running;
    let row = |name: &'static str, value: String| {
        view! { <tr><th scope="row">{name}</th><td>{value}</td></tr> }
    };
    let upstream = if task.upstream.is_empty() {
        "none (a root of the graph)".to_string()
    } else {
        task.upstream.join(", ")
    };
    view! {
        <section class="card task-details" data-task=task.task.clone() aria-label="Task details">
            <header class="card-head">
                <div>
                    <h2>{task.task.clone()}" "<StatusBadge status=task.state.name() /></h2>
                    <p class="sub">{format!("{} task of run #{}", task.group, task.run_id)}</p>
                </div>
                <div class="card-actions">
                    <button type="button" class="btn" on:click=move |_| on_close.run(())>"Close"</button>
                </div>
            </header>
            <table class="details">
                <tbody>
                    {row("task", task.task.clone())}
                    {row("group", task.group.clone())}
                    {row("state", task.state.name().replace('_', " "))}
                    {row("attempts", task.attempts.to_string())}
                    {row("started", time_or_dash(task.started_at.as_deref()))}
                    {row("ended", time_or_dash(task.ended_at.as_deref()))}
                    {row("duration", seconds_or(task.seconds, running))}
                    <tr>
                        <th scope="row">"rows"</th>
                        <td data-rows=task.rows.map(|r| r.to_string()).unwrap_or_default()>
                            {format::or_dash(task.rows, |r| format::count(r as i64))}
                        </td>
                    </tr>
                    {row("upstream", upstream)}
                    {row("note", format::or_dash(task.note.clone(), |n| n))}
                </tbody>
            </table>
            {task.error.map(|e| view! { <h3>"Error"</h3><pre class="run-error">{e}</pre> })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_sit_under_the_base() {
        assert_eq!(runs_url("/heymax/"), "/heymax/data/runs.json");
        assert_eq!(run_url("/", 12), "/data/runs/12.json");
    }

    #[test]
    fn times_read_in_utc() {
        assert_eq!(utc_time("2026-11-26T10:00:02Z"), "2026-11-26 10:00:02 UTC");
        assert_eq!(
            utc_time("2026-11-26T10:00:02.123456+00:00"),
            "2026-11-26 10:00:02 UTC"
        );
        assert_eq!(
            utc_time("2026-11-26T18:00:02+08:00"),
            "2026-11-26 10:00:02 UTC"
        );
        assert_eq!(utc_time("yesterday"), "yesterday");
        assert_eq!(time_or_dash(None), format::DASH);
    }

    #[test]
    fn durations_say_running_while_unknown() {
        assert_eq!(seconds_or(Some(9.44), false), "9.4 s");
        assert_eq!(seconds_or(None, true), "running…");
        assert_eq!(seconds_or(None, false), format::DASH);
    }
}
