//! A bucket's static website in the browser: its settings (index and error documents,
//! redirect-all, routing rules in S3's JSON shape), checked as `PutBucketWebsite` checks them
//! with the refusal shown at its field, the addresses the site is served at, whether anyone can
//! read it yet, and removal.

use crate::auth::{Button, Page, Signed};
use crate::buckets::{nav, save_settings};
use crate::extract::{InBucket, PostedToBucket};
use crate::views::{render, WebsitePage};
use crate::Dashboard;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use pier_access::Action;
use pier_edge::website::{s3_json, RedirectAll, Website, WebsiteField, WebsiteInvalid};
use pier_store::BucketUpdate;
use serde::Deserialize;

/// What the form holds: the stored settings, or what was sent and refused.
#[derive(Default, Deserialize)]
pub(crate) struct WebsiteForm {
    #[serde(default)]
    index: String,
    #[serde(default)]
    error: String,
    #[serde(default)]
    redirect_all: String,
    #[serde(default)]
    rules: String,
}

impl WebsiteForm {
    fn of(website: &Website) -> WebsiteForm {
        WebsiteForm {
            index: website.index_suffix.clone().unwrap_or_default(),
            error: website.error_key.clone().unwrap_or_default(),
            redirect_all: website
                .redirect_all
                .as_ref()
                .map(|r| match &r.protocol {
                    Some(p) => format!("{p}://{}", r.host_name),
                    None => r.host_name.clone(),
                })
                .unwrap_or_default(),
            rules: s3_json::write(&website.rules),
        }
    }

    /// The configuration the form describes, or the refusal with its field.
    fn website(&self) -> Result<Website, WebsiteInvalid> {
        let text = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        let rules = s3_json::parse(&self.rules).map_err(|e| WebsiteInvalid {
            field: WebsiteField::RoutingRules,
            message: format!("not S3's JSON for routing rules: {e}"),
        })?;
        let website = Website {
            index_suffix: text(&self.index),
            error_key: text(&self.error),
            redirect_all: text(&self.redirect_all).map(|to| match to.split_once("://") {
                Some((scheme, host)) => RedirectAll {
                    host_name: host.trim_end_matches('/').to_owned(),
                    protocol: Some(scheme.to_ascii_lowercase()),
                },
                None => RedirectAll {
                    host_name: to,
                    protocol: None,
                },
            }),
            rules,
        };
        website.check()?;
        Ok(website)
    }
}

/// The addresses `bucket`'s site answers at: `BUCKET.DOMAIN` on the API port for each website
/// domain, and the website listener for a custom domain named as the bucket.
fn addresses(d: &Dashboard, bucket: &str) -> Vec<String> {
    let c = d.config();
    let mut urls: Vec<String> = c
        .website_domains
        .iter()
        .map(|domain| format!("{}://{bucket}.{domain}:{}/", c.api_scheme(), c.api_port))
        .collect();
    if let Some(listen) = &c.website_listen {
        urls.push(format!(
            "http://{bucket}/ (a DNS name {bucket} pointed at {listen})"
        ));
    }
    urls
}

fn show(
    d: &Dashboard,
    who: &Signed,
    bucket: String,
    form: WebsiteForm,
    configured: bool,
    refusal: Option<WebsiteInvalid>,
) -> Result<Response, Page> {
    // The website serves only what anyone may read: say so before a visitor finds a 403.
    let probe = match form.index.trim() {
        "" => "index.html".to_owned(),
        index => index.to_owned(),
    };
    let public = d
        .access()
        .anyone_may_read(&bucket, &probe, d.config().api_tls)
        .map_err(Page::store)?;
    let at = |field| {
        refusal
            .as_ref()
            .filter(|r| r.field == field)
            .map(|r| r.message.clone())
            .unwrap_or_default()
    };
    let page = WebsitePage {
        can_write: who.may(d, Action::PutBucketWebsite, Some(&bucket)),
        nav: nav(d, who),
        addresses: if configured {
            addresses(d, &bucket)
        } else {
            Vec::new()
        },
        configured,
        public,
        index_error: at(WebsiteField::IndexDocument),
        redirect_error: at(WebsiteField::RedirectAll),
        rules_error: at(WebsiteField::RoutingRules),
        refused: refusal.is_some(),
        index: form.index,
        error: form.error,
        redirect_all: form.redirect_all,
        rules: form.rules,
        bucket,
    };
    let mut response = render(&page);
    if page.refused {
        *response.status_mut() = http::StatusCode::BAD_REQUEST;
    }
    Ok(response)
}

pub(crate) async fn page(
    State(d): State<Dashboard>,
    InBucket { who, bucket }: InBucket,
) -> Result<Response, Page> {
    let b = who.bucket(&d, Action::GetBucketWebsite, &bucket)?;
    let website: Option<Website> = match b.website.as_deref() {
        Some(json) => Some(serde_json::from_str(json).map_err(|e| {
            tracing::error!(bucket, error = %e, "a stored website configuration does not parse");
            Page::new(
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "The bucket's website configuration could not be read; the cause is in the server's log.",
            )
        })?),
        None => None,
    };
    let form = website.as_ref().map(WebsiteForm::of).unwrap_or_default();
    show(&d, &who, bucket, form, website.is_some(), None)
}

/// Saves the form's configuration, or shows the page again with the refusal at its field.
pub(crate) async fn save(
    State(d): State<Dashboard>,
    PostedToBucket { who, bucket, form }: PostedToBucket<WebsiteForm>,
) -> Result<Response, Page> {
    who.allow(&d, Action::PutBucketWebsite, Some(&bucket), None, None)?;
    let website = match form.website() {
        Ok(w) => w,
        Err(refusal) => {
            let configured = d
                .store()
                .bucket(&bucket)
                .map_err(Page::store)?
                .website
                .is_some();
            return show(&d, &who, bucket, form, configured, Some(refusal));
        }
    };
    let json = serde_json::to_string(&website).map_err(|e| {
        Page::new(
            http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("The configuration could not be written: {e}"),
        )
    })?;
    update(&d, who.actor("website"), &bucket, Some(json)).await?;
    Ok(Redirect::to(&format!("/b/{bucket}/website")).into_response())
}

/// Removes the bucket's website configuration (`DeleteBucketWebsite`).
pub(crate) async fn remove(
    State(d): State<Dashboard>,
    PostedToBucket { who, bucket, .. }: PostedToBucket<Button>,
) -> Result<Response, Page> {
    who.allow(&d, Action::PutBucketWebsite, Some(&bucket), None, None)?;
    update(&d, who.actor("remove website"), &bucket, None).await?;
    Ok(Redirect::to(&format!("/b/{bucket}/website")).into_response())
}

async fn update(
    d: &Dashboard,
    actor: pier_store::Actor,
    bucket: &str,
    website: Option<String>,
) -> Result<(), Page> {
    let update = BucketUpdate {
        website: Some(website),
        ..Default::default()
    };
    save_settings(d, actor, bucket, update).await
}
