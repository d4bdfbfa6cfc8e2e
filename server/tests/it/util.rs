//! Helpers: run the CLI, write event files, read exported marts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const HEADER: &str =
    "event_time,user_id,event_type,transaction_category,miles_amount,platform,utm_source,country\n";

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn sample() -> PathBuf {
    repo().join("data/sample/event_stream.csv")
}

pub fn heymax(args: &[&str]) -> Output {
    heymax_env(args, &[])
}

pub fn heymax_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_heymax"));
    cmd.args(args)
        .env_remove("HEYMAX_WAREHOUSE")
        .env_remove("HEYMAX_CRASH_AT")
        .env_remove("HEYMAX_MAX_SIZE")
        .env_remove("HEYMAX_MAX_FILE_SIZE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("heymax runs")
}

pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "heymax failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Runs the pipeline on `input` into `warehouse` and expects success.
pub fn run(input: &Path, warehouse: &Path) -> String {
    ok(&heymax(&[
        "--quiet",
        "run",
        "--input",
        p(input),
        "--warehouse",
        p(warehouse),
    ]))
}

/// A mart CSV as rows of column -> text.
pub type Mart = Vec<BTreeMap<String, String>>;

/// Every mart of a warehouse by name: its header and rows (see [`export`]).
pub type Marts = BTreeMap<String, (Vec<String>, Mart)>;

pub fn read_csv(path: &Path) -> (Vec<String>, Mart) {
    let mut reader =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    let rows = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .cloned()
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect();
    (header, rows)
}

pub const MARTS: [&str; 5] = [
    "user_growth_metrics_day",
    "user_growth_metrics_week",
    "user_growth_metrics_month",
    "user_retention",
    "user_interactions",
];

/// Exports the marts of `warehouse` as CSV into a new folder under `dir` and reads them.
pub fn export(warehouse: &Path, dir: &Path) -> Marts {
    let out = dir.join(format!(
        "export-{}",
        std::process::id() as u64 * 1000 + rand_suffix()
    ));
    ok(&heymax(&[
        "--quiet",
        "marts",
        "export",
        "--warehouse",
        p(warehouse),
        "--format",
        "csv",
        "--out",
        p(&out),
    ]));
    MARTS
        .iter()
        .map(|m| (m.to_string(), read_csv(&out.join(format!("{m}.csv")))))
        .collect()
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

pub fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

/// A warehouse built from the sample once per test run (under cargo's temp folder).
pub fn sample_warehouse() -> &'static Path {
    static WAREHOUSE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    WAREHOUSE.get_or_init(|| {
        let wh = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sample-warehouse");
        let _ = std::fs::remove_dir_all(&wh);
        run(&sample(), &wh);
        wh
    })
}

/// A stand-in for trunk's `dist/`: the `<head>` template with the base placeholder, a
/// stylesheet, its `.gz` copy (which `serve` uses and the export leaves out) and Plotly.
pub fn fake_dist(dir: &Path) -> PathBuf {
    let dist = dir.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    write(
        &dist.join("index.html"),
        r#"<!DOCTYPE html><html><head>
<link rel="stylesheet" href="/__heymax_base__/app-1.css">
<script id="plotly-js" async src="/__heymax_base__/plotly.min.js"></script>
</head><body></body></html>"#,
    );
    write(&dist.join("app-1.css"), "body { margin: 0 }\n");
    write(&dist.join("app-1.css.gz"), "not really gzip");
    write(&dist.join("plotly.min.js"), "window.Plotly = {};\n");
    dist
}

/// Every file under `dir` (relative path -> bytes).
pub fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).unwrap().to_path_buf();
                files.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

/// One member of a compact drill-down selection, with its user from the dictionary.
#[derive(Debug)]
pub struct Listed {
    pub id: String,
    pub country: Option<String>,
    /// Growth: events in the period; cohort: days after the period's first day.
    pub value: u32,
    /// Cohort: bit `i` when seen on `RETENTION_DAYS[i]`.
    pub seen: u8,
}

/// A growth (`status` given) or cohort selection of the exported site `site`, read whole
/// as the browser would: the header, every further chunk, the shards its users are in.
pub fn read_selection(
    site: &Path,
    grain: contract::Grain,
    period: &str,
    status: Option<contract::Status>,
) -> (contract::drill::Header, Vec<Listed>) {
    use contract::drill::{Header, Kind, UserShard, decode_chunk};
    use contract::paths;
    let read = |rel: &str| std::fs::read(site.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let (kind, chunk): (Kind, Box<dyn Fn(usize) -> String>) = match status {
        Some(s) => (
            Kind::Growth,
            Box::new(move |k| paths::growth_drill_chunk(grain, period, s.name(), k)),
        ),
        None => (
            Kind::Cohort,
            Box::new(move |k| paths::cohort_drill_chunk(grain, period, k)),
        ),
    };
    let header = Header::decode(&read(&chunk(0)), kind).unwrap();
    let mut members = header.first.clone();
    for k in 1..header.chunks.len() {
        let (n, more) = decode_chunk(&read(&chunk(k)), kind, header.version).unwrap();
        assert_eq!(n, k);
        header.check_chunk(k, &more).unwrap();
        members.extend(more);
    }
    let mut shards: BTreeMap<u32, UserShard> = BTreeMap::new();
    let listed = members
        .iter()
        .map(|m| {
            let s = m.user / header.shard;
            let shard = shards
                .entry(s)
                .or_insert_with(|| UserShard::decode(&read(&paths::drill_users(s))).unwrap());
            assert_eq!(shard.version, header.version);
            Listed {
                id: shard.get(m.user).unwrap().id.clone(),
                country: header.countries[m.country as usize].clone(),
                value: m.value,
                seen: m.seen,
            }
        })
        .collect();
    (header, listed)
}
