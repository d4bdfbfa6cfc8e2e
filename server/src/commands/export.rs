//! `heymax export`: checks the warehouse and the bundle, writes the static site within its
//! size limits, and says what it weighs and how to serve it.

use std::sync::Arc;

use anyhow::Context;
use app::SiteConfig;

use crate::cli::SiteExportArgs;
use crate::drill::DrillStore;
use crate::static_site::{self, SizeLimits, SizeReport, StaticSiteSummary, size::human};
use crate::web::{Bundle, Head, MartStore, Runs, Site};

pub fn export(args: &SiteExportArgs, quiet: bool) -> anyhow::Result<()> {
    let bundle = Bundle::new(args.dist.as_deref());
    let head = Head::load(&bundle)?;
    let config = SiteConfig::new(&args.base_path);
    let site = Site {
        marts: Arc::new(MartStore::new(&args.warehouse)),
        drill: Arc::new(DrillStore::new(&args.warehouse)),
        head,
        config: config.clone(),
        bundle: Some(bundle),
        prerender: true,
        runs: Arc::new(Runs::read_only(&args.warehouse)),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let limits = args.limits();
    let summary = runtime
        .block_on(static_site::write_site(site, &args.out, limits))
        .with_context(|| format!("exporting the dashboard to {}", args.out.display()))?;
    let headline = headline(&summary, &args.out);
    tracing::info!("{headline}; {}", parts_line(&summary.size));
    if !quiet {
        let out = args.out.display();
        println!("{headline}\n{}", summary.size);
        println!("{}", limits_line(&summary.size, limits));
        println!(
            "The site expects to be served at {} on its host. To try it locally:",
            config.base
        );
        if config.base == "/" {
            println!(
                "  python3 -m http.server --directory {out} 8000   # then open http://localhost:8000/"
            );
        } else {
            println!(
                "  mkdir -p /tmp/site && ln -sfn \"$(realpath {out})\" /tmp/site{} && python3 -m http.server --directory /tmp/site 8000",
                config.base.trim_end_matches('/')
            );
            println!("  # then open http://localhost:8000{}", config.base);
        }
    }
    Ok(())
}

/// `heymax export: 5 pages, 5 marts, 1,234 files (12.3 MB) in <out>`.
fn headline(summary: &StaticSiteSummary, out: &std::path::Path) -> String {
    format!(
        "heymax export: {} pages, {} marts, {} files ({}) in {}",
        summary.pages.len(),
        summary.marts,
        summary.size.files,
        human(summary.size.total),
        out.display()
    )
}

/// The parts on one line, for the log.
fn parts_line(size: &SizeReport) -> String {
    let parts: Vec<String> = size
        .parts
        .iter()
        .map(|p| format!("{} {}", p.part.name(), human(p.bytes)))
        .collect();
    let largest = size
        .largest
        .first()
        .map(|f| format!("; largest file {} {}", f.path, human(f.bytes)))
        .unwrap_or_default();
    format!("{}{largest}", parts.join(", "))
}

/// How close the site came to its limits, so a growing site is seen before it is refused.
fn limits_line(size: &SizeReport, limits: SizeLimits) -> String {
    let largest = size.largest.first().map_or(0, |f| f.bytes);
    format!(
        "  limits: {} of --max-size {}, largest file {} of --max-file-size {}",
        human(size.total),
        limits.max_size,
        human(largest),
        limits.max_file_size
    )
}
