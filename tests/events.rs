//! Event notifications end to end (issue 25): rules set with b2sdk on a real `pier serve`,
//! changes made through the B2 API (b2sdk) and the S3 API (the aws CLI), delivered to a real
//! webhook receiver on loopback, each delivery checked for its HMAC-SHA256 signature, its
//! headers and B2's payload fields; and events acknowledged while the receiver was down
//! arriving after the server was killed with SIGKILL and started again.

mod common;

use common::webhook::{free_port, Receiver};
use common::Server;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

const SECRET: &str = "0123456789abcdefABCDEF0123456789";

fn start() -> Server {
    Server::start_with(
        tempfile::TempDir::new().unwrap(),
        &["--webhook-allow-private"],
    )
}

/// Sets the rule with b2sdk; returns the bucket's id.
fn set_rules(server: &Server, bucket: &str, url: &str) -> String {
    server
        .python_ok("events_b2.py", &["rules", bucket, url, SECRET])
        .trim()
        .to_owned()
}

fn signature(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn changes_through_both_apis_arrive_signed_with_b2s_fields() {
    let receiver = Receiver::start();
    let server = start();
    let bucket_id = set_rules(&server, "events-both", &receiver.url);
    receiver.wait_for(Duration::from_secs(10), |e| !e.is_empty());
    assert_eq!(
        types(&receiver.events()),
        ["b2:TestEvent"],
        "saving a rule tests it"
    );

    // B2: upload twice, copy, hide, delete a version.
    let made = server.python_ok("events_b2.py", &["changes", "events-both"]);
    // S3: a PUT, a multipart upload (the CLI splits 12 MiB), a copy, a delete (a marker).
    let work = tempfile::TempDir::new().unwrap();
    let big = work.path().join("big.bin");
    std::fs::write(&big, vec![7u8; 12 * 1024 * 1024]).unwrap();
    let small = work.path().join("small.txt");
    std::fs::write(&small, b"small").unwrap();
    server.aws_ok(&[
        "s3",
        "cp",
        small.to_str().unwrap(),
        "s3://events-both/s3/small.txt",
    ]);
    server.aws_ok(&[
        "s3",
        "cp",
        big.to_str().unwrap(),
        "s3://events-both/s3/big.bin",
    ]);
    server.aws_ok(&[
        "s3",
        "cp",
        "s3://events-both/s3/small.txt",
        "s3://events-both/s3/copied.txt",
    ]);
    server.aws_ok(&["s3", "rm", "s3://events-both/s3/small.txt"]);

    receiver.wait_for(Duration::from_secs(20), |e| e.len() >= 10);
    std::thread::sleep(Duration::from_millis(300)); // nothing more should come
    let events = receiver.events();
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &events[1..] {
        by_name
            .entry(e["objectName"].as_str().unwrap().to_owned())
            .or_default()
            .push(e["eventType"].as_str().unwrap().to_owned());
    }
    let expect = |name: &str, kinds: &[&str]| {
        assert_eq!(
            by_name.get(name).map(Vec::as_slice),
            Some(&kinds.iter().map(|s| s.to_string()).collect::<Vec<_>>()[..]),
            "{name}: {events:#?}"
        );
    };
    expect(
        "docs/a.txt",
        &[
            "b2:ObjectCreated:Upload",
            "b2:ObjectCreated:Upload",
            "b2:HideMarkerCreated:Hide",
            "b2:ObjectDeleted:Delete",
        ],
    );
    expect("docs/copy.txt", &["b2:ObjectCreated:Copy"]);
    expect(
        "s3/small.txt",
        &["b2:ObjectCreated:Upload", "b2:HideMarkerCreated:Hide"],
    );
    expect("s3/big.bin", &["b2:ObjectCreated:MultipartUpload"]);
    expect("s3/copied.txt", &["b2:ObjectCreated:Copy"]);
    assert_eq!(events.len(), 10, "one event per change: {events:#?}");

    // Every delivery is signed over its exact body and carries the rule's header.
    for d in receiver.deliveries() {
        assert_eq!(
            d.header("x-bz-event-notification-signature"),
            Some(signature(&d.body).as_str())
        );
        assert_eq!(d.header("x-pier-test"), Some("events"));
        assert_eq!(d.header("content-type"), Some("application/json"));
    }
    // B2's fields, and ids unique.
    let ids: HashSet<&str> = events
        .iter()
        .map(|e| e["eventId"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), events.len());
    for e in &events[1..] {
        assert_eq!(e["bucketId"], bucket_id.as_str());
        assert_eq!(e["bucketName"], "events-both");
        assert_eq!(e["matchedRuleName"], "every-change");
        assert_eq!(e["eventVersion"], 1);
        assert!(e["eventTimestamp"].as_i64().unwrap() > 1_700_000_000_000);
        assert!(e["objectVersionId"].as_str().is_some_and(|v| !v.is_empty()));
    }
    let uploaded = events
        .iter()
        .find(|e| e["objectName"] == "s3/big.bin")
        .unwrap();
    assert_eq!(uploaded["objectSize"], 12 * 1024 * 1024);
    // The version ids b2sdk was given are the ones the events name.
    for line in made.lines() {
        let id = line.split_whitespace().last().unwrap();
        assert!(
            events.iter().any(|e| e["objectVersionId"] == id),
            "{line} has no event"
        );
    }
}

#[test]
fn events_acknowledged_while_the_receiver_is_down_arrive_after_a_kill_9() {
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let mut server = start();
    set_rules(&server, "events-crash", &url);
    let work = tempfile::TempDir::new().unwrap();
    let file = work.path().join("f");
    std::fs::write(&file, b"acknowledged").unwrap();
    for i in 0..5 {
        server.aws_ok(&[
            "s3",
            "cp",
            file.to_str().unwrap(),
            &format!("s3://events-crash/k{i}"),
        ]);
    }
    server.kill9();
    server.restart();
    let receiver = Receiver::start_on(port);
    // The first attempts failed (nobody listened): the retries come within the backoff.
    receiver.wait_for(Duration::from_secs(40), |e| {
        let names: HashSet<&str> = e
            .iter()
            .filter_map(|e| e["objectName"].as_str())
            .filter(|n| n.starts_with('k'))
            .collect();
        names.len() == 5
    });
    let events = receiver.events();
    assert!(types(&events).contains(&"b2:TestEvent".to_owned()));
    for d in receiver.deliveries() {
        assert_eq!(
            d.header("x-bz-event-notification-signature"),
            Some(signature(&d.body).as_str())
        );
    }
}

/// S3's records, grouped by key: each key's `eventName`s in order.
fn s3_names(records: &[Value]) -> BTreeMap<String, Vec<String>> {
    let mut by_key: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in records {
        by_key
            .entry(r["s3"]["object"]["key"].as_str().unwrap().to_owned())
            .or_default()
            .push(r["eventName"].as_str().unwrap().to_owned());
    }
    by_key
}

#[test]
fn s3_notifications_set_with_boto3_publish_s3_records_to_the_topic() {
    let receiver = Receiver::start();
    let server = start();
    let arn = server
        .python_ok("events_s3.py", &["topic", "uploads", &receiver.url])
        .trim()
        .to_owned();
    server.python_ok("events_s3.py", &["configure", "events-s3", &arn]);
    let made = server.python_ok("events_s3.py", &["changes", "events-s3"]);

    // Five objects created under in/ ("uploads"), one removal anywhere ("removals"); the
    // object outside in/ is selected only by its removal. No test event (Ceph sends none).
    receiver.wait_for(Duration::from_secs(20), |e| e.len() >= 6);
    std::thread::sleep(Duration::from_millis(300)); // nothing more should come
    let records = receiver.events();
    let expected: BTreeMap<String, Vec<String>> = [
        ("in/a+b.txt", "ObjectCreated:Put"),
        ("in/presigned.txt", "ObjectCreated:Put"),
        ("in/posted.txt", "ObjectCreated:Post"),
        ("in/multi.bin", "ObjectCreated:CompleteMultipartUpload"),
        ("in/copy.txt", "ObjectCreated:Copy"),
        ("out/ignored.txt", "ObjectRemoved:Delete"),
    ]
    .into_iter()
    .map(|(k, n)| (k.to_owned(), vec![n.to_owned()]))
    .collect();
    assert_eq!(s3_names(&records), expected, "{records:#?}");
    assert!(
        receiver.deliveries().iter().all(|d| d.events().len() == 1),
        "one record per message, as S3 publishes them"
    );
    for r in &records {
        assert_eq!(r["eventSource"], "aws:s3");
        assert_eq!(r["eventVersion"], "2.2");
        assert_eq!(r["awsRegion"], "us-east-1");
        assert_eq!(r["s3"]["bucket"]["name"], "events-s3");
        assert_eq!(r["s3"]["bucket"]["arn"], "arn:aws:s3:::events-s3");
        assert!(r["eventTime"].as_str().unwrap().ends_with('Z'));
        assert!(r["s3"]["object"]["sequencer"].as_str().unwrap().len() >= 16);
        let config = if r["s3"]["object"]["key"] == "out/ignored.txt" {
            "removals"
        } else {
            "uploads"
        };
        assert_eq!(r["s3"]["configurationId"], config);
    }
    // The ETags boto3 was given are the ones the records carry, and the sizes are right.
    for line in made.lines() {
        let (name, etag) = line.rsplit_once(' ').unwrap();
        let key = name.replace(' ', "+");
        let record = records
            .iter()
            .find(|r| r["s3"]["object"]["key"] == key.as_str())
            .unwrap_or_else(|| panic!("{name} has no record"));
        assert_eq!(record["s3"]["object"]["eTag"], etag, "{name}");
    }
    let multi = records
        .iter()
        .find(|r| r["s3"]["object"]["key"] == "in/multi.bin")
        .unwrap();
    assert_eq!(multi["s3"]["object"]["size"], 6 * 1024 * 1024);

    // A bucket's B2 rules and S3 configurations are kept apart: b2sdk sees no rule.
    let b2_rules = server.python_ok("events_b2.py", &["list", "events-s3"]);
    assert_eq!(b2_rules.trim(), "[]");

    // With its topic deleted, a configuration's events are dropped, not delivered.
    server.python_ok("events_s3.py", &["drop-topic", &arn]);
    let before = receiver.events().len();
    server.aws_ok(&["s3", "rm", "s3://events-s3/in/copy.txt"]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(receiver.events().len(), before, "{:#?}", receiver.events());
}

#[test]
fn the_topic_api_refuses_bad_signatures_unknown_keys_missing_capabilities_and_actions() {
    let server = start();
    server.python_ok("events_s3.py", &["refusals"]);
}

#[test]
fn an_unsigned_topic_request_is_refused_in_snss_format() {
    let server = start();
    let request = common::request_bytes(
        &server.endpoint,
        "POST",
        "/",
        &[("content-type", "application/x-www-form-urlencoded")],
        b"Action=ListTopics",
    );
    let resp = common::raw_bytes(&server.endpoint, &request);
    assert_eq!(resp.status, 403);
    let body = &resp.body;
    assert!(
        body.contains("<Code>MissingAuthenticationToken</Code>"),
        "{body}"
    );
    assert!(body.contains("<ErrorResponse"), "{body}");
}

/// `pier bucket events ARGS` on the server's data directory; (success, stdout + stderr).
fn pier_events(server: &Server, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_pier"))
        .args(["bucket", "events", "--data-dir"])
        .arg(server.dir.path().join("data"))
        .args(args)
        .output()
        .expect("run pier bucket events");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn the_cli_sets_shows_tests_and_removes_rules_next_to_a_running_server() {
    let receiver = Receiver::start();
    let server = start();
    server.aws_ok(&["s3", "mb", "s3://events-cli"]);
    let file = server.dir.path().join("rules.json");
    let rules = serde_json::json!([{
        "name": "from-the-cli",
        "eventTypes": ["b2:ObjectCreated:*"],
        "isEnabled": true,
        "targetConfiguration": {"targetType": "webhook", "url": receiver.url, "hmacSha256SigningSecret": SECRET},
    }]);
    std::fs::write(&file, rules.to_string()).unwrap();
    let file = file.to_str().unwrap();
    let (ok, text) = pier_events(&server, &["events-cli", "--rules", file]);
    assert!(
        !ok && text.contains("https"),
        "plain http needs the operator's leave: {text}"
    );
    let (ok, text) = pier_events(
        &server,
        &["events-cli", "--rules", file, "--webhook-allow-private"],
    );
    assert!(ok && text.contains("from-the-cli"), "{text}");
    let (ok, text) = pier_events(&server, &["events-cli", "--test", "from-the-cli"]);
    assert!(ok, "{text}");
    // The running server delivers both test events (saving, then the command), signed.
    receiver.wait_for(Duration::from_secs(20), |e| e.len() >= 2);
    assert_eq!(types(&receiver.events()), ["b2:TestEvent", "b2:TestEvent"]);
    for d in receiver.deliveries() {
        assert_eq!(
            d.header("x-bz-event-notification-signature"),
            Some(signature(&d.body).as_str())
        );
    }
    let (ok, text) = pier_events(&server, &["events-cli"]);
    assert!(ok && text.contains("\"name\": \"from-the-cli\""), "{text}");
    let (ok, text) = pier_events(&server, &["events-cli", "--test", "no-such-rule"]);
    assert!(!ok && text.contains("no active rule"), "{text}");
    let (ok, text) = pier_events(&server, &["events-cli", "--none"]);
    assert!(ok && text.trim() == "[]", "{text}");
}
