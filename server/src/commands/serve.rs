//! `heymax serve`: checks the warehouse and the browser bundle, then serves the dashboard.

use std::net::SocketAddr;
use std::sync::Arc;

use app::SiteConfig;

use crate::cli::ServeArgs;
use crate::web::{DrillStore, Head, MartStore, Site};

pub fn serve(args: &ServeArgs) -> anyhow::Result<()> {
    let head = Head::load(&args.dist)?;
    let marts = Arc::new(MartStore::new(&args.warehouse));
    // Read the marts once now: a broken warehouse fails here, not on the first page view.
    let found = app::marts::MART_NAMES
        .iter()
        .filter(|m| matches!(marts.get(m), Ok(Some(_))))
        .count();
    if found == 0 {
        tracing::warn!(
            "no marts in {}: the pages will say so until you run `heymax run --input <events.csv> --warehouse {}`",
            args.warehouse,
            args.warehouse
        );
    }
    let site = Site {
        marts,
        drill: Arc::new(DrillStore::new(&args.warehouse)),
        head,
        config: SiteConfig::new(&args.base_path),
        dist: Some(args.dist.clone()),
        prerender: false,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(crate::web::serve(
        site,
        SocketAddr::new(args.host, args.port),
    ))
}
