//! Finding a twin whose create answer was lost, without relying on Jira's search.
//!
//! Jira Cloud documents that "recent updates might not be immediately visible in the returned search
//! results" (`search/jql`): a search by the origin label may miss a twin created a second ago, and the
//! saga would create a second one. `reconcileIssues` makes search consistent only for the issue ids it
//! lists, and a lost answer never told us the twin's id. What *is* read-after-write consistent is a read
//! by key, and issue keys are numbered by their project's counter: every issue created in (or moved into)
//! the project takes the next number, never reused. So:
//!
//! - Right before the create, the mark is the write project's highest key number that search shows
//!   ([`JiraConnector::mark_creations`]). Every issue search shows exists already, so the twin's number is
//!   higher; a stale search only makes the mark lower, which is safe.
//! - After a lost answer, every key after the mark is read by key (`GET issue`), up to the highest number
//!   search shows now and then until [`TRAILING_MISSES`] numbers in a row do not exist (issues search does
//!   not show yet lie beyond it; deleted issues leave gaps), and those carrying the origin label are the
//!   twins. The reads are as many as the issues created in the project since the mark, at most
//!   [`MAX_SCAN`]: that many creates take far longer than search lags, so beyond them the search by
//!   label has seen the twin.

use twotrack_api::{ConnectorError, Item};

use crate::JiraConnector;
use crate::jql;

/// Missing keys in a row, past the highest search shows, after which no later key exists.
pub const TRAILING_MISSES: u64 = 3;
/// The most keys read after a mark.
pub const MAX_SCAN: u64 = 500;

/// The number of an issue key (`SHOP-42` -> 42).
fn key_number(key: &str) -> Option<u64> {
    key.rsplit_once('-').and_then(|(_, n)| n.parse().ok())
}

impl JiraConnector {
    /// The highest key number search shows in `project` (0 when it shows none).
    async fn highest_number(&self, project: &str) -> Result<u64, ConnectorError> {
        let search = format!("project = {} ORDER BY key DESC", jql::quote(project));
        let fetched = self.fetch(&search, "", 0, 1, &["created".to_string()]).await?;
        Ok(fetched.issues.first().and_then(|issue| key_number(&issue.key)).unwrap_or(0))
    }

    /// `<project>-<highest number search shows>` in the write project; `None` when Jira rejects that search.
    pub(crate) async fn mark_creations(&self) -> Result<Option<String>, ConnectorError> {
        let project = self.write.project.trim();
        if project.is_empty() {
            return Err(self.invalid("set the project new items are created in (write.project)"));
        }
        match self.highest_number(project).await {
            Ok(number) => Ok(Some(format!("{project}-{number}"))),
            // Jira rejects the search (say, the project does not exist): the create will say what is wrong,
            // in its own words. Without a mark, the search by label alone looks for the twin.
            Err(ConnectorError::Invalid { message, .. }) => {
                tracing::debug!(tracker = %self.http.tracker(), project, error = %message, "no creation mark");
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// The issues numbered after `mark` that carry the origin label of `origin_key`, read by key.
    pub(crate) async fn created_after(&self, origin_key: &str, mark: &str) -> Result<Vec<Item>, ConnectorError> {
        let (project, from) = mark
            .rsplit_once('-')
            .and_then(|(project, n)| Some((project, n.parse::<u64>().ok()?)))
            .filter(|(project, _)| !project.is_empty())
            .ok_or_else(|| self.invalid(format!("unreadable creation mark {mark:?}")))?;
        let top = self.highest_number(project).await?;
        let (mut twins, mut misses) = (Vec::new(), 0);
        let mut number = from;
        while misses < TRAILING_MISSES || number < top {
            number += 1;
            if number > from + MAX_SCAN {
                tracing::warn!(tracker = %self.http.tracker(), origin = origin_key, mark, "more than {MAX_SCAN} issues created since the mark; the search by label stands");
                break;
            }
            match self.get_issue(&format!("{project}-{number}")).await {
                Ok(item) => {
                    misses = 0;
                    if item.origin.as_deref().is_some_and(|o| o.eq_ignore_ascii_case(origin_key)) {
                        twins.push(item);
                    }
                }
                Err(ConnectorError::NotFound { .. }) => misses += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(twins)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_numbers() {
        assert_eq!(key_number("SHOP-42"), Some(42));
        assert_eq!(key_number("MY-PROJ-7"), Some(7));
        assert_eq!(key_number("SHOP"), None);
    }
}
