//! The `pier` binary: argument parsing and wiring only; the work lives in the library crates.

mod caps;
mod cli;
mod cors_cmd;
mod encryption;
mod remote;
mod serve;

use clap::Parser;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// jemalloc instead of glibc's allocator: a request makes many small, short-lived allocations
/// on several worker threads, where glibc's arenas spend time in locks and consolidation
/// (measured in `bench/run.py` and `bench/cors.py`, issue 23).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's configuration, read when it starts: freed memory goes back to the system within
/// a second, by a background thread rather than on the request path.
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
pub static malloc_conf: &[u8] = b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("PIER_LOG").unwrap_or_else(|_| EnvFilter::new("info,s3s=off")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Cors(cmd) => cors_cmd::run(cmd),
        cli::Command::Serve(args) => serve::serve(*args).map_err(Failure::Runtime),
        cli::Command::Key(cmd) => serve::key(cmd).map_err(Failure::Runtime),
        cli::Command::Bucket(cmd) => remote::bucket(cmd).map_err(Failure::Runtime),
        cli::Command::Kms(cmd) => encryption::kms(cmd).map_err(Failure::Runtime),
        cli::Command::Caps(cmd) => caps::caps(cmd).map_err(Failure::Runtime),
        cli::Command::Audit(args) => caps::audit(args).map_err(Failure::Runtime),
        cli::Command::Presign(args) => remote::presign(args).map_err(Failure::Usage),
        cli::Command::Access(cli::AccessCommand::Explain(args)) => {
            remote::explain_access(&args).map_err(Failure::Runtime)
        }
    };
    match result {
        Ok(code) => code,
        Err(Failure::Usage(err)) => {
            eprintln!("pier: {err:#}");
            ExitCode::from(cli::EXIT_USAGE)
        }
        Err(Failure::Runtime(err)) => {
            eprintln!("pier: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Why a command failed: a usage mistake (exit 2) or a runtime failure (exit 1).
enum Failure {
    Usage(anyhow::Error),
    Runtime(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Usage(e)
    }
}
