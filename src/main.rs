//! The `pier` binary: argument parsing and wiring only; the work lives in the library crates.

mod cli;
mod cors_cmd;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Cors(cmd) => cors_cmd::run(cmd),
        cli::Command::Serve(_) => {
            eprintln!("pier serve: the server is not built yet; `pier cors` works today");
            Ok(ExitCode::FAILURE)
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("pier: {err:#}");
            ExitCode::from(cli::EXIT_USAGE)
        }
    }
}
