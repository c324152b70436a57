//! pier's S3 API: an [`s3s::S3`] implementation over [`pier_store::Store`].
//!
//! s3s parses requests, checks SigV4 (headers, presigned URLs, `aws-chunked` streams with
//! trailers) and writes S3's XML; this crate turns each operation into store calls and converts
//! types at the edge ([`convert`]), so the store never sees an s3s type.
//!
//! - [`PierS3`]: the operations (buckets, objects, multipart, listing).
//! - [`auth`]: secret lookup for s3s from the store's access keys, and access control.
//! - [`service`]: builds the s3s service with pier's host parsing.

mod acl;
mod attributes;
pub mod auth;
mod body;
mod bucket_encryption;
mod bucket_policy;
pub mod bucket_settings;
mod buckets;
mod checksum;
pub mod convert;
pub mod endpoint;
mod entry;
mod error;
pub mod explain_route;
pub mod fault;
pub mod hosts;
mod lifecycle;
mod list;
mod multipart;
mod notifications;
mod object_lock;
mod objects;
pub mod post_form;
mod public_block;
pub mod service;
pub mod sse;
mod tagging;
pub mod topics;
mod unconfigured;
mod versions;
mod website;

pub use error::s3_error;

use pier_store::Store;
use s3s::dto::*;
use s3s::{S3Request, S3Response, S3Result, S3};

/// The S3 operations over a store.
#[derive(Clone, Debug)]
pub struct PierS3 {
    store: Store,
    /// Filters ListBuckets to the buckets the caller's key reaches.
    access: pier_edge::access::Access,
    /// The server's region (GetBucketLocation, CreateBucket's location constraint).
    region: String,
}

impl PierS3 {
    /// Serves `store` in `region`, with access decided by `access`.
    pub fn new(store: Store, access: pier_edge::access::Access, region: String) -> Self {
        PierS3 {
            store,
            access,
            region,
        }
    }

    /// The account of the key that signed `req`; an unsigned request has none
    /// (`AccessDenied`; the access check refuses it before this).
    fn account<T>(&self, req: &S3Request<T>) -> S3Result<String> {
        let key = match &req.credentials {
            Some(c) => self.store.key(&c.access_key).map_err(s3_error)?,
            None => None,
        };
        key.map(|k| k.account.clone())
            .ok_or_else(|| auth::refusal("this needs a signed request"))
    }
}

impl PierS3 {
    /// Who a request acts as, for the audit log: its key and account, the S3 operation the
    /// front parsed, the client's address.
    fn actor<T>(&self, req: &S3Request<T>) -> pier_store::Actor {
        let op = req
            .extensions
            .get::<endpoint::S3Endpoint>()
            .map_or("unknown", |e| e.op.name());
        let addr = req
            .extensions
            .get::<pier_edge::access::ClientAddr>()
            .map(|c| c.0);
        let actor = pier_store::Actor::new(format!("s3:{op}")).from_addr(addr);
        match &req.credentials {
            Some(c) => {
                let account = self
                    .store
                    .key(&c.access_key)
                    .ok()
                    .flatten()
                    .map(|k| k.account.clone())
                    .unwrap_or_default();
                actor.by(c.access_key.clone(), account)
            }
            None => actor,
        }
    }
}

#[async_trait::async_trait]
impl S3 for PierS3 {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let account = self.account(&req)?;
        buckets::create(
            &self.store,
            self.actor(&req),
            &account,
            &self.region,
            req.input,
        )
        .await
        .map(S3Response::new)
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        buckets::head(&self.store, req.input).map(S3Response::new)
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        buckets::delete(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let key = match &req.credentials {
            Some(c) => self.store.key(&c.access_key).map_err(s3_error)?,
            None => None,
        };
        let scope = key.map(|k| self.access.scope(&k));
        buckets::list(&self.store, scope.as_ref(), &req.input).map(S3Response::new)
    }

    async fn get_bucket_request_payment(
        &self,
        req: S3Request<GetBucketRequestPaymentInput>,
    ) -> S3Result<S3Response<GetBucketRequestPaymentOutput>> {
        unconfigured::request_payment(&self.store, &req.input.bucket).map(S3Response::new)
    }

