//! Issue links between two issues of this Jira site (`POST issueLink`), where a remote link would only
//! point at a URL: a report joined to the incident that gathers its event (a storm's parent), when both
//! live on the same site. A target elsewhere (a ServiceNow record) keeps the remote link.
//!
//! `POST issueLink` creates, and answers 201 with no body; Jira adds no second link for a duplicate
//! request, but a comment sent with one would be added again, and nothing tells a retry whether its
//! first request arrived. So the link is written idempotently by reading first: the issue's
//! `fields.issuelinks` are read, and the link is created only when none of the configured type joins the
//! two issues. A crash between the create and its record finds the link on the next read.
//!
//! The link type is a setting ([`crate::JiraWrite::link_type`], default [`DEFAULT_LINK_TYPE`], one of the
//! four types every new Jira site has). A type the site lacks answers 404; the error then lists the
//! site's types (`GET issueLinkType`) and names the setting.

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use twotrack_api::ConnectorError;
use twotrack_api::connector::OriginRef;
use twotrack_api::http::{Idempotency, Method};

use crate::JiraConnector;

/// The link type used unless configured: "Relates" ("relates to" both ways), present on every new site.
pub const DEFAULT_LINK_TYPE: &str = "Relates";

/// `GET issue/{key}?fields=issuelinks`.
#[derive(Debug, Deserialize)]
struct IssueLinks {
    #[serde(default)]
    fields: LinksField,
}

#[derive(Debug, Default, Deserialize)]
struct LinksField {
    #[serde(default)]
    issuelinks: Vec<IssueLink>,
}

/// One entry of `fields.issuelinks`: the type and the other issue, on the side it sits.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct IssueLink {
    #[serde(rename = "type")]
    link_type: TypeRef,
    inward_issue: Option<KeyRef>,
    outward_issue: Option<KeyRef>,
}

#[derive(Debug, Deserialize, Serialize)]
struct TypeRef {
    #[serde(default)]
    name: String,
}

#[derive(Debug, Deserialize, Serialize)]
struct KeyRef {
    key: String,
}

/// `POST issueLink` (`LinkIssueRequestJsonBean`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct NewLink {
    #[serde(rename = "type")]
    link_type: TypeRef,
    inward_issue: KeyRef,
    outward_issue: KeyRef,
}

/// `GET issueLinkType`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LinkTypes {
    #[serde(default)]
    issue_link_types: Vec<TypeRef>,
}

impl JiraConnector {
    /// Whether `target` is an issue of this site (its URL is this site's browse link).
    pub(crate) fn on_this_site(&self, target: &OriginRef) -> bool {
        target.url.strip_prefix(&self.browse_base).is_some_and(|rest| rest.starts_with("/browse/"))
    }

    /// Join `key` to `target`, an issue of this site: an issue link of the configured type (`key` the
    /// outward issue, `target` the inward one), created unless one of that type already joins them.
    pub(crate) async fn issue_link(&self, key: &str, target: &OriginRef) -> Result<(), ConnectorError> {
        if self.linked(key, &target.key).await? {
            return Ok(());
        }
        let body = NewLink {
            link_type: TypeRef { name: self.write.link_type.clone() },
            inward_issue: KeyRef { key: target.key.clone() },
            outward_issue: KeyRef { key: key.to_string() },
        };
        let sent = self
            .http
            .send_json::<IgnoredAny, _>(Method::POST, &self.api("/issueLink"), &[], &body, Idempotency::NonIdempotent)
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(ConnectorError::NotFound { .. }) if !self.has_link_type().await? => Err(self.invalid(format!(
                "the issue link type {:?} does not exist on this site; set `targets.link_type` of this tracker to \
                 one of the site's types (GET {}/issueLinkType lists them; \"{DEFAULT_LINK_TYPE}\" is on every new \
                 site)",
                self.write.link_type,
                self.flavour.api()
            ))),
            Err(e) => Err(e),
        }
    }

    /// Whether a link of the configured type joins `key` and `other` (either direction).
    async fn linked(&self, key: &str, other: &str) -> Result<bool, ConnectorError> {
        let path = self.issue_path(key, "")?;
        let issue: IssueLinks = self.http.get_json(&path, &[("fields", "issuelinks")]).await?.body;
        Ok(issue.fields.issuelinks.iter().any(|l| {
            l.link_type.name.eq_ignore_ascii_case(&self.write.link_type)
                && [&l.inward_issue, &l.outward_issue].into_iter().flatten().any(|i| i.key.eq_ignore_ascii_case(other))
        }))
    }

    /// Whether the site has the configured link type.
    async fn has_link_type(&self) -> Result<bool, ConnectorError> {
        let types: LinkTypes = self.http.get_json(&self.api("/issueLinkType"), &[]).await?.body;
        Ok(types.issue_link_types.iter().any(|t| t.name.eq_ignore_ascii_case(&self.write.link_type)))
    }
}
