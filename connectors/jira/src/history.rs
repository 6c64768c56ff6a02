//! The comments of an issue as carried to a twin (who wrote each, when, and whether it is internal), and
//! internal comments: Jira Service Management marks a comment internal with the comment property
//! `sd.public.comment` `{"internal": true}` and shows it as `jsdPublic: false`.

use serde::de::IgnoredAny;
use serde_json::json;
use twotrack_api::ConnectorError;
use twotrack_api::connector::Remark;
use twotrack_api::http::{Idempotency, Method};

use crate::{JiraConnector, dto, mapping};

/// Comments per page.
const PAGE: u32 = 100;

impl JiraConnector {
    /// Every comment of `key`, oldest first.
    pub(crate) async fn comment_history(&self, key: &str) -> Result<Vec<Remark>, ConnectorError> {
        let path = self.issue_path(key, "/comment")?;
        let mut remarks = Vec::new();
        let mut start = 0u64;
        loop {
            let (start_at, max) = (start.to_string(), PAGE.to_string());
            let query = [("startAt", start_at.as_str()), ("maxResults", &max), ("orderBy", "created")];
            let page: dto::CommentPage = self.http.get_json(&path, &query).await?.body;
            let count = page.comments.len() as u64;
            remarks.extend(page.comments.iter().map(remark));
            start = page.start_at + count;
            if count == 0 || start >= page.total {
                return Ok(remarks);
            }
        }
    }

    /// Post an internal comment (public outside Jira Service Management projects, where the property
    /// means nothing).
    pub(crate) async fn add_internal_comment(&self, key: &str, text: &str) -> Result<(), ConnectorError> {
        let path = self.issue_path(key, "/comment")?;
        let body = dto::CommentBody {
            body: self.rich_text(text),
            properties: vec![json!({"key": "sd.public.comment", "value": {"internal": true}})],
        };
        self.http.send_json::<IgnoredAny, _>(Method::POST, &path, &[], &body, Idempotency::NonIdempotent).await?;
        Ok(())
    }
}

fn remark(c: &dto::Comment) -> Remark {
    let author = c.author.as_ref().and_then(|a| a.display_name.clone().or_else(|| a.name.clone()));
    Remark {
        id: c.id.clone(),
        author,
        created: c.created.as_deref().and_then(mapping::parse_timestamp),
        text: mapping::rich_text(&c.body),
        internal: c.jsd_public == Some(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_says_who_wrote_it_when_and_whether_it_is_internal() {
        let c: dto::Comment = serde_json::from_value(json!({
            "id": "10001", "body": "Restarted the pool.", "author": {"displayName": "Ann Lee"},
            "created": "2024-01-15T10:30:00.000+0000", "jsdPublic": false
        }))
        .unwrap();
        let r = remark(&c);
        assert_eq!(
            (r.id.as_str(), r.author.as_deref(), r.text.as_str(), r.internal),
            ("10001", Some("Ann Lee"), "Restarted the pool.", true)
        );
        assert_eq!(r.created.unwrap().to_rfc3339(), "2024-01-15T10:30:00+00:00");
        let plain: dto::Comment = serde_json::from_value(json!({"id": "1", "body": "x"})).unwrap();
        assert!(!remark(&plain).internal, "outside a service project every comment is public");
    }
}
