//! One function per subcommand; each returns `anyhow::Result` to `main`.

pub mod bench;
pub mod bench_append;
pub mod export;
pub mod generate;
pub mod init;
pub mod marts;
pub mod run;
pub mod runs;
pub mod serve;
