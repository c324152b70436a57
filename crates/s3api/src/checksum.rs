//! S3's additional checksums of multipart objects: the algorithm an upload is started with,
//! each part's checksum, and the whole object's, made from the parts' either as a
//! **composite** (the algorithm over the concatenated part digests, suffixed `-N`) or, for the
//! CRCs, as a **full-object** CRC (the parts' CRCs combined, equal to the CRC of all the bytes).
//! Values are base64, as S3 sends them; the store keeps them under lower-case names (`sha256`).

use base64::Engine as _;
use s3s::checksum::ChecksumHasher;
use s3s::dto::{Checksum, ChecksumAlgorithm, ChecksumType};
use s3s::{s3_error, S3Result};

/// The five algorithms, by the name the store keeps (`crc32`, ...).
pub const NAMES: [&str; 5] = ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"];

/// The store's name of an S3 algorithm; `InvalidRequest` for one S3 does not have.
pub fn name_of(algorithm: &ChecksumAlgorithm) -> S3Result<&'static str> {
    let upper = algorithm.as_str().to_ascii_uppercase();
    NAMES
        .into_iter()
        .find(|n| n.to_ascii_uppercase() == upper)
        .ok_or_else(|| {
            s3_error!(
                InvalidRequest,
                "Checksum algorithm {upper} is not supported (CRC32, CRC32C, CRC64NVME, SHA1, SHA256)."
            )
        })
}

/// The S3 algorithm of a store name.
pub fn algorithm(name: &str) -> ChecksumAlgorithm {
    ChecksumAlgorithm::from(name.to_ascii_uppercase())
}

/// The checksum type of a new multipart upload: the one asked for if the algorithm allows it,
/// else S3's default (full-object for CRC64NVME, composite for the others).
pub fn upload_type(name: &str, asked: Option<&ChecksumType>) -> S3Result<&'static str> {
    let full_only = name == "crc64nvme";
    let composite_only = name.starts_with("sha");
    match asked.map(|t| t.as_str()) {
        None if full_only => Ok(ChecksumType::FULL_OBJECT),
        None => Ok(ChecksumType::COMPOSITE),
        Some(ChecksumType::FULL_OBJECT) if !composite_only => Ok(ChecksumType::FULL_OBJECT),
        Some(ChecksumType::COMPOSITE) if !full_only => Ok(ChecksumType::COMPOSITE),
        Some(other) => Err(s3_error!(
            InvalidRequest,
            "The {other} checksum type cannot be used with the {} checksum algorithm.",
            name.to_ascii_uppercase()
        )),
    }
}

/// A hasher computing only `name`.
pub fn hasher_for(name: &str) -> ChecksumHasher {
    let mut h = ChecksumHasher::default();
    match name {
        "crc32" => h.crc32 = Some(Default::default()),
        "crc32c" => h.crc32c = Some(Default::default()),
        "crc64nvme" => h.crc64nvme = Some(Default::default()),
        "sha1" => h.sha1 = Some(Default::default()),
        _ => h.sha256 = Some(Default::default()),
    }
    h
}

/// The value of `name` in `sums`.
pub fn value_of(sums: &Checksum, name: &str) -> Option<String> {
    match name {
        "crc32" => sums.checksum_crc32.clone(),
        "crc32c" => sums.checksum_crc32c.clone(),
        "crc64nvme" => sums.checksum_crc64nvme.clone(),
        "sha1" => sums.checksum_sha1.clone(),
        "sha256" => sums.checksum_sha256.clone(),
        _ => None,
    }
}

/// A [`Checksum`] holding only `value` under `name`.
pub fn only(name: &str, value: Option<String>) -> Checksum {
    let mut c = Checksum::default();
    match name {
        "crc32" => c.checksum_crc32 = value,
        "crc32c" => c.checksum_crc32c = value,
        "crc64nvme" => c.checksum_crc64nvme = value,
        "sha1" => c.checksum_sha1 = value,
        "sha256" => c.checksum_sha256 = value,
        _ => {}
    }
    c
}

