//! What a handler is given beyond [`Signed`]: [`InBucket`], the caller on one bucket's route,
//! and [`Posted`] and [`PostedToBucket`], a state-changing form whose CSRF token is checked
//! before the handler runs, so no form handler can forget the check and no form type carries
//! the token.

use crate::auth::{check_csrf, Page, Signed};
use crate::Dashboard;
use axum::extract::{FromRequest, FromRequestParts, Path, RawForm, Request};
use http::request::Parts;
use http::StatusCode;
use serde::de::DeserializeOwned;

/// The signed-in caller on a route whose one path parameter is a bucket's name
/// (`/b/{bucket}/...`). Extracting it decides nothing about the bucket: the handler asks
/// [`Signed::allow`] or [`Signed::bucket`] for what it does.
pub(crate) struct InBucket {
    /// The signed-in caller.
    pub(crate) who: Signed,
    /// The bucket's name, as the path gives it.
    pub(crate) bucket: String,
}

/// A form posted by the signed-in caller: `who` is the caller, `form` the body read as `T`.
/// Extracting it refuses (403) a body whose `csrf` field is not the session's token, and
/// (400) a body that does not read as `T`.
pub(crate) struct Posted<T> {
    /// The signed-in caller.
    pub(crate) who: Signed,
    /// The form's fields (its `csrf` field already checked and not needed in `T`).
    pub(crate) form: T,
}

/// A [`Posted`] form sent to one bucket's route, as [`InBucket`].
pub(crate) struct PostedToBucket<T> {
    /// The signed-in caller.
    pub(crate) who: Signed,
    /// The bucket's name, as the path gives it.
    pub(crate) bucket: String,
    /// The form's fields, as [`Posted::form`].
    pub(crate) form: T,
}

impl FromRequestParts<Dashboard> for InBucket {
    type Rejection = Page;

    async fn from_request_parts(parts: &mut Parts, d: &Dashboard) -> Result<InBucket, Page> {
        let who = Signed::from_request_parts(parts, d).await?;
        let Path(bucket) = Path::<String>::from_request_parts(parts, d)
            .await
            .map_err(|e| Page::new(e.status(), e.body_text()))?;
        Ok(InBucket { who, bucket })
    }
}

impl<T: DeserializeOwned> FromRequest<Dashboard> for Posted<T> {
    type Rejection = Page;

    async fn from_request(req: Request, d: &Dashboard) -> Result<Posted<T>, Page> {
        let (mut parts, body) = req.into_parts();
        let who = Signed::from_request_parts(&mut parts, d).await?;
        let form = checked_form(&who, Request::from_parts(parts, body), d).await?;
        Ok(Posted { who, form })
    }
}

impl<T: DeserializeOwned> FromRequest<Dashboard> for PostedToBucket<T> {
    type Rejection = Page;

    async fn from_request(req: Request, d: &Dashboard) -> Result<PostedToBucket<T>, Page> {
        let (mut parts, body) = req.into_parts();
        let InBucket { who, bucket } = InBucket::from_request_parts(&mut parts, d).await?;
        let form = checked_form(&who, Request::from_parts(parts, body), d).await?;
        Ok(PostedToBucket { who, bucket, form })
    }
}

/// The request's form body read as `T`, once its `csrf` field is found to be `who`'s token.
async fn checked_form<T: DeserializeOwned>(
    who: &Signed,
    req: Request,
    d: &Dashboard,
) -> Result<T, Page> {
    let RawForm(raw) = RawForm::from_request(req, d)
        .await
        .map_err(|e| Page::new(e.status(), e.body_text()))?;
    let token = form_urlencoded::parse(&raw).find(|(name, _)| name == "csrf");
    check_csrf(&who.session, token.as_ref().map(|(_, t)| t.as_ref()))?;
    serde_urlencoded::from_bytes(&raw).map_err(|e| {
        Page::new(
            StatusCode::BAD_REQUEST,
            format!("The form did not read: {e}."),
        )
    })
}
