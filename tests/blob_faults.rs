//! The scale-out mode loses no acknowledged write when a SeaweedFS volume server is killed under
//! uploads. In a binary of its own, with its own PostgreSQL and SeaweedFS cluster: when this test
//! shared a cluster, a later test's PUTs were once answered 500 by the cluster for 20 s, with
//! the killed server started again, so the kill stays away from the other tests' cluster.

mod common;

use common::scale_out::{nodes_over, writer_through_fault};
use std::time::Duration;

/// Two writers at once: 200 KB objects, each sent to the cluster whole, and 3 MB ones, each
/// streamed to it as it arrives (a request the node cannot send again).
#[test]
fn a_blob_server_killed_during_uploads_loses_no_acknowledged_write() {
    let url = pier_testkit::postgres::cluster().fresh_database();
    let nodes = nodes_over(2, &url, &[]);
    let whole = writer_through_fault(&nodes[0], &[&nodes[0].endpoint, "10", "200000"]);
    let streamed = writer_through_fault(
        &nodes[1],
        &[&nodes[1].endpoint, "10", "3000000", "through-kill-streamed"],
    );
    std::thread::sleep(Duration::from_secs(3));
    let weed = pier_testkit::seaweedfs::cluster();
    weed.kill_volume(0);
    let outs = [whole, streamed].map(|writer| writer.wait_with_output().unwrap());
    for (out, node) in outs.iter().zip(&nodes) {
        let text = String::from_utf8_lossy(&out.stdout);
        eprintln!("{text}");
        let log = node.log();
        assert!(
            text.contains("2 passed, 0 failed"),
            "{text}\n{log}\ncluster logs:\n{}",
            weed.log_tails()
        );
        assert!(
            !log.contains("answered with a server error"),
            "a request failed with a 5xx other than 503:\n{log}"
        );
    }
}
