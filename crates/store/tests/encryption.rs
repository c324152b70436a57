//! Encryption at rest in the store (`docs/design.md`, "Encryption at rest"): SSE-S3 and SSE-C
//! objects, inline, in blobs and multipart, read whole and by range; what a read without the key
//! or with the wrong one gets; copies that share bytes or write them again; a changed byte on
//! disk; the master key a data directory needs. On SQLite and files, PostgreSQL and files, and
//! PostgreSQL and a SeaweedFS cluster.

mod common;

use common::Db;
use pier_crypto::{CustomerKey, MasterKey, Mode};
use pier_store::{Encrypt, ObjectMeta, Payload, Store, StoreError, WriteCondition};
use tempfile::TempDir;

/// Bytes no one would write by chance, long enough to find.
fn secret(n: usize) -> Vec<u8> {
    let line = b"PIER-PLAINTEXT-MARKER the quick brown fox jumps over the lazy dog. ";
    line.iter().cycle().take(n).copied().collect()
}

fn customer(b: u8) -> CustomerKey {
    use base64::Engine as _;
    CustomerKey::parse(
        &base64::engine::general_purpose::STANDARD.encode([b; 32]),
        None,
    )
    .unwrap()
}

fn open(db: &Db, dir: &std::path::Path) -> Store {
    let store = db.open(dir);
    store
        .set_master_key(Some(MasterKey::parse(&"ab".repeat(32)).unwrap()))
        .unwrap();
    store
}

/// Puts `data` encrypted as `how`, declared as `declared` bytes (inline when small).
fn put(store: &Store, bucket: &str, key: &str, data: &[u8], how: &Encrypt) -> pier_store::Object {
    let (envelope, data_key) = store.new_data_key(how).unwrap();
    let mut w = store
        .new_sealed_payload(Some(data.len() as u64), &data_key)
        .unwrap();
    for chunk in data.chunks(7_000) {
        w.write(chunk).unwrap();
    }
    let meta = ObjectMeta {
        encryption: Some(envelope),
        ..ObjectMeta::default()
    };
    store
        .put_object(bucket, key, w.finish().unwrap(), meta, WriteCondition::None)
        .unwrap()
}

fn read(
    store: &Store,
    bucket: &str,
    key: &str,
    range: (u64, u64),
    key_given: Option<&CustomerKey>,
) -> Result<Vec<u8>, StoreError> {
    let mut entry = store.read_object(bucket, key)?;
    if let Some(k) = key_given {
        entry.unlock(k)?;
    }
    let mut r = store.reader(&entry, range.0, range.1);
    let mut out = Vec::new();
    loop {
        let next = r.next_chunk(10_000)?;
        if next.is_empty() {
            return Ok(out);
        }
        out.extend(next);
    }
}

fn bucket(store: &Store) -> String {
    common::private_bucket(store, "enc", "acct").unwrap().id
}

/// Whether `needle` is in any file under `dir`.
fn found_in(dir: &std::path::Path, needle: &[u8]) -> Vec<String> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                if bytes.windows(needle.len()).any(|w| w == needle) {
                    hits.push(p.display().to_string());
                }
            }
        }
    }
    hits
}

fn sse_s3_objects_read_whole_and_by_range(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = open(db, dir.path());
    let b = bucket(&store);
    for (key, size) in [
        ("tiny", 10usize),
        ("inline", 60_000),
        ("blob", 1_000_000),
        ("exact", 3 * 65_536),
        // Past one buffer of a cluster: its sealed bytes stream there as they come.
        ("streamed", 9 * 1024 * 1024 + 17),
    ] {
        let data = secret(size);
        let o = put(&store, &b, key, &data, &Encrypt::SseS3);
        assert_eq!(o.size, size as u64);
        assert_eq!(o.meta.encryption.as_ref().unwrap().mode, Mode::SseS3);
        assert_eq!(
            o.etag,
            hex::encode(<md5::Md5 as md5::Digest>::digest(&data)),
            "the ETag is the plaintext's MD5"
        );
        assert_eq!(
            read(&store, &b, key, (0, size as u64), None).unwrap(),
            data,
            "{key}"
        );
        for (start, len) in [
            (0u64, 1u64),
            (65_535, 2),
            (size as u64 / 3, size as u64 / 3 + 1),
            (size as u64 - 1, 1),
        ] {
            if start + len <= size as u64 {
                assert_eq!(
                    read(&store, &b, key, (start, len), None).unwrap(),
                    data[start as usize..(start + len) as usize],
                    "{key} {start}+{len}"
                );
            }
        }
    }
    if matches!(db, Db::Sqlite) {
        store.close().unwrap();
        let hits = found_in(dir.path(), b"PIER-PLAINTEXT-MARKER");
        assert!(hits.is_empty(), "plaintext found on disk: {hits:?}");
    }
}

