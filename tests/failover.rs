//! Issue 29: the scale-out mode survives the loss of its database machine. Two `pier serve`
//! nodes share a SeaweedFS cluster and a PostgreSQL primary with a synchronous streaming
//! standby (made with `pg_basebackup`), given as one multi-host address
//! (`postgres://h1,h2/db?target_session_attrs=read-write`). Under a history workload the
//! primary is killed with `-9`, the standby is promoted (`pg_ctl promote`, as an operator or
//! Patroni would) and a new standby is made on the lost server's port; then again the other way.
//! Before each loss the standby is paused for 1.5 s, so it is behind when the primary goes: with
//! synchronous commit the writes of that moment wait and are never acknowledged. (With the
//! standby asynchronous, the same test finds the acknowledged writes it lost.)
//! The history checker must find every key's history linearizable: no acknowledged write lost,
//! no read of a value that was never acknowledged or was overwritten.

mod common;

use common::scale_out::nodes_over;
use common::{history, ACCESS_KEY};
use pier_testkit::postgres::Replicated;
use std::time::{Duration, Instant};

/// How long clients run: `PIER_FAILOVER_SECS` (default 30; a failover every 12 s or so).
fn duration() -> Duration {
    let secs = std::env::var("PIER_FAILOVER_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    Duration::from_secs(secs)
}

/// The longest time, in seconds, in which no operation of the run succeeded.
fn longest_outage(run: &history::Run) -> f64 {
    let mut answered: Vec<u64> = run
        .events
        .iter()
        .filter(|e| e.outcome != pier_testkit::history::Outcome::Unknown)
        .map(|e| e.ret)
        .collect();
    answered.sort_unstable();
    let gap = answered.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0);
    gap as f64 / 1e9
}

#[test]
fn the_metadata_survives_the_loss_of_its_primary() {
    let pair = Replicated::start("pier");
    let url = pair.url("pier");
    let nodes = nodes_over(2, &url, &[]);
    let keys = (ACCESS_KEY.to_owned(), common::SECRET_KEY.to_owned());
    history::create_bucket(&nodes[0].endpoint, &keys, "failover");
    let total = duration();
    let workload = history::Workload {
        endpoints: nodes.iter().map(|n| n.endpoint.clone()).collect(),
        bucket: "failover".into(),
        keys: vec![
            ("a".to_owned(), 1536),
            ("b".to_owned(), 1536),
            ("c".to_owned(), 200_000),
        ],
        writers: 0,
        readers: 0,
        mixed: 6,
        duration: total,
        credentials: keys,
    };
    let clients = std::thread::spawn(move || history::run(&workload));
    let deadline = Instant::now() + total.saturating_sub(Duration::from_secs(8));
    let mut failovers = Vec::new();
    loop {
        std::thread::sleep(Duration::from_secs(4));
        if Instant::now() >= deadline {
            break;
        }
        // The standby falls behind first (a slow disk, a busy network): with synchronous
        // commit no write is acknowledged meanwhile, so none is lost with the primary.
        // Noticing the loss takes a moment (Patroni's default loop is 10 s).
        let (promoted, in_sync) = pair.fail_over();
        failovers.push(format!(
            "primary killed, standby promoted after {:.1} s, a new standby in sync after {:.1} s",
            promoted.as_secs_f64(),
            in_sync.as_secs_f64()
        ));
    }
    let run = clients.join().unwrap();
    let outage = longest_outage(&run);
    eprintln!(
        "failovers: {}\nlongest time without an answer: {outage:.1} s\n{}",
        failovers.join("; "),
        run.summary()
    );
    assert!(!failovers.is_empty(), "no failover happened");
    assert!(run.events.len() > 200, "{}", run.summary());
    let logs: Vec<String> = nodes.iter().map(|n| n.log_tail(20)).collect();
    run.assert_linearizable_within(Duration::from_secs(180), logs.join("\n---\n"));
    // After the last failover both nodes write through the new primary.
    for (i, node) in nodes.iter().enumerate() {
        let file = node.dir.path().join("after.txt");
        std::fs::write(&file, format!("written through node {i}")).unwrap();
        let target = format!("s3://failover/after-{i}.txt");
        node.aws_ok(&["s3", "cp", file.to_str().unwrap(), &target]);
    }
}
