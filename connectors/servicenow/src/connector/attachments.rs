//! The files attached to a record, through the Attachment API: `GET /api/now/attachment` (the
//! `sys_attachment` rows whose `table_name` and `table_sys_id` are the record's), the content from
//! `GET /api/now/attachment/{sys_id}/file`, and uploads with `POST /api/now/attachment/file?table_name=
//! &table_sys_id=&file_name=` whose body is the file itself, sent with its own `Content-Type`.
//!
//! ServiceNow reports `size_bytes` (a string) and a `hash` of the content: SHA-256 in recent releases
//! (64 hex digits), MD5 in older ones, which is not passed on.

use serde::Deserialize;
use twotrack_api::ConnectorError;
use twotrack_api::connector::{Attachment, Download, is_sha256_hex};
use twotrack_api::http::{Idempotency, Method};

use super::{SMALL_PAGE, ServiceNowConnector};
use crate::dto::Value;
use crate::query;

/// The Attachment API's collection.
const ATTACHMENTS: &str = "/api/now/attachment";

/// `{"result": ...}`.
#[derive(Debug, Deserialize)]
struct Answer<T> {
    result: T,
}

/// A `sys_attachment` row as the Attachment API shows it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AttachmentRow {
    sys_id: Value,
    file_name: Value,
    content_type: Value,
    size_bytes: Value,
    hash: Value,
    sys_created_on: Value,
    sys_created_by: Value,
    download_link: Value,
}

impl ServiceNowConnector {
    /// The attachments of the record numbered `key`, oldest first.
    pub(super) async fn list_attachments(&self, key: &str) -> Result<Vec<Attachment>, ConnectorError> {
        let home = self.home(key).await?;
        let query = format!(
            "table_name={}^table_sys_id={}^ORDERBYsys_created_on",
            self.literal("table", &home.table)?,
            self.literal("sys_id", &home.sys_id)?
        );
        let mut out = Vec::new();
        loop {
            let (limit, offset) = (SMALL_PAGE.to_string(), out.len().to_string());
            let params = [("sysparm_query", query.as_str()), ("sysparm_limit", &limit), ("sysparm_offset", &offset)];
            let page: Answer<Vec<AttachmentRow>> = self.client.http.get_json(ATTACHMENTS, &params).await?.body;
            let full = page.result.len() >= SMALL_PAGE as usize;
            out.extend(page.result.into_iter().map(attachment));
            if !full {
                return Ok(out);
            }
        }
    }

    /// The content of one attachment, up to `limit` bytes.
    pub(super) async fn download_attachment(&self, file: &Attachment, limit: u64) -> Result<Download, ConnectorError> {
        let path = format!("{ATTACHMENTS}/{}/file", self.attachment_id(&file.id)?);
        Ok(self.client.http.get_bytes(&path, &[], limit).await?.body.into())
    }

    /// Upload one file to the record numbered `key`.
    pub(super) async fn upload_attachment(
        &self,
        key: &str,
        file_name: &str,
        mime_type: &str,
        content: Vec<u8>,
    ) -> Result<Attachment, ConnectorError> {
        let home = self.home(key).await?;
        let params = [("table_name", home.table.as_str()), ("table_sys_id", &home.sys_id), ("file_name", file_name)];
        let mime = if mime_type.trim().is_empty() { "application/octet-stream" } else { mime_type };
        let path = format!("{ATTACHMENTS}/file");
        let answer: Answer<AttachmentRow> = self
            .client
            .http
            .send_bytes(Method::POST, &path, &params, mime, content.into(), &[], Idempotency::NonIdempotent)
            .await?
            .body;
        Ok(attachment(answer.result))
    }

    /// An attachment's sys_id, checked so that it cannot change the request path.
    fn attachment_id<'a>(&self, id: &'a str) -> Result<&'a str, ConnectorError> {
        match !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric()) {
            true => Ok(id),
            false => Err(self.invalid(format!("{id:?} is not a sys_attachment sys_id"))),
        }
    }
}

fn attachment(row: AttachmentRow) -> Attachment {
    let text = |v: Value| Some(v.value).filter(|s| !s.trim().is_empty());
    let hash = row.hash.value.trim().to_ascii_lowercase();
    Attachment {
        id: row.sys_id.value,
        file_name: row.file_name.value,
        size: row.size_bytes.value.trim().parse().unwrap_or(0),
        mime_type: text(row.content_type),
        created: query::parse_time(&row.sys_created_on.value),
        author: text(row.sys_created_by),
        sha256: is_sha256_hex(&hash).then_some(hash),
        url: text(row.download_link),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_gives_size_and_only_a_sha256_hash() {
        let sha = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
        let row: AttachmentRow = serde_json::from_value(serde_json::json!({
            "sys_id": "a1", "file_name": "dump.log", "content_type": "text/plain", "size_bytes": "4",
            "hash": sha, "sys_created_on": "2024-01-15 10:30:00", "sys_created_by": "admin",
            "download_link": "https://x.service-now.com/api/now/attachment/a1/file"
        }))
        .unwrap();
        let a = attachment(row);
        assert_eq!((a.size, a.sha256.as_deref()), (4, Some(sha.to_ascii_lowercase().as_str())));
        assert_eq!(a.created.unwrap().to_rfc3339(), "2024-01-15T10:30:00+00:00");
        let md5: AttachmentRow =
            serde_json::from_value(serde_json::json!({"sys_id": "b", "hash": "098f6bcd4621d373cade4e832627b4f6"}))
                .unwrap();
        assert_eq!(attachment(md5).sha256, None, "an MD5 is not a SHA-256");
    }
}
