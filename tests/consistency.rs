//! Reads never see a half-done overwrite (issue 22): concurrent clients against a real
//! `pier serve`, their whole history checked for linearizability, key by key.

mod common;

use common::history::{self, Workload};
use common::{Server, ACCESS_KEY, SECRET_KEY};
use std::time::Duration;

fn credentials() -> (String, String) {
    (ACCESS_KEY.to_owned(), SECRET_KEY.to_owned())
}

/// Fails with the anomalies the checker found, and the errors the clients saw.
fn assert_linearizable(run: &history::Run, server: &Server) {
    run.assert_linearizable(false, &server.log_tail(30));
}

#[test]
fn overwrites_never_hide_the_key_from_readers() {
    let server = Server::start();
    history::create_bucket(&server.endpoint, &credentials(), "race");
    let keys = vec![("small".to_owned(), 1536), ("large".to_owned(), 200_000)];
    // Both keys exist before the race starts, and are never deleted.
    let setup = Workload {
        endpoints: vec![server.endpoint.clone()],
        bucket: "race".into(),
        keys: keys.clone(),
        writers: 1,
        readers: 0,
        mixed: 0,
        duration: Duration::from_millis(300),
        credentials: credentials(),
    };
    let first = history::run(&setup);
    assert!(first.errors.is_empty(), "{:?}", first.errors);
    let run = history::run(&Workload {
        writers: 2,
        readers: 2,
        duration: Duration::from_secs(8),
        ..setup
    });
    eprintln!("{}", run.summary());
    let (hits, misses) = run.reads();
    assert!(
        hits > 100,
        "too few reads to mean anything: {}",
        run.summary()
    );
    assert_eq!(misses, 0, "a read answered 404: {}", run.summary());
    let mut events = first.events;
    events.extend(run.events.iter().cloned());
    assert_linearizable(&history::Run { events, ..run }, &server);
}

#[test]
fn mixed_histories_are_linearizable_on_one_node() {
    let server = Server::start();
    history::create_bucket(&server.endpoint, &credentials(), "mixed");
    let endpoints = vec![server.endpoint.clone()];
    let run = history::run(&Workload::mixed(endpoints, "mixed", Duration::from_secs(8)));
    eprintln!("{}", run.summary());
    assert!(run.events.len() > 500, "{}", run.summary());
    assert_linearizable(&run, &server);
}

#[test]
fn reads_read_again_when_their_bytes_go_at_once() {
    // No grace period: an overwrite removes the old blob right after its commit, so a read that
    // found the old entry must read the metadata again instead of failing.
    let server = Server::start_with(
        tempfile::TempDir::new().unwrap(),
        &["--garbage-grace-secs", "0"],
    );
    history::create_bucket(&server.endpoint, &credentials(), "nograce");
    let run = history::run(&Workload {
        endpoints: vec![server.endpoint.clone()],
        bucket: "nograce".into(),
        keys: vec![("a".to_owned(), 1536), ("c".to_owned(), 200_000)],
        writers: 0,
        readers: 0,
        mixed: 6,
        duration: Duration::from_secs(6),
        credentials: credentials(),
    });
    eprintln!("{}", run.summary());
    assert_linearizable(&run, &server);
}
