//! Bucket CORS rules over S3 (Put/Get/DeleteBucketCors). Bucket ACLs are in [`crate::acl`].
//!
//! CORS rules are validated by the engine with S3's rules and stored with the bucket's other
//! rules (B2 rules set through the B2 API live in the same list). PutBucketCors replaces the
//! list, so it is refused while the list holds rules granting B2 native operations: it would
//! silently delete them. GetBucketCors shows what S3 can express of the list.

use crate::error::s3_error;
use pier_cors::validate::S3_XML_FIELDS;
use pier_cors::{CorsConfig, Dialect, ErrorKind, RuleSpec};
use pier_edge::bucket_cors as cors_of;
use pier_store::Store;
use s3s::dto::*;
use s3s::{s3_error, S3Error, S3Result};

fn refusal(e: pier_cors::ConfigError) -> S3Error {
    let message = e.to_string().replace('\n', "; ");
    match e.kind() {
        ErrorKind::Value => s3_error!(InvalidRequest, "{message}"),
        _ => s3_error!(MalformedXML, "{message}"),
    }
}

pub(crate) async fn put_cors(
    store: &Store,
    actor: pier_store::Actor,
    input: PutBucketCorsInput,
) -> S3Result<PutBucketCorsOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let specs: Vec<RuleSpec> = input
        .cors_configuration
        .cors_rules
        .into_iter()
        .map(|r| RuleSpec {
            name: r.id,
            origins: r.allowed_origins,
            operations: r.allowed_methods,
            allowed_headers: r.allowed_headers.unwrap_or_default(),
            expose_headers: r.expose_headers.unwrap_or_default(),
            max_age_seconds: r.max_age_seconds.map(i64::from),
        })
        .collect();
    if specs.is_empty() {
        return Err(s3_error!(
            MalformedXML,
            "a CORSConfiguration must contain at least one CORSRule"
        ));
    }
    let config = CorsConfig::from_specs(Dialect::S3, &S3_XML_FIELDS, specs).map_err(refusal)?;
    if cors_of(&bucket).is_some_and(|c| c.grants_b2_operations()) {
        return Err(s3_error!(
            InvalidRequest,
            "This bucket has CORS rules granting B2 native operations (set through the B2 API); replacing the rules through S3 would delete them. Change them with b2_update_bucket or `pier bucket cors`."
        ));
    }
    let stored = config.to_stored();
    let name = input.bucket;
    crate::error::change_bucket!(store, actor.clone(), &name, cors: Some(Some(stored)));
    Ok(PutBucketCorsOutput::default())
}

pub(crate) fn get_cors(store: &Store, input: GetBucketCorsInput) -> S3Result<GetBucketCorsOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let view = cors_of(&bucket)
        .map(|c| c.view_as(Dialect::S3))
        .filter(|c| c.is_enabled());
    let Some(view) = view else {
        return Err(s3_error!(
            NoSuchCORSConfiguration,
            "The CORS configuration does not exist"
        ));
    };
    let rules = view
        .rules()
        .iter()
        .map(|r| {
            let spec = r.to_spec();
            CORSRule {
                id: spec.name,
                allowed_origins: spec.origins,
                allowed_methods: spec.operations,
                allowed_headers: (!spec.allowed_headers.is_empty()).then_some(spec.allowed_headers),
                expose_headers: (!spec.expose_headers.is_empty()).then_some(spec.expose_headers),
                max_age_seconds: spec.max_age_seconds.and_then(|s| i32::try_from(s).ok()),
            }
        })
        .collect();
    Ok(GetBucketCorsOutput {
        cors_rules: Some(rules),
    })
}

pub(crate) async fn delete_cors(
    store: &Store,
    actor: pier_store::Actor,
    input: DeleteBucketCorsInput,
) -> S3Result<DeleteBucketCorsOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    // Only the part S3 can see goes: rules granting B2 native operations stay.
    let kept = cors_of(&bucket)
        .map(|c| {
            CorsConfig::from_rules(
                c.into_rules()
                    .into_iter()
                    .filter(|r| r.operations().iter().any(|op| op.is_b2_native()))
                    .collect(),
            )
        })
        .filter(|c| c.is_enabled())
        .map(|c| c.to_stored());
    crate::error::change_bucket!(store, actor.clone(), &input.bucket, cors: Some(kept));
    Ok(DeleteBucketCorsOutput::default())
}
