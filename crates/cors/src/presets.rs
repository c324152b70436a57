//! The quick choices of B2's bucket settings, as rules: don't share, share with every origin,
//! with every HTTPS origin, or with one origin; for downloads only, or downloads and uploads.
//! Each choice is an ordinary rule list (B2 dialect), so the dashboard can show exactly what a
//! choice creates before it is saved, and the CLI sets the same rules.

use crate::{parse, CorsConfig, Format};

/// Who a quick choice shares with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Audience {
    /// Any origin (`*`).
    Everyone,
    /// Any HTTPS origin (B2's `https`).
    AnyHttps,
    /// One origin, such as `https://www.example.com`.
    Origin(String),
}

/// What a quick choice allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharing {
    /// Downloads (B2 by name and id, S3 GET and HEAD).
    Downloads,
    /// Downloads, and uploads (B2 upload URLs, S3 PUT and POST with multipart).
    DownloadsAndUploads,
}

/// The rules a quick choice creates, as B2 JSON (`corsRules`).
pub fn rules_json(audience: &Audience, sharing: Sharing) -> String {
    let origins = match audience {
        Audience::Everyone => vec!["*".to_owned()],
        Audience::AnyHttps => vec!["https".to_owned()],
        Audience::Origin(o) => vec![o.clone()],
    };
    let suffix = match audience {
        Audience::Everyone => "AnyOrigin",
        Audience::AnyHttps => "AnyHttpsOrigin",
        Audience::Origin(_) => "Origin",
    };
    let mut rules = vec![serde_json::json!({
        "corsRuleName": format!("downloadFrom{suffix}"),
        "allowedOrigins": origins,
        "allowedOperations": ["b2_download_file_by_id", "b2_download_file_by_name", "s3_get", "s3_head"],
        "allowedHeaders": ["range"],
        "exposeHeaders": ["x-bz-content-sha1", "etag"],
        "maxAgeSeconds": 3600
    })];
    if sharing == Sharing::DownloadsAndUploads {
        rules.push(serde_json::json!({
            "corsRuleName": format!("uploadFrom{suffix}"),
            "allowedOrigins": origins,
            "allowedOperations": ["b2_upload_file", "b2_upload_part", "s3_put", "s3_post"],
            "allowedHeaders": ["authorization", "content-type", "x-bz-file-name", "x-bz-content-sha1",
                               "x-bz-info-*", "x-amz-*", "content-md5"],
            "exposeHeaders": ["etag", "x-amz-version-id", "x-bz-file-id", "x-bz-content-sha1"],
            "maxAgeSeconds": 3600
        }));
    }
    serde_json::to_string_pretty(&serde_json::Value::Array(rules)).expect("rules serialize")
}

/// The rules a quick choice creates, validated (an origin that is not a valid B2 origin is an
/// error naming it).
pub fn rules(audience: &Audience, sharing: Sharing) -> Result<CorsConfig, crate::ConfigError> {
    parse(&rules_json(audience, sharing), Format::B2Json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_choice_is_a_valid_rule_list() {
        for audience in [
            Audience::Everyone,
            Audience::AnyHttps,
            Audience::Origin("https://www.example.com".into()),
        ] {
            for sharing in [Sharing::Downloads, Sharing::DownloadsAndUploads] {
                let config = rules(&audience, sharing).unwrap();
                let n = if sharing == Sharing::Downloads { 1 } else { 2 };
                assert_eq!(config.rules().len(), n, "{audience:?} {sharing:?}");
            }
        }
    }

    #[test]
    fn a_bad_origin_is_refused_with_its_name() {
        let e = rules(
            &Audience::Origin("not an origin".into()),
            Sharing::Downloads,
        )
        .unwrap_err();
        assert!(e.to_string().contains("not an origin"), "{e}");
    }
}