fn sse_c_objects_need_their_key(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = open(db, dir.path());
    let b = bucket(&store);
    let data = secret(200_000);
    let o = put(&store, &b, "c", &data, &Encrypt::SseC(customer(1)));
    assert_ne!(
        o.etag,
        hex::encode(<md5::Md5 as md5::Digest>::digest(&data)),
        "not the MD5"
    );
    assert_eq!(
        read(&store, &b, "c", (0, 200_000), Some(&customer(1))).unwrap(),
        data
    );
    assert!(matches!(
        read(&store, &b, "c", (0, 10), Some(&customer(2))),
        Err(StoreError::WrongKey)
    ));
    let err = read(&store, &b, "c", (0, 10), None).unwrap_err();
    assert!(err.to_string().contains("not given"), "{err}");
    let plain = put_plain(&store, &b, "p", b"plain");
    let _ = plain;
    assert!(matches!(
        read(&store, &b, "p", (0, 5), Some(&customer(1))),
        Err(StoreError::NotCustomerEncrypted)
    ));
}

fn put_plain(store: &Store, bucket: &str, key: &str, data: &[u8]) -> pier_store::Object {
    common::put_declared(store, bucket, key, data, data.len() as u64)
}

fn multipart_parts_are_sealed_under_the_uploads_key(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = open(db, dir.path());
    let b = bucket(&store);
    let (envelope, _) = store.new_data_key(&Encrypt::SseS3).unwrap();
    let meta = ObjectMeta {
        encryption: Some(envelope.clone()),
        ..ObjectMeta::default()
    };
    let upload = store.create_upload(&b, "mp", meta).unwrap();
    let data = secret(5 * 1024 * 1024 + 100_000);
    let (first, second) = data.split_at(5 * 1024 * 1024);
    let mut parts = Vec::new();
    for (n, bytes) in [(1u32, first), (2, second)] {
        let key = store
            .open_envelope(&upload.meta.encryption.clone().unwrap(), None)
            .unwrap();
        let mut w = store.new_sealed_part_payload(None, &key).unwrap();
        w.write(bytes).unwrap();
        let Payload::Blob(blob) = w.finish().unwrap() else {
            unreachable!()
        };
        let part = store.put_part(&upload.upload_id, n, blob, None).unwrap();
        parts.push((n, part.etag));
    }
    store
        .complete_upload(
            &upload.upload_id,
            parts,
            5 * 1024 * 1024,
            WriteCondition::None,
            None,
        )
        .unwrap();
    assert_eq!(
        read(&store, &b, "mp", (0, data.len() as u64), None).unwrap(),
        data
    );
    let mid = 5 * 1024 * 1024 - 10;
    assert_eq!(
        read(&store, &b, "mp", (mid, 100), None).unwrap(),
        data[mid as usize..mid as usize + 100]
    );
}

fn copies_share_bytes_or_write_them_again(db: &Db) {
    let dir = TempDir::new().unwrap();
    let store = open(db, dir.path());
    let b = bucket(&store);
    let data = secret(300_000);
    let source = put(&store, &b, "src", &data, &Encrypt::SseC(customer(1)));
    // The same encryption: the copy shares the blobs and the wrapped key.
    let shared = store
        .copy_object(
            &source,
            &b,
            "same",
            ObjectMeta::default(),
            WriteCondition::None,
        )
        .unwrap();
    assert_eq!(shared.segments, source.segments);
    assert_eq!(
        read(&store, &b, "same", (0, 300_000), Some(&customer(1))).unwrap(),
        data
    );
    // Into SSE-S3, and into plain: written again.
    let mut entry = store.read_object(&b, "src").unwrap();
    entry.unlock(&customer(1)).unwrap();
    let into = store.new_data_key(&Encrypt::SseS3).unwrap();
    let s3 = store
        .copy_object_rewritten(
            &entry,
            &b,
            "s3",
            ObjectMeta::default(),
            WriteCondition::None,
            Some(into),
        )
        .unwrap();
    assert_ne!(s3.segments, source.segments);
    assert_eq!(s3.meta.encryption.as_ref().unwrap().mode, Mode::SseS3);
    assert_eq!(read(&store, &b, "s3", (0, 300_000), None).unwrap(), data);
    let plain = store
        .copy_object_rewritten(
            &entry,
            &b,
            "plain",
            ObjectMeta::default(),
            WriteCondition::None,
            None,
        )
        .unwrap();
    assert!(plain.meta.encryption.is_none());
    assert_eq!(read(&store, &b, "plain", (0, 300_000), None).unwrap(), data);
}

