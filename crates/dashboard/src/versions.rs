//! An object's versions in the browser (their lock state is `views::lock_state`): per version a
//! download (a presigned link to that version), a restore (a copy of it made current), a
//! delete (for good, refused by object lock with the engine's message); a delete marker's
//! removal brings the key back.

use crate::auth::Page;
use crate::buckets::blocking;
use crate::extract::PostedToBucket;
use crate::Dashboard;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use http::{HeaderMap, StatusCode};
use pier_access::Action;
use pier_store::{VersionRef, WriteCondition};
use serde::Deserialize;

#[derive(Deserialize)]
pub(crate) struct VersionForm {
    key: String,
    version: String,
    action: String,
}

/// `download`, `restore` or `delete` one version of a key.
pub(crate) async fn action(
    State(d): State<Dashboard>,
    headers: HeaderMap,
    uri: http::Uri,
    PostedToBucket { who, bucket, form }: PostedToBucket<VersionForm>,
) -> Result<Response, Page> {
    let b = d.store().bucket(&bucket).map_err(Page::store)?;
    let which = VersionRef::parse(&form.version);
    let back = format!(
        "/b/{bucket}/object?key={}",
        pier_edge::percent::encode(&form.key, pier_edge::percent::UNRESERVED)
    );
    let allow = |action| who.allow(&d, action, Some(&bucket), Some(&form.key), None);
    match form.action.as_str() {
        "download" => {
            allow(Action::GetObjectVersion)?;
            let url = crate::objects::presigned_get(
                &d,
                &who,
                (&headers, &uri),
                (&bucket, &form.key),
                vec![("versionId".into(), form.version.clone())],
                300,
            )?;
            Ok(Redirect::to(&url).into_response())
        }
        "restore" => {
            allow(Action::GetObjectVersion)?;
            allow(Action::PutObject)?;
            let (store, id, key) = (d.store().clone(), b.id.clone(), form.key.clone());
            blocking(move || {
                let source = store.read_version(&id, &key, &which).map_err(Page::store)?;
                if source.object.marker {
                    return Err(Page::new(
                        StatusCode::BAD_REQUEST,
                        "A delete marker has no bytes to restore.",
                    ));
                }
                // The copy shares the version's bytes, its metadata and its encryption; it
                // takes no lock of its own but the bucket's default.
                let mut meta = source.object.meta.clone();
                (meta.retention, meta.legal_hold) = (None, false);
                store
                    .copy_object(&source.object, &id, &key, meta, WriteCondition::None)
                    .map_err(Page::store)
            })
            .await?;
            Ok(Redirect::to(&back).into_response())
        }
        "delete" => {
            allow(Action::DeleteObjectVersion)?;
            let (store, id, key) = (d.store().clone(), b.id.clone(), form.key.clone());
            blocking(move || {
                store
                    .delete_version(&id, &key, which, false)
                    .map_err(|e| match e {
                        pier_store::DeleteError::ObjectLocked(why) => Page::new(
                            StatusCode::FORBIDDEN,
                            format!("The version was not deleted: {why}."),
                        ),
                        other => Page::store(other),
                    })
            })
            .await?;
            Ok(Redirect::to(&back).into_response())
        }
        other => Err(Page::new(
            StatusCode::BAD_REQUEST,
            format!("No such action: {other:?}."),
        )),
    }
}
