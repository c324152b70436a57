//! `PutBucketEncryption`, `GetBucketEncryption`, `DeleteBucketEncryption`: a bucket's default
//! encryption, the same setting B2 shows as `defaultServerSideEncryption`. `AES256` (SSE-S3) is
//! offered; `aws:kms` is refused as no key management service is.

use crate::error::s3_error;
use pier_crypto::Mode;
use pier_store::{BucketUpdate, Store};
use s3s::dto::*;
use s3s::{s3_error, S3Result};

/// `PUT ?encryption`.
pub async fn put(
    store: &Store,
    input: PutBucketEncryptionInput,
) -> S3Result<PutBucketEncryptionOutput> {
    let rules = input.server_side_encryption_configuration.rules;
    let [rule] = rules.as_slice() else {
        return Err(s3_error!(
            MalformedXML,
            "The encryption configuration must have exactly one rule."
        ));
    };
    let by_default = rule
        .apply_server_side_encryption_by_default
        .as_ref()
        .ok_or_else(|| {
            s3_error!(
                MalformedXML,
                "The rule must name ApplyServerSideEncryptionByDefault."
            )
        })?;
    match by_default.sse_algorithm.as_str() {
        "AES256" => {}
        "aws:kms" | "aws:kms:dsse" => {
            return Err(s3_error!(
                NotImplemented,
                "SSE-KMS is not offered by this server; use AES256 (SSE-S3)."
            ))
        }
        other => {
            return Err(s3_error!(
                MalformedXML,
                "The SSEAlgorithm {other} is not supported."
            ))
        }
    }
    if by_default.kms_master_key_id.is_some() {
        return Err(s3_error!(
            InvalidArgument,
            "a KMSMasterKeyID is allowed only with aws:kms"
        ));
    }
    update(store, &input.bucket, Some(Mode::SseS3)).await?;
    Ok(PutBucketEncryptionOutput::default())
}

/// `GET ?encryption`: 404 `ServerSideEncryptionConfigurationNotFoundError` without a default.
pub fn get(store: &Store, input: GetBucketEncryptionInput) -> S3Result<GetBucketEncryptionOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    match bucket.encryption {
        Some(Mode::SseS3) => Ok(GetBucketEncryptionOutput {
            server_side_encryption_configuration: Some(ServerSideEncryptionConfiguration {
                rules: vec![ServerSideEncryptionRule {
                    apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                        sse_algorithm: ServerSideEncryption::from_static(
                            ServerSideEncryption::AES256,
                        ),
                        kms_master_key_id: None,
                    }),
                    bucket_key_enabled: Some(false),
                }],
            }),
        }),
        _ => Err(crate::fault::S3Fault::new(
            crate::fault::S3ErrorKind::ServerSideEncryptionConfigurationNotFoundError,
            "The server side encryption configuration was not found",
        )
        .into_s3s()),
    }
}

/// `DELETE ?encryption`.
pub async fn delete(
    store: &Store,
    input: DeleteBucketEncryptionInput,
) -> S3Result<DeleteBucketEncryptionOutput> {
    update(store, &input.bucket, None).await?;
    Ok(DeleteBucketEncryptionOutput::default())
}

async fn update(store: &Store, bucket: &str, mode: Option<Mode>) -> S3Result<()> {
    crate::error::update_bucket(
        store,
        bucket,
        BucketUpdate {
            encryption: Some(mode),
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}
