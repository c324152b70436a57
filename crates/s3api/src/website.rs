//! `PutBucketWebsite`, `GetBucketWebsite`, `DeleteBucketWebsite`: a bucket's static website
//! configuration, checked as S3 checks it (`pier_edge::website`), kept by the store as JSON and
//! served by the HTTP front on the website hosts.

use crate::error::s3_error;
use pier_edge::website::{Redirect as Go, RedirectAll, RoutingRule as Rule, Website};
use pier_store::Store;
use s3s::dto::*;
use s3s::{s3_error, S3Result};

fn code(text: Option<&str>, what: &str) -> S3Result<Option<u16>> {
    text.map(|t| {
        t.trim()
            .parse::<u16>()
            .map_err(|_| s3_error!(InvalidArgument, "{what} must be a number, not {t:?}"))
    })
    .transpose()
}

/// The model of an S3 website configuration, or S3's `InvalidArgument` saying what is wrong.
fn model(config: WebsiteConfiguration) -> S3Result<Website> {
    let mut rules = Vec::new();
    for r in config.routing_rules.unwrap_or_default() {
        let condition = r.condition.unwrap_or_default();
        rules.push(Rule {
            key_prefix_equals: condition.key_prefix_equals,
            http_error_code_returned_equals: code(
                condition.http_error_code_returned_equals.as_deref(),
                "HttpErrorCodeReturnedEquals",
            )?,
            redirect: Go {
                host_name: r.redirect.host_name,
                protocol: r.redirect.protocol.map(|p| p.as_str().to_owned()),
                replace_key_prefix_with: r.redirect.replace_key_prefix_with,
                replace_key_with: r.redirect.replace_key_with,
                http_redirect_code: code(
                    r.redirect.http_redirect_code.as_deref(),
                    "HttpRedirectCode",
                )?,
            },
        });
    }
    let website = Website {
        index_suffix: config.index_document.map(|d| d.suffix),
        error_key: config.error_document.map(|d| d.key),
        redirect_all: config.redirect_all_requests_to.map(|r| RedirectAll {
            host_name: r.host_name,
            protocol: r.protocol.map(|p| p.as_str().to_owned()),
        }),
        rules,
    };
    website
        .check()
        .map_err(|why| s3_error!(InvalidArgument, "{why}"))?;
    Ok(website)
}

/// `PUT ?website`.
pub async fn put(
    store: &Store,
    actor: pier_store::Actor,
    input: PutBucketWebsiteInput,
) -> S3Result<PutBucketWebsiteOutput> {
    let website = model(input.website_configuration)?;
    let json = serde_json::to_string(&website).expect("a website serializes");
    crate::error::change_bucket!(store, actor.clone(), &input.bucket, website: Some(Some(json)));
    Ok(PutBucketWebsiteOutput::default())
}

/// `DELETE ?website`.
pub async fn delete(
    store: &Store,
    actor: pier_store::Actor,
    input: DeleteBucketWebsiteInput,
) -> S3Result<DeleteBucketWebsiteOutput> {
    crate::error::change_bucket!(store, actor.clone(), &input.bucket, website: Some(None));
    Ok(DeleteBucketWebsiteOutput::default())
}

/// `GET ?website`: the configuration, or S3's 404 `NoSuchWebsiteConfiguration`.
pub fn get(store: &Store, input: GetBucketWebsiteInput) -> S3Result<GetBucketWebsiteOutput> {
    let bucket = store.bucket(&input.bucket).map_err(s3_error)?;
    let website: Website = match bucket.website.as_deref().map(serde_json::from_str) {
        Some(Ok(w)) => w,
        Some(Err(e)) => {
            tracing::error!(bucket = %input.bucket, error = %e, "a stored website configuration does not decode");
            return Err(s3_error!(
                InternalError,
                "the stored website configuration is unreadable"
            ));
        }
        None => {
            return Err(s3_error!(
                NoSuchWebsiteConfiguration,
                "The specified bucket does not have a website configuration"
            ))
        }
    };
    let rules: Vec<RoutingRule> = website
        .rules
        .into_iter()
        .map(|r| RoutingRule {
            condition: (r.key_prefix_equals.is_some()
                || r.http_error_code_returned_equals.is_some())
            .then(|| Condition {
                key_prefix_equals: r.key_prefix_equals,
                http_error_code_returned_equals: r
                    .http_error_code_returned_equals
                    .map(|c| c.to_string()),
            }),
            redirect: Redirect {
                host_name: r.redirect.host_name,
                http_redirect_code: r.redirect.http_redirect_code.map(|c| c.to_string()),
                protocol: r.redirect.protocol.map(Protocol::from),
                replace_key_prefix_with: r.redirect.replace_key_prefix_with,
                replace_key_with: r.redirect.replace_key_with,
            },
        })
        .collect();
    Ok(GetBucketWebsiteOutput {
        index_document: website.index_suffix.map(|suffix| IndexDocument { suffix }),
        error_document: website.error_key.map(|key| ErrorDocument { key }),
        redirect_all_requests_to: website.redirect_all.map(|r| RedirectAllRequestsTo {
            host_name: r.host_name,
            protocol: r.protocol.map(Protocol::from),
        }),
        routing_rules: (!rules.is_empty()).then_some(rules),
    })
}