fn decode(value: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(value).ok()
}

fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The whole-object checksum of parts with these `(checksum, size)`s, as `kind` says; `None`
/// when a part's checksum does not decode.
pub fn combine(name: &str, kind: &str, parts: &[(String, u64)]) -> Option<String> {
    if kind == ChecksumType::FULL_OBJECT {
        let algorithm = match name {
            "crc32" => crc_fast::CrcAlgorithm::Crc32IsoHdlc,
            "crc32c" => crc_fast::CrcAlgorithm::Crc32Iscsi,
            "crc64nvme" => crc_fast::CrcAlgorithm::Crc64Nvme,
            _ => return None,
        };
        let width = if name == "crc64nvme" { 8 } else { 4 };
        let mut total: Option<u64> = None;
        for (value, size) in parts {
            let bytes = decode(value).filter(|b| b.len() == width)?;
            let crc = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            total = Some(match total {
                None => crc,
                Some(t) => crc_fast::checksum_combine(algorithm, t, crc, *size),
            });
        }
        let total = total?;
        return Some(encode(&total.to_be_bytes()[8 - width..]));
    }
    let mut h = hasher_for(name);
    for (value, _) in parts {
        h.update(&decode(value)?);
    }
    let whole = value_of(&h.finalize(), name)?;
    Some(format!("{whole}-{}", parts.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(name: &str, data: &[u8]) -> String {
        let mut h = hasher_for(name);
        h.update(data);
        value_of(&h.finalize(), name).unwrap()
    }

    #[test]
    fn full_object_crcs_equal_the_crc_of_all_the_bytes() {
        let (a, b, c) = (vec![b'A'; 1000], vec![b'B'; 333], vec![b'C'; 1]);
        let all = [a.clone(), b.clone(), c.clone()].concat();
        for name in ["crc32", "crc32c", "crc64nvme"] {
            let parts: Vec<(String, u64)> = [&a, &b, &c]
                .iter()
                .map(|p| (sum(name, p), p.len() as u64))
                .collect();
            assert_eq!(
                combine(name, ChecksumType::FULL_OBJECT, &parts),
                Some(sum(name, &all)),
                "{name}"
            );
        }
    }

    #[test]
    fn composite_is_the_digest_of_the_part_digests_with_the_count() {
        // The value AWS documents for three 5 MiB parts of 'A', 'B' and 'C' (s3-tests).
        let parts = [
            ("275VF5loJr1YYawit0XSHREhkFXYkkPKGuoK0x9VKxI=".to_owned(), 0),
            ("mrHwOfjTL5Zwfj74F05HOQGLdUb7E5szdCbxgUSq6NM=".to_owned(), 0),
            ("Vw7oB/nKQ5xWb3hNgbyfkvDiivl+U+/Dft48nfJfDow=".to_owned(), 0),
        ];
        assert_eq!(
            combine("sha256", ChecksumType::COMPOSITE, &parts).as_deref(),
            Some("uWBwpe1dxI4Vw8Gf0X9ynOdw/SS6VBzfWm9giiv1sf4=-3")
        );
    }

    #[test]
    fn sha_algorithms_are_composite_only_and_crc64nvme_full_object_only() {
        let full = ChecksumType::from_static(ChecksumType::FULL_OBJECT);
        let composite = ChecksumType::from_static(ChecksumType::COMPOSITE);
        assert!(upload_type("sha256", Some(&full)).is_err());
        assert!(upload_type("crc64nvme", Some(&composite)).is_err());
        assert_eq!(upload_type("crc32", None).unwrap(), ChecksumType::COMPOSITE);
        assert_eq!(
            upload_type("crc64nvme", None).unwrap(),
            ChecksumType::FULL_OBJECT
        );
    }
}
