//! The `heymax` binary: parse the command line, run one subcommand, map errors to the
//! exit code (1: error, 2: a data-quality test failed).

use clap::{CommandFactory, FromArgMatches};

// polars allocates and frees large buffers per chunk; mimalloc reuses them where glibc's
// malloc hands them back to the kernel (page faults were 13% of a 1M-event run).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;
use heymax::cli::{Cli, Command, MartsCommand};
use heymax::commands;

fn main() -> std::process::ExitCode {
    // The version names the browser bundle this binary carries.
    let version = format!(
        "{} (browser bundle {})",
        env!("CARGO_PKG_VERSION"),
        heymax::web::Bundle::embedded_id()
    );
    let matches = Cli::command().version(&*version.leak()).get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let default = if cli.quiet { "warn" } else { "info" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default)),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let result = match cli.command {
        Command::Run(args) => commands::run::run(&args, cli.quiet),
        Command::Marts {
            command: MartsCommand::Export(args),
        } => commands::marts::export(&args, cli.quiet).map(|()| 0),
        Command::Generate(args) => commands::generate::generate(&args, cli.quiet).map(|()| 0),
        Command::Bench(args) => commands::bench::bench(&args).map(|()| 0),
        Command::Serve(args) => commands::serve::serve(&args).map(|()| 0),
        Command::Runs(args) => commands::runs::runs(&args).map(|()| 0),
        Command::Export(args) => commands::export::export(&args, cli.quiet).map(|()| 0),
        Command::Init(args) => commands::init::init(&args, cli.quiet).map(|()| 0),
    };
    match result {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
