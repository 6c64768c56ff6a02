//! Attachments in the harness: files put on items as a person would in the browser, the files an item
//! holds in either simulator, and `policy.attachment_max_bytes` in the written configuration.

use super::Harness;

impl Harness {
    /// Attach a file to the Jira issue `key`.
    pub fn jira_attach(&self, key: &str, name: &str, mime: &str, content: &[u8]) {
        self.world.jira.attach(key, name, mime, content).unwrap_or_else(|| panic!("no Jira issue {key}"));
    }

    /// Attach a file to the ServiceNow record numbered `number`.
    pub fn sn_attach(&self, number: &str, name: &str, mime: &str, content: &[u8]) {
        let (table, record) = self.sn_record(number);
        self.world.servicenow.attach(&table, record["sys_id"].as_str().unwrap(), name, mime, content);
    }

    /// The files of the Jira issue `key`: (name, content), oldest first.
    pub fn jira_files(&self, key: &str) -> Vec<(String, Vec<u8>)> {
        self.world.jira.files(key)
    }

    /// The files of the ServiceNow record numbered `number`: (name, content), oldest first.
    pub fn sn_files(&self, number: &str) -> Vec<(String, Vec<u8>)> {
        let (table, record) = self.sn_record(number);
        self.world.servicenow.files(&table, record["sys_id"].as_str().unwrap())
    }

    /// Add `line` (e.g. `attachment_max_bytes = 1000`) to the `[policy]` section of the configuration.
    pub fn add_policy(&self, line: &str) {
        let text = std::fs::read_to_string(&self.config).unwrap();
        std::fs::write(&self.config, text.replacen("[policy]\n", &format!("[policy]\n{line}\n"), 1)).unwrap();
    }
}
