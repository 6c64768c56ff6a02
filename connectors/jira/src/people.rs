//! People: the user an e-mail address names in this Jira site, and how a write names a user.
//!
//! Cloud: `GET /rest/api/3/user/search?query=<e-mail>` matches a prefix of `displayName` or `emailAddress`
//! and answers account ids; a user's privacy setting may hide their `emailAddress`. Data Center:
//! `GET /rest/api/2/user/search?username=<e-mail>` matches user name, name or e-mail and answers user names
//! and e-mail addresses.

use twotrack_api::ConnectorError;
use twotrack_api::connector::Person;

use crate::{Flavour, JiraConnector, dto};

/// The most users one search asks for: an e-mail address names one person; more answers mean the query
/// matched other attributes too.
const USER_PAGE: &str = "20";

impl JiraConnector {
    /// How a write names `person`: Cloud by account id, Data Center by user name.
    pub(crate) fn user_ref(&self, person: &Person) -> dto::UserRef {
        match self.flavour {
            Flavour::Cloud => dto::UserRef::AccountId(person.id.clone()),
            Flavour::DataCenter => dto::UserRef::Name(person.id.clone()),
        }
    }

    /// The one active user with this e-mail address. Users who show it are matched on it; where nobody
    /// shows it, a single active user whose address is hidden (a Cloud privacy setting) and whom the search
    /// found for the whole address is taken as the person (a display name does not start with an e-mail
    /// address).
    pub(crate) async fn person_by_email(&self, email: &str) -> Result<Option<Person>, ConnectorError> {
        let email = email.trim();
        if email.is_empty() || !email.contains('@') {
            return Ok(None);
        }
        let (param, path) = match self.flavour {
            Flavour::Cloud => ("query", self.api("/user/search")),
            Flavour::DataCenter => ("username", self.api("/user/search")),
        };
        let users: Vec<dto::User> = self.http.get_json(&path, &[(param, email), ("maxResults", USER_PAGE)]).await?.body;
        Ok(pick(&users, email, self.flavour))
    }
}

/// Whether a rejected write names the `reporter` field (Jira's error collection `{"errors":{"reporter":
/// "..."}}`, which the HTTP layer renders as `reporter: <message>`).
pub(crate) fn names_reporter(error: &ConnectorError) -> bool {
    matches!(error, ConnectorError::Invalid { message, .. } if message.contains("reporter: "))
}

/// The person `email` names among a user search's answer, if exactly one.
fn pick(users: &[dto::User], email: &str, flavour: Flavour) -> Option<Person> {
    let active: Vec<&dto::User> =
        users.iter().filter(|u| u.active.unwrap_or(true) && u.account_type.as_deref() != Some("app")).collect();
    let shown: Vec<&&dto::User> = active
        .iter()
        .filter(|u| u.email_address.as_deref().is_some_and(|e| e.trim().eq_ignore_ascii_case(email)))
        .collect();
    let hidden: Vec<&&dto::User> =
        active.iter().filter(|u| u.email_address.as_deref().is_none_or(str::is_empty)).collect();
    let one = match (shown.as_slice(), hidden.as_slice()) {
        ([one], _) => one,
        ([], [one]) if flavour == Flavour::Cloud => one,
        _ => return None,
    };
    let id = match flavour {
        Flavour::Cloud => one.account_id.clone(),
        Flavour::DataCenter => one.name.clone(),
    }?;
    Some(Person { display_name: one.display_name.clone().unwrap_or_else(|| id.clone()), id, email: email.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(json: &str) -> Vec<dto::User> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_cloud_user_is_found_by_the_address_shown_or_alone_with_it_hidden() {
        let found = users(
            r#"[{"accountId":"a1","displayName":"Ann Lee","emailAddress":"ann.lee@example.com","active":true},
                {"accountId":"a2","displayName":"Ann Leek","emailAddress":"ann.leek@example.com","active":true}]"#,
        );
        let ann = pick(&found, "Ann.Lee@example.com", Flavour::Cloud).unwrap();
        assert_eq!((ann.id.as_str(), ann.display_name.as_str()), ("a1", "Ann Lee"));
        let hidden = users(r#"[{"accountId":"a3","displayName":"Bo Private","active":true}]"#);
        assert_eq!(pick(&hidden, "bo@example.com", Flavour::Cloud).unwrap().id, "a3");
        let two_hidden = users(
            r#"[{"accountId":"a3","displayName":"Bo","active":true},{"accountId":"a4","displayName":"Bo","active":true}]"#,
        );
        assert_eq!(pick(&two_hidden, "bo@example.com", Flavour::Cloud), None, "two people: nobody is guessed");
        let inactive = users(r#"[{"accountId":"a5","emailAddress":"x@example.com","active":false}]"#);
        assert_eq!(pick(&inactive, "x@example.com", Flavour::Cloud), None);
        let app = users(r#"[{"accountId":"a6","accountType":"app","displayName":"Bot","active":true}]"#);
        assert_eq!(pick(&app, "x@example.com", Flavour::Cloud), None);
    }

    #[test]
    fn only_a_refused_reporter_is_a_refused_person() {
        let invalid = |message: &str| ConnectorError::Invalid { tracker: "j".into(), message: message.into() };
        let refused = "reporter: Field 'reporter' cannot be set. It is not on the appropriate screen, or unknown.";
        assert!(names_reporter(&invalid(refused)));
        assert!(!names_reporter(&invalid("project: Specify a valid project ID or key")));
    }

    #[test]
    fn a_data_center_user_is_named_by_user_name_and_must_show_the_address() {
        let found =
            users(r#"[{"name":"alee","displayName":"Ann Lee","emailAddress":"ann.lee@example.com","active":true}]"#);
        assert_eq!(pick(&found, "ann.lee@example.com", Flavour::DataCenter).unwrap().id, "alee");
        let no_email = users(r#"[{"name":"alee","displayName":"Ann Lee","active":true}]"#);
        assert_eq!(pick(&no_email, "ann.lee@example.com", Flavour::DataCenter), None);
    }
}
