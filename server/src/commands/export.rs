//! `heymax export`: checks the warehouse and the bundle, writes the static site, and says
//! how to serve it.

use std::sync::Arc;

use anyhow::Context;
use app::SiteConfig;

use crate::cli::SiteExportArgs;
use crate::drill::DrillStore;
use crate::static_site;
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
    let summary = runtime
        .block_on(static_site::write_site(site, &args.out))
        .with_context(|| format!("exporting the dashboard to {}", args.out.display()))?;
    tracing::info!(
        "exported {} pages, {} marts, {} files ({:.1} MB) to {}",
        summary.pages.len(),
        summary.marts,
        summary.files,
        summary.bytes as f64 / 1e6,
        args.out.display()
    );
    if !quiet {
        let out = args.out.display();
        println!(
            "heymax export: {} pages, {} marts, {} files ({:.1} MB) in {out}",
            summary.pages.len(),
            summary.marts,
            summary.files,
            summary.bytes as f64 / 1e6
        );
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
