//! Nodes of the scale-out mode: `pier serve` processes sharing a metadata database and a fresh
//! bucket of the binary's SeaweedFS cluster, and the writer that runs while a test makes a fault.

use super::{ensure_tools, repo, Server};
use std::process::{Child, Command, Stdio};
use tempfile::TempDir;

/// Starts `count` nodes with their metadata in `url` and their blobs in a fresh bucket of the
/// binary's SeaweedFS cluster, each started with `flags` too.
pub fn nodes_over(count: usize, url: &str, flags: &[&str]) -> Vec<Server> {
    let blobs = pier_testkit::seaweedfs::cluster().fresh_location();
    (0..count)
        .map(|_| {
            Server::start_with_env(
                TempDir::new().unwrap(),
                &[&["--metadata", url, "--blobs", &blobs], flags].concat(),
                &pier_testkit::seaweedfs::NODE_ENV,
            )
        })
        .collect()
}

/// Starts `db_restart_boto3.py` (PUTs for a while, then reads every acknowledged one back)
/// against `node` with `args`, in the background while the test makes a fault. Its stdout is
/// piped: read it with `wait_with_output`.
pub fn writer_through_fault(node: &Server, args: &[&str]) -> Child {
    ensure_tools();
    let mut cmd = Command::new(repo().join(".venv/bin/python"));
    node.client_env(&mut cmd);
    cmd.arg(repo().join("tests/clients/db_restart_boto3.py"))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}
