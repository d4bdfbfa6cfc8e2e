//! `heymax serve`: checks the warehouse and the browser bundle, starts the orchestrator's
//! schedule and file sensor when asked, then serves the dashboard and the pipeline API.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use app::SiteConfig;
use chrono::Utc;

use crate::cli::ServeArgs;
use crate::drill::DrillStore;
use crate::orchestrator::Orchestrator;
use crate::orchestrator::schedule::{NextRun, Schedule};
use crate::orchestrator::sensor::{Sensor, SensorConfig};
use crate::web::guard::RenderLimit;
use crate::web::{AllowedInputs, Bundle, Head, MartStore, Runs, Site};

fn seconds(flag: &str, s: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s)
        .with_context(|| format!("{flag} must be a number of seconds, 0 or more"))
}

pub fn serve(args: &ServeArgs) -> anyhow::Result<()> {
    let bundle = Bundle::new(args.dist.as_deref());
    let head = Head::load(&bundle)?;
    tracing::info!("serving the {}", bundle.describe());
    let schedule: Option<Schedule> = args.schedule.as_deref().map(str::parse).transpose()?;
    if schedule.is_some() && args.input.is_none() {
        anyhow::bail!(
            "--schedule needs --input: the event CSV (or folder) each scheduled run loads"
        );
    }
    let sensor = match &args.watch {
        Some(inbox) => Some(Sensor::new(SensorConfig {
            inbox: inbox.clone(),
            poll: seconds("--poll", args.poll)?,
            settle: seconds("--settle", args.settle)?,
            require_done: args.require_done,
        })?),
        None => None,
    };
    // After the sensor: it creates the inbox, which is the default allowed folder.
    let folders = if args.allow_input.is_empty() {
        args.watch.iter().cloned().collect()
    } else {
        args.allow_input.clone()
    };
    let allowed = AllowedInputs::new(args.input.clone(), &folders)?;
    let marts = Arc::new(MartStore::new(&args.warehouse));
    // Read the marts once now: a broken warehouse fails here, not on the first page view.
    let found = contract::Mart::ALL
        .iter()
        .filter(|m| matches!(marts.get(m.name()), Ok(Some(_))))
        .count();
    if found == 0 {
        tracing::warn!(
            "no marts in {}: the pages will say so until you run `heymax run --input <events.csv> --warehouse {}`",
            args.warehouse,
            args.warehouse
        );
    }
    let config = super::run::config(&args.warehouse, &args.orchestration)?;
    let orchestrator = Arc::new(Orchestrator::new(config));
    let next_run = NextRun::default();
    if args.api_token.is_none() {
        tracing::info!("POST /api/runs is off: set HEYMAX_API_TOKEN to start runs over HTTP");
    } else {
        let folders: Vec<String> = allowed.folders().map(|f| f.display().to_string()).collect();
        tracing::info!(
            "POST /api/runs loads --input, or a file named in the request inside: {}",
            if folders.is_empty() {
                "(no folder: pass --allow-input DIR)".to_string()
            } else {
                folders.join(", ")
            }
        );
    }
    let runs = Runs {
        warehouse: args.warehouse.clone(),
        orchestrator: Some(orchestrator.clone()),
        token: args.api_token.clone().filter(|t| !t.is_empty()),
        input: args.input.clone(),
        allowed,
        schedule: schedule
            .as_ref()
            .map(|s| (s.expr().to_string(), next_run.clone())),
    };
    let drill = Arc::new(DrillStore::new(&args.warehouse));
    drill.warm();
    let site = Site {
        marts,
        drill,
        head,
        config: SiteConfig::new(&args.base_path),
        bundle: Some(bundle),
        prerender: false,
        runs: Arc::new(runs),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let renders = RenderLimit::default();
    // A page render keeps its runtime thread busy until the page is whole: two threads
    // more than renders may run keep the JSON, the bundle and the API answering meanwhile.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(renders.size() + 2)
        .enable_all()
        .build()?;
    let started = |url: &str| {
        orchestrator.set_dashboard(url);
        if let (Some(schedule), Some(input)) = (schedule.clone(), args.input.clone()) {
            spawn_schedule(
                schedule,
                input,
                orchestrator.clone(),
                next_run.clone(),
                stop.clone(),
            );
        }
        if let Some(sensor) = sensor {
            sensor.spawn(orchestrator.clone(), stop.clone());
        }
    };
    let served = runtime.block_on(crate::web::serve(
        site,
        SocketAddr::new(args.host, args.port),
        renders,
        started,
    ));
    stop.store(true, Ordering::SeqCst);
    served
}

/// Runs the pipeline on `input` each time the schedule fires (after any run in progress).
fn spawn_schedule(
    schedule: Schedule,
    input: std::path::PathBuf,
    orchestrator: Arc<Orchestrator>,
    next_run: NextRun,
    stop: Arc<AtomicBool>,
) {
    let body = move || {
        while !stop.load(Ordering::SeqCst) {
            let Some(next) = schedule.next_after(Utc::now()) else {
                tracing::warn!("the schedule {:?} fires no more", schedule.expr());
                return;
            };
            *next_run.lock().unwrap_or_else(|p| p.into_inner()) = Some(next);
            tracing::info!(schedule = schedule.expr(), "next scheduled run at {next}");
            // Sleep in short steps so Ctrl-C is not held up.
            while Utc::now() < next {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let left = (next - Utc::now()).to_std().unwrap_or_default();
                std::thread::sleep(left.min(Duration::from_millis(250)));
            }
            if let Err(e) = orchestrator.run("schedule", &input) {
                tracing::error!("scheduled run not started: {e}");
            }
        }
    };
    if let Err(e) = std::thread::Builder::new()
        .name("schedule".into())
        .spawn(body)
    {
        tracing::error!("cannot start the schedule: {e}");
    }
}
