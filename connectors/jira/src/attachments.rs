//! The files attached to an issue: listed from its `attachment` field, downloaded from
//! `GET /rest/api/{2|3}/attachment/content/{id}` (Cloud answers with a redirect to its media store, which
//! the HTTP layer follows without the credentials), uploaded with `POST /rest/api/{2|3}/issue/{key}/attachments`
//! as `multipart/form-data` with the file in the part named `file` and the header
//! `X-Atlassian-Token: no-check` (without it Jira refuses the request: "XSRF check failed").

use serde::Deserialize;
use serde_json::Value;
use twotrack_api::ConnectorError;
use twotrack_api::connector::{Attachment, Download};
use twotrack_api::http::{Idempotency, Method};

use crate::{JiraConnector, dto, mapping};

/// `GET /issue/{key}?fields=attachment`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct IssueAttachments {
    fields: AttachmentField,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AttachmentField {
    attachment: Vec<JiraAttachment>,
}

/// One attachment as Jira shows it (the issue's field, the answer to an upload).
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct JiraAttachment {
    /// A string in Cloud's answers; some servers send a number.
    id: Value,
    filename: String,
    size: u64,
    mime_type: Option<String>,
    /// A timestamp string on the issue; epoch milliseconds in some upload answers.
    created: Value,
    author: Option<dto::User>,
    content: Option<String>,
}

impl JiraConnector {
    /// The attachments of `key`, oldest first.
    pub(crate) async fn list_attachments(&self, key: &str) -> Result<Vec<Attachment>, ConnectorError> {
        let path = self.issue_path(key, "")?;
        let issue: IssueAttachments = self.http.get_json(&path, &[("fields", "attachment")]).await?.body;
        let mut list: Vec<Attachment> = issue.fields.attachment.into_iter().map(attachment).collect();
        // Ids are numbers: a shorter one is older.
        list.sort_by(|a, b| (a.created, a.id.len(), &a.id).cmp(&(b.created, b.id.len(), &b.id)));
        Ok(list)
    }

    /// The content of one attachment, up to `limit` bytes.
    pub(crate) async fn download_attachment(&self, file: &Attachment, limit: u64) -> Result<Download, ConnectorError> {
        let valid = !file.id.is_empty() && file.id.chars().all(|c| c.is_ascii_alphanumeric());
        if !valid {
            return Err(self.invalid(format!("{:?} is not a Jira attachment id", file.id)));
        }
        let path = self.api(&format!("/attachment/content/{}", file.id));
        Ok(self.http.get_bytes(&path, &[], limit).await?.body.into())
    }

    /// Upload one file to `key`.
    pub(crate) async fn upload_attachment(
        &self,
        key: &str,
        file_name: &str,
        mime_type: &str,
        content: Vec<u8>,
    ) -> Result<Attachment, ConnectorError> {
        let path = self.issue_path(key, "/attachments")?;
        let (content_type, body) = multipart(file_name, mime_type, &content);
        let headers = [("X-Atlassian-Token", "no-check")];
        let answer: Vec<JiraAttachment> = self
            .http
            .send_bytes(Method::POST, &path, &[], &content_type, body.into(), &headers, Idempotency::NonIdempotent)
            .await?
            .body;
        answer.into_iter().next().map(attachment).ok_or_else(|| {
            self.invalid(format!("Jira answered the upload of {file_name:?} to {key} without the attachment"))
        })
    }
}

fn attachment(a: JiraAttachment) -> Attachment {
    let id = match a.id {
        Value::String(id) => id,
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    };
    let created = match &a.created {
        Value::String(text) => mapping::parse_timestamp(text),
        Value::Number(n) => n.as_i64().and_then(chrono::DateTime::from_timestamp_millis),
        _ => None,
    };
    Attachment {
        id,
        file_name: a.filename,
        size: a.size,
        mime_type: a.mime_type.filter(|m| !m.is_empty()),
        created,
        author: a.author.and_then(|u| u.display_name.or(u.name)),
        sha256: None,
        url: a.content,
    }
}

/// A `multipart/form-data` body with one part, `file`, holding `content` (RFC 7578): its content type
/// (with the boundary) and the body. The boundary is one the content does not contain.
fn multipart(file_name: &str, mime_type: &str, content: &[u8]) -> (String, Vec<u8>) {
    let mut boundary = format!("twotrack-boundary-{:x}", content.len());
    let mut n = 0u64;
    while contains(content, boundary.as_bytes()) {
        n += 1;
        boundary = format!("twotrack-boundary-{:x}-{n}", content.len());
    }
    // RFC 7578 4.2: the file name as UTF-8, with quotes and line breaks percent-encoded.
    let name = file_name.replace('"', "%22").replace('\r', "%0D").replace('\n', "%0A");
    let mime = if mime_type.trim().is_empty() || mime_type.contains(['\r', '\n']) {
        "application/octet-stream"
    } else {
        mime_type
    };
    let mut body = Vec::with_capacity(content.len() + 256);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upload_is_one_file_part_with_an_escaped_name_and_a_boundary_not_in_the_content() {
        let clash = b"--twotrack-boundary-2a in the file\r\n".to_vec();
        let content = [clash.as_slice(), &[0u8; 6]].concat();
        assert_eq!(content.len(), 0x2a);
        let (content_type, body) = multipart("log \"1\".txt", "text/plain", &content);
        let boundary = content_type.strip_prefix("multipart/form-data; boundary=").unwrap();
        assert_eq!(boundary, "twotrack-boundary-2a-1", "the first choice is in the content");
        let text = String::from_utf8_lossy(&body);
        assert!(text.starts_with(&format!("--{boundary}\r\n")), "{text}");
        assert!(text.contains("name=\"file\"; filename=\"log %221%22.txt\"\r\nContent-Type: text/plain\r\n\r\n"));
        assert!(body.ends_with(format!("\r\n--{boundary}--\r\n").as_bytes()));
        assert!(contains(&body, &content));
    }

    #[test]
    fn an_attachment_reads_with_either_id_and_time_shape() {
        let a: JiraAttachment = serde_json::from_value(serde_json::json!({
            "id": 10001, "filename": "picture.jpg", "size": 23123, "mimeType": "image/jpeg",
            "created": 1651316514000i64, "author": {"displayName": "Mia Krystof"},
            "content": "https://x.atlassian.net/rest/api/3/attachment/content/10001"
        }))
        .unwrap();
        let a = attachment(a);
        assert_eq!((a.id.as_str(), a.size, a.author.as_deref()), ("10001", 23123, Some("Mia Krystof")));
        assert_eq!(a.created.unwrap().timestamp(), 1651316514);
        let b: JiraAttachment = serde_json::from_value(serde_json::json!({
            "id": "7", "filename": "a.txt", "size": 1, "created": "2024-01-15T10:30:00.000+0000"
        }))
        .unwrap();
        let b = attachment(b);
        assert_eq!(
            (b.id.as_str(), b.mime_type, b.created.unwrap().to_rfc3339()),
            ("7", None, "2024-01-15T10:30:00+00:00".into())
        );
    }
}
