//! B2 call names of a request, for metrics and the access log (S3's operations name themselves:
//! `pier_s3::endpoint::S3Operation::name`).

use pier_b2::{B2Call, JsonCall};

/// The B2 call name of a parsed B2 request (`b2_unknown` when it did not parse).
pub fn b2_operation(call: Option<&B2Call>) -> &'static str {
    let Some(call) = call else {
        return "b2_unknown";
    };
    match call {
        B2Call::DownloadByName { .. } => "b2_download_file_by_name",
        B2Call::DownloadById { .. } | B2Call::Json(JsonCall::DownloadFileById) => {
            "b2_download_file_by_id"
        }
        B2Call::UploadFile { .. } => "b2_upload_file",
        B2Call::UploadPart { .. } => "b2_upload_part",
        B2Call::Authorize => "b2_authorize_account",
        B2Call::Json(op) => op.name(),
    }
}
