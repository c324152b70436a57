//! `pier cors ...`: offline tools over a rules file. Exit status 0 on success, 1 on a refusal or
//! an invalid file, 2 on a usage error.

use crate::cli::{CorsCommand, DialectArg, ExplainArgs, FileArgs, FormatArg};
use anyhow::{bail, Context};
use pier_cors::{
    lint, parse_detect, serialize, CorsConfig, CorsRequest, Decision, Dialect, Endpoint, Format,
    Operation,
};
use std::io::Read;
use std::process::ExitCode;

/// Runs one `pier cors` subcommand. `Err` is a usage problem (exit 2).
pub fn run(cmd: CorsCommand) -> Result<ExitCode, crate::Failure> {
    match cmd {
        CorsCommand::Validate(file) => {
            let Some((config, format)) = load(&file)? else {
                return Ok(ExitCode::FAILURE);
            };
            println!("OK: {} rule(s), {format}", config.rules().len());
            Ok(ExitCode::SUCCESS)
        }
        CorsCommand::Convert { file, to } => {
            let Some((config, _)) = load(&file)? else {
                return Ok(ExitCode::FAILURE);
            };
            let format = format_of(to);
            match pier_cors::convert(&config, format.dialect()) {
                Ok(converted) => {
                    for note in &converted.notes {
                        eprintln!("note: {note}");
                    }
                    let text = serialize(&converted.config, format)
                        .context("converted rules could not be written")?;
                    print!("{text}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(err) => {
                    eprintln!("cannot convert to {format}:");
                    for e in &err.errors {
                        eprintln!("  {e}");
                    }
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        CorsCommand::Explain(args) => Ok(explain(*args)?),
        CorsCommand::Refused { bucket, server } => {
            Ok(crate::remote::cors_refused(&server, &bucket)?)
        }
        CorsCommand::Report { bucket, server } => Ok(crate::remote::cors_report(&server, &bucket)?),
        CorsCommand::Lint { file, strict } => {
            let Some((config, _)) = load(&file)? else {
                return Ok(ExitCode::FAILURE);
            };
            let warnings = lint(&config);
            for w in &warnings {
                println!("warning: {w}");
            }
            if warnings.is_empty() {
                println!("no warnings ({} rule(s))", config.rules().len());
            }
            Ok(if strict && !warnings.is_empty() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

fn explain(args: ExplainArgs) -> anyhow::Result<ExitCode> {
    if let Some(bucket) = &args.bucket {
        return crate::remote::explain_bucket(&args, bucket);
    }
    let operation = match &args.operation {
        None => None,
        Some(name) => Some(Operation::from_b2_name(name).with_context(|| {
            format!(
                "unknown operation {name:?}; use one of {}",
                Operation::ALL.map(|o| o.b2_name()).join(", ")
            )
        })?),
    };
    let endpoint = operation.map_or(Endpoint::S3, Endpoint::of_operation);
    let method = match (&args.method, operation) {
        (Some(m), _) => m.clone(),
        (None, Some(op)) => op.s3_method().unwrap_or(op.http_methods()[0]).to_owned(),
        (None, None) => bail!("give --method (GET, PUT, ...) or --operation"),
    };
    if let (Some(op), Some(m)) = (operation.filter(|o| !o.is_b2_native()), &args.method) {
        if op.s3_method() != Some(m.as_str()) {
            bail!(
                "--operation {op} means method {}, not {m}",
                op.s3_method().unwrap_or_default()
            );
        }
    }
    let file = FileArgs {
        file: args
            .file
            .clone()
            .expect("clap requires a file without --bucket"),
        dialect: args.dialect,
    };
    let Some((config, _)) = load(&file)? else {
        return Ok(ExitCode::FAILURE);
    };
    let joined = args.headers.join(",");
    let request_headers = (!args.headers.is_empty()).then_some(joined.as_str());
    let request = if args.preflight {
        CorsRequest {
            endpoint,
            method: "OPTIONS",
            origin: args.origin.as_deref(),
            request_method: Some(&method),
            request_headers,
            preflight: true,
        }
    } else {
        CorsRequest {
            endpoint,
            method: &method,
            origin: args.origin.as_deref(),
            request_method: None,
            request_headers,
            preflight: false,
        }
    };
    let explanation = config.explain(&request);
    print!("{explanation}");
    Ok(match explanation.decision {
        Decision::Allowed { .. } | Decision::NotCors => ExitCode::SUCCESS,
        Decision::Refused(_) => ExitCode::FAILURE,
    })
}

fn format_of(arg: FormatArg) -> Format {
    match arg {
        FormatArg::B2 => Format::B2Json,
        FormatArg::S3 => Format::S3Xml,
        FormatArg::S3Json => Format::S3Json,
        FormatArg::R2 => Format::R2Json,
        FormatArg::R2Rest => Format::R2RestJson,
    }
}

/// Reads and parses the file. `Ok(None)` when the rules are invalid (errors already printed);
/// `Err` when the file cannot be read.
fn load(args: &FileArgs) -> anyhow::Result<Option<(CorsConfig, Format)>> {
    let text = if args.file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading standard input")?;
        text
    } else {
        std::fs::read_to_string(&args.file)
            .with_context(|| format!("reading {}", args.file.display()))?
    };
    let dialect = args.dialect.map(|d| match d {
        DialectArg::B2 => Dialect::B2,
        DialectArg::S3 => Dialect::S3,
        DialectArg::R2 => Dialect::R2,
    });
    match parse_detect(&text, dialect) {
        Ok(parsed) => Ok(Some(parsed)),
        Err(err) => {
            eprintln!("{}: invalid CORS rules:", args.file.display());
            for e in &err.errors {
                eprintln!("  {e}");
            }
            Ok(None)
        }
    }
}
