//! `heymax generate`: synthetic events to a CSV file.

use std::io::{BufWriter, Write};

use anyhow::Context;

use crate::cli::GenerateArgs;
use crate::generate::{GenerateOptions, generate as write_events};

pub fn generate(args: &GenerateArgs, quiet: bool) -> anyhow::Result<()> {
    let options = GenerateOptions {
        events: args.events,
        users: args.users.unwrap_or((args.events / 50).max(1)),
        seed: args.seed,
        days: args.days,
        shape: args.shape,
        ..GenerateOptions::default()
    };
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = args.out.with_extension("csv.tmp");
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    write_events(&options, &mut out).with_context(|| format!("writing {}", tmp.display()))?;
    out.flush()?;
    std::fs::rename(&tmp, &args.out).with_context(|| format!("writing {}", args.out.display()))?;
    if !quiet {
        eprintln!(
            "wrote {} events of {} users (seed {}) to {}",
            options.events,
            options.users,
            options.seed,
            args.out.display()
        );
    }
    Ok(())
}