fn a_changed_byte_on_disk_fails_the_read() {
    let dir = TempDir::new().unwrap();
    let store = open(&Db::Sqlite, dir.path());
    let b = bucket(&store);
    let data = secret(500_000);
    let o = put(&store, &b, "x", &data, &Encrypt::SseS3);
    let blob = &o.segments[0].blob;
    let path = dir.path().join("blobs").join(&blob[..2]).join(blob);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[200_000] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    let err = read(&store, &b, "x", (0, 500_000), None).unwrap_err();
    assert!(err.to_string().contains("integrity"), "{err}");
    // The chunks before the changed one still read.
    assert_eq!(
        read(&store, &b, "x", (0, 100_000), None).unwrap(),
        data[..100_000]
    );
}

#[test]
fn a_changed_byte_on_disk_fails_the_read_and_never_returns_wrong_bytes() {
    a_changed_byte_on_disk_fails_the_read();
}

#[test]
fn a_data_directory_refuses_a_missing_or_different_master_key() {
    let dir = TempDir::new().unwrap();
    {
        let store = open(&Db::Sqlite, dir.path());
        let b = bucket(&store);
        put(&store, &b, "x", b"data", &Encrypt::SseS3);
        store.close().unwrap();
    }
    let store = Db::Sqlite.open(dir.path());
    let err = store.set_master_key(None).unwrap_err();
    assert!(err.to_string().contains("no master key was given"), "{err}");
    let err = store
        .set_master_key(Some(MasterKey::parse(&"cd".repeat(32)).unwrap()))
        .unwrap_err();
    assert!(err.to_string().contains("not under the key given"), "{err}");
    store
        .set_master_key(Some(MasterKey::parse(&"ab".repeat(32)).unwrap()))
        .unwrap();
    assert_eq!(
        read(&store, &store.bucket("enc").unwrap().id, "x", (0, 4), None).unwrap(),
        b"data"
    );
}

fn a_master_key_rotation_rewraps_every_key_and_the_old_key_no_longer_opens(db: &Db) {
    let dir = TempDir::new().unwrap();
    let new = MasterKey::parse(&"ef".repeat(32)).unwrap();
    {
        let store = open(db, dir.path());
        let b = bucket(&store);
        put(&store, &b, "inline", b"small", &Encrypt::SseS3);
        put(&store, &b, "blob", &secret(300_000), &Encrypt::SseS3);
        store.create_kms_key("ring-1").unwrap();
        put(
            &store,
            &b,
            "kms",
            &secret(1000),
            &Encrypt::SseKms("ring-1".into()),
        );
        let (envelope, _) = store.new_data_key(&Encrypt::SseS3).unwrap();
        let meta = ObjectMeta {
            encryption: Some(envelope),
            ..ObjectMeta::default()
        };
        store.create_upload(&b, "pending", meta).unwrap();
        let (rewrapped, ring) = store.rotate_master_key(&new).unwrap();
        assert_eq!(
            (rewrapped, ring),
            (3, 1),
            "two objects and an upload; one ring key"
        );
        assert_eq!(
            store.rotate_master_key(&new).unwrap(),
            (0, 0),
            "nothing left"
        );
        store.close().unwrap();
    }
    let store = db.open(dir.path());
    assert!(store
        .set_master_key(Some(MasterKey::parse(&"ab".repeat(32)).unwrap()))
        .is_err());
    store.set_master_key(Some(new)).unwrap();
    let b = store.bucket("enc").unwrap().id.clone();
    assert_eq!(read(&store, &b, "inline", (0, 5), None).unwrap(), b"small");
    assert_eq!(
        read(&store, &b, "blob", (0, 300_000), None).unwrap(),
        secret(300_000)
    );
    assert_eq!(
        read(&store, &b, "kms", (0, 1000), None).unwrap(),
        secret(1000)
    );
}

on_both_backends!(
    a_master_key_rotation_rewraps_every_key_and_the_old_key_no_longer_opens,
    sse_s3_objects_read_whole_and_by_range,
    sse_c_objects_need_their_key,
    multipart_parts_are_sealed_under_the_uploads_key,
    copies_share_bytes_or_write_them_again,
);
