//! The operations a CORS rule can allow: B2's native operations and one S3 operation per HTTP
//! method (`s3_get` ⇔ S3 `AllowedMethod GET`).

use std::fmt;

/// One operation a rule can allow. S3 and R2 rules only ever hold the `S3*` variants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operation {
    /// `b2_download_file_by_name`: `GET`/`HEAD`/`POST` on `/file/BUCKET/NAME`.
    B2DownloadFileByName,
    /// `b2_download_file_by_id`: `GET`/`HEAD`/`POST` on `/b2api/vN/b2_download_file_by_id`.
    B2DownloadFileById,
    /// `b2_upload_file`: `POST` to an upload URL.
    B2UploadFile,
    /// `b2_upload_part`: `POST` to a large-file part upload URL.
    B2UploadPart,
    /// `s3_get`: any S3 request with method `GET`.
    S3Get,
    /// `s3_head`: any S3 request with method `HEAD`.
    S3Head,
    /// `s3_put`: any S3 request with method `PUT`.
    S3Put,
    /// `s3_post`: any S3 request with method `POST`.
    S3Post,
    /// `s3_delete`: any S3 request with method `DELETE`.
    S3Delete,
}

impl Operation {
    /// Every operation, in B2's documentation order.
    pub const ALL: [Operation; 9] = [
        Operation::B2DownloadFileByName,
        Operation::B2DownloadFileById,
        Operation::B2UploadFile,
        Operation::B2UploadPart,
        Operation::S3Get,
        Operation::S3Head,
        Operation::S3Put,
        Operation::S3Post,
        Operation::S3Delete,
    ];

    /// The name B2's `allowedOperations` uses, e.g. `b2_upload_file` or `s3_put`.
    pub fn b2_name(self) -> &'static str {
        match self {
            Operation::B2DownloadFileByName => "b2_download_file_by_name",
            Operation::B2DownloadFileById => "b2_download_file_by_id",
            Operation::B2UploadFile => "b2_upload_file",
            Operation::B2UploadPart => "b2_upload_part",
            Operation::S3Get => "s3_get",
            Operation::S3Head => "s3_head",
            Operation::S3Put => "s3_put",
            Operation::S3Post => "s3_post",
            Operation::S3Delete => "s3_delete",
        }
    }

    /// Parses a B2 `allowedOperations` entry (exact, lower case).
    pub fn from_b2_name(name: &str) -> Option<Operation> {
        Operation::ALL.into_iter().find(|op| op.b2_name() == name)
    }

    /// The HTTP method of an S3 operation (`S3Get` → `GET`); `None` for B2 native operations.
    pub fn s3_method(self) -> Option<&'static str> {
        match self {
            Operation::S3Get => Some("GET"),
            Operation::S3Head => Some("HEAD"),
            Operation::S3Put => Some("PUT"),
            Operation::S3Post => Some("POST"),
            Operation::S3Delete => Some("DELETE"),
            _ => None,
        }
    }

    /// The S3 operation for an `AllowedMethod` value. Exact and case-sensitive, like S3's five
    /// methods: `get` is not `GET`.
    pub fn from_s3_method(method: &str) -> Option<Operation> {
        match method {
            "GET" => Some(Operation::S3Get),
            "HEAD" => Some(Operation::S3Head),
            "PUT" => Some(Operation::S3Put),
            "POST" => Some(Operation::S3Post),
            "DELETE" => Some(Operation::S3Delete),
            _ => None,
        }
    }

    /// True for the four B2 native operations, which S3 and R2 rules cannot express.
    pub fn is_b2_native(self) -> bool {
        self.s3_method().is_none()
    }

    /// The HTTP methods a browser uses for this operation, as listed in
    /// `Access-Control-Allow-Methods`.
    pub fn http_methods(self) -> &'static [&'static str] {
        match self {
            Operation::B2DownloadFileByName | Operation::B2DownloadFileById => &["GET", "HEAD"],
            Operation::B2UploadFile | Operation::B2UploadPart => &["POST"],
            Operation::S3Get => &["GET"],
            Operation::S3Head => &["HEAD"],
            Operation::S3Put => &["PUT"],
            Operation::S3Post => &["POST"],
            Operation::S3Delete => &["DELETE"],
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.b2_name())
    }
}

/// A set of operations, one bit each: membership is a single AND on the hot path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct OperationSet(u16);

impl OperationSet {
    /// Adds `op` to the set.
    pub fn insert(&mut self, op: Operation) {
        self.0 |= op.bit();
    }

    /// True when `op` is in the set.
    pub fn contains(self, op: Operation) -> bool {
        self.0 & op.bit() != 0
    }

    /// True when every operation of `other` is in this set.
    pub fn is_superset(self, other: OperationSet) -> bool {
        self.0 & other.0 == other.0
    }

    /// The operations in the set, in [`Operation::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Operation> {
        Operation::ALL
            .into_iter()
            .filter(move |op| self.contains(*op))
    }
}

impl FromIterator<Operation> for OperationSet {
    fn from_iter<I: IntoIterator<Item = Operation>>(iter: I) -> Self {
        let mut set = OperationSet::default();
        for op in iter {
            set.insert(op);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for op in Operation::ALL {
            assert_eq!(Operation::from_b2_name(op.b2_name()), Some(op));
            if let Some(m) = op.s3_method() {
                assert_eq!(Operation::from_s3_method(m), Some(op));
            }
        }
        assert_eq!(Operation::from_b2_name("B2_download_file_by_name"), None);
        assert_eq!(Operation::from_s3_method("get"), None);
        assert_eq!(Operation::from_s3_method("OPTIONS"), None);
    }

    #[test]
    fn set_membership() {
        let set: OperationSet = [Operation::S3Get, Operation::B2UploadPart]
            .into_iter()
            .collect();
        assert!(set.contains(Operation::S3Get));
        assert!(!set.contains(Operation::S3Head));
        assert_eq!(set.iter().count(), 2);
        assert!(set.is_superset([Operation::S3Get].into_iter().collect()));
        assert!(!set.is_superset([Operation::S3Put].into_iter().collect()));
    }
}
