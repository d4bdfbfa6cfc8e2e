//! `heymax init <file>`: writes the `heymax.toml` that reads someone's own event file,
//! and prints what it detected, so the first run of a new export is one edit away.

use anyhow::Context;

use crate::cli::InitArgs;
use crate::pipeline::ingest::SourceConfig;
use crate::pipeline::ingest::guess::{Guess, guess};
use crate::pipeline::schema::INPUT_COLUMNS;

pub fn init(args: &InitArgs, quiet: bool) -> anyhow::Result<()> {
    let g = guess(&args.file)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Guess::default_path(&args.file));
    if out.exists() && !args.force {
        anyhow::bail!(
            "{} exists: pass --force to replace it, or --out to write elsewhere",
            out.display()
        );
    }
    let text = g.to_toml(&args.file);
    // The file must read back as a configuration: what init writes, run takes.
    SourceConfig::parse(&text, &out)
        .context("the configuration heymax init wrote does not parse")?;
    std::fs::write(&out, &text).with_context(|| format!("writing {}", out.display()))?;
    if quiet {
        return Ok(());
    }
    let mut seen = g.format.name().to_string();
    if let Some(d) = g.delimiter {
        seen.push_str(&format!(
            ", delimiter {}",
            if d == b'\t' {
                "tab".into()
            } else {
                (d as char).to_string()
            }
        ));
    }
    println!(
        "heymax init: {} ({seen}, {} rows looked at)",
        args.file.display(),
        g.rows_seen
    );
    println!(
        "  time format: {} (e.g. {})",
        g.time_format,
        g.time_examples.join(" | ")
    );
    for (i, m) in g.mapped.iter().enumerate() {
        match m {
            Some(name) => println!("  {:<22} <- {name}", INPUT_COLUMNS[i]),
            None => println!("  {:<22} (not found)", INPUT_COLUMNS[i]),
        }
    }
    println!("  event types: {}", g.event_types.join(", "));
    println!(
        "wrote {}: check it, then `heymax run --input {}`",
        out.display(),
        args.file.display()
    );
    if g.mapped[..3].iter().any(Option::is_none) {
        println!("note: a required column was not found; name it in [columns] before running");
    }
    Ok(())
}
