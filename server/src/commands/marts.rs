//! `heymax marts export`: the five marts as CSV or JSON files, each written aside and
//! renamed into place.

use std::io::{BufWriter, Write};

use anyhow::Context;

use crate::cli::ExportArgs;
use contract::Mart;

use crate::pipeline::catalog::Table;
use crate::pipeline::marts::encoding;
use crate::warehouse::Warehouse;

pub fn export(args: &ExportArgs, quiet: bool) -> anyhow::Result<()> {
    let mut wh = Warehouse::open(&args.warehouse)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    for mart in Mart::ALL {
        let name = mart.name();
        let df = wh.read_table(Table::Mart(mart).name(), None)?;
        let format = encoding::Format::from(args.format);
        let path = args.out.join(format!("{name}.{}", format.extension()));
        let tmp = path.with_extension("tmp");
        let mut out = BufWriter::new(
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?,
        );
        encoding::write(&df, format, &mut out)
            .with_context(|| format!("writing {}", tmp.display()))?;
        out.flush()?;
        drop(out);
        std::fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
        if !quiet {
            eprintln!("{:<28} {:>7} rows -> {}", name, df.height(), path.display());
        }
    }
    Ok(())
}
