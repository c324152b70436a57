//! `PutBucketEncryption`, `GetBucketEncryption`, `DeleteBucketEncryption`: a bucket's default
//! encryption, the same setting B2 shows as `defaultServerSideEncryption`: `AES256` (SSE-S3),
//! or `aws:kms` with a key of the server's key ring (`KMSMasterKeyID`; `aws/s3` when none).

use crate::error::s3_error;
use pier_crypto::Mode;
use pier_store::{DefaultEncryption, Store};
use s3s::dto::*;
use s3s::{s3_error, S3Result};

/// `PUT ?encryption`.
pub async fn put(
    store: &Store,
    actor: pier_store::Actor,
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
    let default = match by_default.sse_algorithm.as_str() {
        "AES256" if by_default.kms_master_key_id.is_some() => {
            return Err(s3_error!(
                InvalidArgument,
                "a KMSMasterKeyID is allowed only with aws:kms"
            ))
        }
        "AES256" => DefaultEncryption::sse_s3(),
        "aws:kms" | "aws:kms:dsse" => DefaultEncryption {
            mode: Mode::SseKms,
            kms_key_id: by_default.kms_master_key_id.clone(),
        },
        other => {
            return Err(s3_error!(
                MalformedXML,
                "The SSEAlgorithm {other} is not supported."
            ))
        }
    };
    update(store, actor, &input.bucket, Some(default)).await?;
    Ok(PutBucketEncryptionOutput::default())
}

/// `GET ?encryption`: 404 `ServerSideEncryptionConfigurationNotFoundError` without a default.
pub fn get(store: &Store, input: GetBucketEncryptionInput) -> S3Result<GetBucketEncryptionOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let Some(default) = &bucket.encryption else {
        return Err(crate::fault::S3Fault::new(
            crate::fault::S3ErrorKind::ServerSideEncryptionConfigurationNotFoundError,
            "The server side encryption configuration was not found",
        )
        .into_s3s());
    };
    let algorithm = match default.mode {
        Mode::SseKms => ServerSideEncryption::AWS_KMS,
        _ => ServerSideEncryption::AES256,
    };
    Ok(GetBucketEncryptionOutput {
        server_side_encryption_configuration: Some(ServerSideEncryptionConfiguration {
            rules: vec![ServerSideEncryptionRule {
                apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                    sse_algorithm: ServerSideEncryption::from_static(algorithm),
                    kms_master_key_id: default.kms_key_id.clone(),
                }),
                bucket_key_enabled: Some(false),
            }],
        }),
    })
}

/// `DELETE ?encryption`.
pub async fn delete(
    store: &Store,
    actor: pier_store::Actor,
    input: DeleteBucketEncryptionInput,
) -> S3Result<DeleteBucketEncryptionOutput> {
    update(store, actor, &input.bucket, None).await?;
    Ok(DeleteBucketEncryptionOutput::default())
}

async fn update(
    store: &Store,
    actor: pier_store::Actor,
    bucket: &str,
    default: Option<DefaultEncryption>,
) -> S3Result<()> {
    crate::error::change_bucket!(store, actor.clone(), bucket, encryption: Some(default));
    Ok(())
}