    async fn get_bucket_accelerate_configuration(
        &self,
        req: S3Request<GetBucketAccelerateConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketAccelerateConfigurationOutput>> {
        unconfigured::accelerate(&self.store, &req.input.bucket).map(S3Response::new)
    }

    async fn get_bucket_logging(
        &self,
        req: S3Request<GetBucketLoggingInput>,
    ) -> S3Result<S3Response<GetBucketLoggingOutput>> {
        unconfigured::logging(&self.store, &req.input.bucket).map(S3Response::new)
    }

    async fn get_bucket_notification_configuration(
        &self,
        req: S3Request<GetBucketNotificationConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketNotificationConfigurationOutput>> {
        notifications::get(&self.store, req.input).map(S3Response::new)
    }

    async fn put_bucket_notification_configuration(
        &self,
        req: S3Request<PutBucketNotificationConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketNotificationConfigurationOutput>> {
        notifications::put(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn list_bucket_analytics_configurations(
        &self,
        req: S3Request<ListBucketAnalyticsConfigurationsInput>,
    ) -> S3Result<S3Response<ListBucketAnalyticsConfigurationsOutput>> {
        unconfigured::empty_list(&self.store, &req.input.bucket)?;
        Ok(S3Response::new(ListBucketAnalyticsConfigurationsOutput {
            is_truncated: Some(false),
            ..Default::default()
        }))
    }

    async fn get_bucket_analytics_configuration(
        &self,
        req: S3Request<GetBucketAnalyticsConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketAnalyticsConfigurationOutput>> {
        unconfigured::no_configuration(&self.store, &req.input.bucket)?;
        Ok(S3Response::new(
            GetBucketAnalyticsConfigurationOutput::default(),
        ))
    }

    async fn list_bucket_metrics_configurations(
        &self,
        req: S3Request<ListBucketMetricsConfigurationsInput>,
    ) -> S3Result<S3Response<ListBucketMetricsConfigurationsOutput>> {
        unconfigured::empty_list(&self.store, &req.input.bucket)?;
        Ok(S3Response::new(ListBucketMetricsConfigurationsOutput {
            is_truncated: Some(false),
            ..Default::default()
        }))
    }

    async fn get_bucket_metrics_configuration(
        &self,
        req: S3Request<GetBucketMetricsConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketMetricsConfigurationOutput>> {
        unconfigured::no_configuration(&self.store, &req.input.bucket)?;
        Ok(S3Response::new(
            GetBucketMetricsConfigurationOutput::default(),
        ))
    }

    async fn list_bucket_intelligent_tiering_configurations(
        &self,
        req: S3Request<ListBucketIntelligentTieringConfigurationsInput>,
    ) -> S3Result<S3Response<ListBucketIntelligentTieringConfigurationsOutput>> {
        unconfigured::empty_list(&self.store, &req.input.bucket)?;
        Ok(S3Response::new(
            ListBucketIntelligentTieringConfigurationsOutput {
                is_truncated: Some(false),
                ..Default::default()
            },
        ))
    }

    async fn get_bucket_intelligent_tiering_configuration(
        &self,
        req: S3Request<GetBucketIntelligentTieringConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketIntelligentTieringConfigurationOutput>> {
        unconfigured::no_configuration(&self.store, &req.input.bucket)?;
        Ok(S3Response::new(
            GetBucketIntelligentTieringConfigurationOutput::default(),
        ))
    }

    async fn list_bucket_inventory_configurations(
        &self,
        req: S3Request<ListBucketInventoryConfigurationsInput>,
    ) -> S3Result<S3Response<ListBucketInventoryConfigurationsOutput>> {
        unconfigured::empty_list(&self.store, &req.input.bucket)?;
        Ok(S3Response::new(ListBucketInventoryConfigurationsOutput {
            is_truncated: Some(false),
            ..Default::default()
        }))
    }

    async fn get_bucket_inventory_configuration(
        &self,
        req: S3Request<GetBucketInventoryConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketInventoryConfigurationOutput>> {
        unconfigured::no_configuration(&self.store, &req.input.bucket)?;
        Ok(S3Response::new(
            GetBucketInventoryConfigurationOutput::default(),
        ))
    }

    async fn get_bucket_replication(
        &self,
        req: S3Request<GetBucketReplicationInput>,
    ) -> S3Result<S3Response<GetBucketReplicationOutput>> {
        unconfigured::replication(&self.store, &req.input.bucket).map(S3Response::new)
    }

    async fn get_bucket_encryption(
        &self,
        req: S3Request<GetBucketEncryptionInput>,
    ) -> S3Result<S3Response<GetBucketEncryptionOutput>> {
        bucket_encryption::get(&self.store, req.input).map(S3Response::new)
    }

    async fn put_bucket_encryption(
        &self,
        req: S3Request<PutBucketEncryptionInput>,
    ) -> S3Result<S3Response<PutBucketEncryptionOutput>> {
        bucket_encryption::put(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn delete_bucket_encryption(
        &self,
        req: S3Request<DeleteBucketEncryptionInput>,
    ) -> S3Result<S3Response<DeleteBucketEncryptionOutput>> {
        bucket_encryption::delete(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn get_bucket_website(
        &self,
        req: S3Request<GetBucketWebsiteInput>,
    ) -> S3Result<S3Response<GetBucketWebsiteOutput>> {
        website::get(&self.store, req.input).map(S3Response::new)
    }

    async fn put_bucket_website(
        &self,
        req: S3Request<PutBucketWebsiteInput>,
    ) -> S3Result<S3Response<PutBucketWebsiteOutput>> {
        website::put(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn delete_bucket_website(
        &self,
        req: S3Request<DeleteBucketWebsiteInput>,
    ) -> S3Result<S3Response<DeleteBucketWebsiteOutput>> {
        website::delete(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        buckets::location(&self.store, &self.region, req.input).map(S3Response::new)
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        objects::put(&self.store, req).await.map(S3Response::new)
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let keys_allowed = sse::keys_allowed(&req.extensions);
        sse::no_encryption_on_reads(&req.headers)?;
        objects::get(&self.store, req.input, keys_allowed)
            .await
            .map(S3Response::new)
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let keys_allowed = sse::keys_allowed(&req.extensions);
        sse::no_encryption_on_reads(&req.headers)?;
        objects::head(&self.store, req.input, keys_allowed)
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        objects::delete(&self.store, req.input)
            .await
            .map(S3Response::new)
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        objects::delete_many(&self.store, req.input)
            .await
            .map(S3Response::new)
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let keys_allowed = sse::keys_allowed(&req.extensions);
        objects::copy(&self.store, req.input, keys_allowed)
            .await
            .map(S3Response::new)
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        list::objects_v1(&self.store, req.input).map(S3Response::new)
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        list::objects_v2(&self.store, req.input).map(S3Response::new)
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let keys_allowed = sse::keys_allowed(&req.extensions);
        multipart::create(&self.store, req.input, keys_allowed)
            .await
            .map(S3Response::new)
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        multipart::upload_part(&self.store, req)
            .await
            .map(S3Response::new)
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let keys_allowed = sse::keys_allowed(&req.extensions);
        multipart::upload_part_copy(&self.store, req.input, keys_allowed)
            .await
            .map(S3Response::new)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let keys_allowed = sse::keys_allowed(&req.extensions);
        multipart::complete(&self.store, req.input, keys_allowed).await
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        multipart::abort(&self.store, req.input)
            .await
            .map(S3Response::new)
    }

    async fn list_parts(
        &self,
        req: S3Request<ListPartsInput>,
    ) -> S3Result<S3Response<ListPartsOutput>> {
        multipart::list_parts(&self.store, req.input).map(S3Response::new)
    }

    async fn put_bucket_cors(
        &self,
        req: S3Request<PutBucketCorsInput>,
    ) -> S3Result<S3Response<PutBucketCorsOutput>> {
        bucket_settings::put_cors(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn get_bucket_cors(
        &self,
        req: S3Request<GetBucketCorsInput>,
    ) -> S3Result<S3Response<GetBucketCorsOutput>> {
        bucket_settings::get_cors(&self.store, req.input).map(S3Response::new)
    }

    async fn delete_bucket_cors(
        &self,
        req: S3Request<DeleteBucketCorsInput>,
    ) -> S3Result<S3Response<DeleteBucketCorsOutput>> {
        bucket_settings::delete_cors(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn put_bucket_acl(
        &self,
        req: S3Request<PutBucketAclInput>,
    ) -> S3Result<S3Response<PutBucketAclOutput>> {
        acl::put_bucket(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn put_bucket_policy(
        &self,
        req: S3Request<PutBucketPolicyInput>,
    ) -> S3Result<S3Response<PutBucketPolicyOutput>> {
        bucket_policy::put(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn get_bucket_policy(
        &self,
        req: S3Request<GetBucketPolicyInput>,
    ) -> S3Result<S3Response<GetBucketPolicyOutput>> {
        bucket_policy::get(&self.store, req.input).map(S3Response::new)
    }

    async fn delete_bucket_policy(
        &self,
        req: S3Request<DeleteBucketPolicyInput>,
    ) -> S3Result<S3Response<DeleteBucketPolicyOutput>> {
        bucket_policy::delete(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn get_bucket_policy_status(
        &self,
        req: S3Request<GetBucketPolicyStatusInput>,
    ) -> S3Result<S3Response<GetBucketPolicyStatusOutput>> {
        bucket_policy::status(&self.store, req.input).map(S3Response::new)
    }

    async fn get_bucket_acl(
        &self,
        req: S3Request<GetBucketAclInput>,
    ) -> S3Result<S3Response<GetBucketAclOutput>> {
        acl::get_bucket(&self.store, req.input).map(S3Response::new)
    }

    async fn put_bucket_versioning(
        &self,
        req: S3Request<PutBucketVersioningInput>,
    ) -> S3Result<S3Response<PutBucketVersioningOutput>> {
        versions::put_versioning(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn get_bucket_versioning(
        &self,
        req: S3Request<GetBucketVersioningInput>,
    ) -> S3Result<S3Response<GetBucketVersioningOutput>> {
        versions::get_versioning(&self.store, req.input).map(S3Response::new)
    }

    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        versions::list_versions(&self.store, req.input).map(S3Response::new)
    }

    async fn put_bucket_lifecycle_configuration(
        &self,
        req: S3Request<PutBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
        lifecycle::put(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn get_bucket_lifecycle_configuration(
        &self,
        req: S3Request<GetBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
        lifecycle::get(&self.store, req.input).map(S3Response::new)
    }

    async fn delete_bucket_lifecycle(
        &self,
        req: S3Request<DeleteBucketLifecycleInput>,
    ) -> S3Result<S3Response<DeleteBucketLifecycleOutput>> {
        lifecycle::delete(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn put_object_tagging(
        &self,
        req: S3Request<PutObjectTaggingInput>,
    ) -> S3Result<S3Response<PutObjectTaggingOutput>> {
        tagging::put_object(&self.store, req.input)
            .await
            .map(S3Response::new)
    }

    async fn get_object_tagging(
        &self,
        req: S3Request<GetObjectTaggingInput>,
    ) -> S3Result<S3Response<GetObjectTaggingOutput>> {
        tagging::get_object(&self.store, req.input).map(S3Response::new)
    }

    async fn delete_object_tagging(
        &self,
        req: S3Request<DeleteObjectTaggingInput>,
    ) -> S3Result<S3Response<DeleteObjectTaggingOutput>> {
        tagging::delete_object(&self.store, req.input)
            .await
            .map(S3Response::new)
    }

    async fn put_bucket_tagging(
        &self,
        req: S3Request<PutBucketTaggingInput>,
    ) -> S3Result<S3Response<PutBucketTaggingOutput>> {
        tagging::put_bucket(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn get_bucket_tagging(
        &self,
        req: S3Request<GetBucketTaggingInput>,
    ) -> S3Result<S3Response<GetBucketTaggingOutput>> {
        tagging::get_bucket(&self.store, req.input).map(S3Response::new)
    }

    async fn delete_bucket_tagging(
        &self,
        req: S3Request<DeleteBucketTaggingInput>,
    ) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
        tagging::delete_bucket(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn put_public_access_block(
        &self,
        req: S3Request<PutPublicAccessBlockInput>,
    ) -> S3Result<S3Response<PutPublicAccessBlockOutput>> {
        public_block::put(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn get_public_access_block(
        &self,
        req: S3Request<GetPublicAccessBlockInput>,
    ) -> S3Result<S3Response<GetPublicAccessBlockOutput>> {
        public_block::get(&self.store, req.input).map(S3Response::new)
    }

    async fn delete_public_access_block(
        &self,
        req: S3Request<DeletePublicAccessBlockInput>,
    ) -> S3Result<S3Response<DeletePublicAccessBlockOutput>> {
        public_block::delete(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn put_object_acl(
        &self,
        req: S3Request<PutObjectAclInput>,
    ) -> S3Result<S3Response<PutObjectAclOutput>> {
        acl::put_object(&self.store, req.input)
            .await
            .map(S3Response::new)
    }

    async fn get_object_acl(
        &self,
        req: S3Request<GetObjectAclInput>,
    ) -> S3Result<S3Response<GetObjectAclOutput>> {
        acl::get_object(&self.store, req.input).map(S3Response::new)
    }

    async fn put_bucket_ownership_controls(
        &self,
        req: S3Request<PutBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<PutBucketOwnershipControlsOutput>> {
        acl::put_ownership(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn get_bucket_ownership_controls(
        &self,
        req: S3Request<GetBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<GetBucketOwnershipControlsOutput>> {
        acl::get_ownership(&self.store, req.input).map(S3Response::new)
    }

    async fn delete_bucket_ownership_controls(
        &self,
        req: S3Request<DeleteBucketOwnershipControlsInput>,
    ) -> S3Result<S3Response<DeleteBucketOwnershipControlsOutput>> {
        acl::delete_ownership(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn get_object_attributes(
        &self,
        req: S3Request<GetObjectAttributesInput>,
    ) -> S3Result<S3Response<GetObjectAttributesOutput>> {
        let keys_allowed = sse::keys_allowed(&req.extensions);
        attributes::get(&self.store, req.input, keys_allowed).map(S3Response::new)
    }

    async fn put_object_lock_configuration(
        &self,
        req: S3Request<PutObjectLockConfigurationInput>,
    ) -> S3Result<S3Response<PutObjectLockConfigurationOutput>> {
        object_lock::put_configuration(&self.store, self.actor(&req), req.input)
            .await
            .map(S3Response::new)
    }

    async fn get_object_lock_configuration(
        &self,
        req: S3Request<GetObjectLockConfigurationInput>,
    ) -> S3Result<S3Response<GetObjectLockConfigurationOutput>> {
        object_lock::get_configuration(&self.store, req.input).map(S3Response::new)
    }

    async fn put_object_retention(
        &self,
        req: S3Request<PutObjectRetentionInput>,
    ) -> S3Result<S3Response<PutObjectRetentionOutput>> {
        object_lock::put_retention(&self.store, req.input)
            .await
            .map(S3Response::new)
    }

    async fn get_object_retention(
        &self,
        req: S3Request<GetObjectRetentionInput>,
    ) -> S3Result<S3Response<GetObjectRetentionOutput>> {
        object_lock::get_retention(&self.store, req.input).map(S3Response::new)
    }

    async fn put_object_legal_hold(
        &self,
        req: S3Request<PutObjectLegalHoldInput>,
    ) -> S3Result<S3Response<PutObjectLegalHoldOutput>> {
        object_lock::put_legal_hold(&self.store, req.input)
            .await
            .map(S3Response::new)
    }

    async fn get_object_legal_hold(
        &self,
        req: S3Request<GetObjectLegalHoldInput>,
    ) -> S3Result<S3Response<GetObjectLegalHoldOutput>> {
        object_lock::get_legal_hold(&self.store, req.input).map(S3Response::new)
    }

    async fn list_multipart_uploads(
        &self,
        req: S3Request<ListMultipartUploadsInput>,
    ) -> S3Result<S3Response<ListMultipartUploadsOutput>> {
        multipart::list_uploads(&self.store, req.input).map(S3Response::new)
    }
}
