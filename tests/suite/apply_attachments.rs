//! A move carries the original's files (issue 15): each attachment is on the twin once and byte for byte,
//! also when the process dies right before or right after an upload; files above
//! `policy.attachment_max_bytes` stay behind and the twin says so once; a denied `sys_attachment` never
//! fails the move, and the twin says once that the files could not be read.

use crate::apply_support;

use apply_support::*;
use twotrack::demo::WorldOptions;

const LOG: &[u8] = b"2024-01-15 09:00:01 ERROR orders-db primary unreachable\r\n";
const LOG_NAME: &str = "db-error.log";
const SHOT_NAME: &str = "login-error.png";
const MOCKUP_NAME: &str = "wishlist mockup.png";

/// Binary content of `len` bytes (every byte value, line breaks included).
fn binary(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

fn files(list: &[(&str, &[u8])]) -> Vec<(String, Vec<u8>)> {
    list.iter().map(|(n, c)| (n.to_string(), c.to_vec())).collect()
}

/// Files on both misfiled originals: a log and a 3,000-byte screenshot on the Jira one, a mockup on the
/// ServiceNow one.
fn attach_the_originals(h: &Harness) -> (String, String) {
    let (jira_source, sn_source) = sources(h);
    h.jira_attach(&jira_source, LOG_NAME, "text/plain", LOG);
    h.jira_attach(&jira_source, SHOT_NAME, "image/png", &binary(3000, 1));
    h.sn_attach(&sn_source, MOCKUP_NAME, "image/png", &binary(1200, 2));
    (jira_source, sn_source)
}

/// Each twin holds each of its original's files once, byte for byte, and nothing else.
fn assert_copied(h: &Harness, jira_source: &str, sn_source: &str, context: &str) {
    let sn_twin = assert_moved_from_jira(h, jira_source, context);
    let expected = files(&[(LOG_NAME, LOG), (SHOT_NAME, &binary(3000, 1))]);
    assert_eq!(h.sn_files(&sn_twin), expected, "{context}: the ServiceNow twin's files");
    let jira_twin = assert_moved_from_servicenow(h, sn_source, context);
    assert_eq!(h.jira_files(&jira_twin), files(&[(MOCKUP_NAME, &binary(1200, 2))]), "{context}: the Jira twin's files");
    assert_eq!(h.jira_files(jira_source).len(), 2, "{context}: the original keeps its files");
}

#[tokio::test]
async fn the_originals_files_travel_to_the_twin_once_each_byte_for_byte() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let (jira_source, sn_source) = attach_the_originals(&h);
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    assert_copied(&h, &jira_source, &sn_source, "one run");
    let history = h.ok(&["history", &jira_source]).await.stdout;
    assert!(history.contains("copied 2 of the original's 2 attachments"), "{history}");

    h.clear_logs();
    h.ok(&["apply", "--yes"]).await;
    assert!(h.mutations().is_empty(), "a second run writes nothing: {:#?}", h.mutations());
}

async fn crash_and_resume(point: &str) {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let (jira_source, sn_source) = attach_the_originals(&h);
    h.ok(&["sync"]).await;
    for only in [&jira_source, &sn_source] {
        h.crash_apply_at(point, only).await;
    }
    h.ok(&["apply", "--yes"]).await;
    assert_copied(&h, &jira_source, &sn_source, &format!("crash at {point}"));
}

crash_cases! {
    crash_before_copy_attachment: "before-copy-attachment",
    crash_after_copy_attachment: "after-copy-attachment",
}

#[tokio::test]
async fn files_above_the_limit_stay_behind_and_the_twin_names_them_once() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    h.add_policy("attachment_max_bytes = 2000");
    let (jira_source, _) = attach_the_originals(&h);
    h.ok(&["sync"]).await;
    // A crash after the small file's upload, then one after the twin was told what stayed behind: the
    // resumed runs neither copy the file again nor say twice what stayed behind.
    h.crash_apply_at("after-copy-attachment", &jira_source).await;
    h.crash_apply_at("after-attachment-note", &jira_source).await;
    h.ok(&["apply", "--yes"]).await;
    let twin = assert_moved_from_jira(&h, &jira_source, "limit");
    assert_eq!(h.sn_files(&twin), files(&[(LOG_NAME, LOG)]), "only the file within the limit");
    let notes = h.sn_journal(&twin, "work_notes");
    let told: Vec<&String> = notes.iter().filter(|n| n.contains(SHOT_NAME)).collect();
    assert_eq!(told.len(), 1, "one note names the file left behind: {notes:#?}");
    assert!(
        told[0].contains("3000 bytes, above policy.attachment_max_bytes = 2000") && told[0].contains(&jira_source),
        "it says why and where the file is: {}",
        told[0]
    );
    assert!(told[0].contains("/attachment/content/"), "it links the file: {}", told[0]);
}

#[tokio::test]
async fn a_limit_of_zero_copies_no_file() {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    h.add_policy("attachment_max_bytes = 0");
    let (jira_source, sn_source) = attach_the_originals(&h);
    h.ok(&["sync"]).await;
    h.ok(&["apply", "--yes"]).await;
    let sn_twin = assert_moved_from_jira(&h, &jira_source, "zero");
    let jira_twin = assert_moved_from_servicenow(&h, &sn_source, "zero");
    assert!(h.sn_files(&sn_twin).is_empty() && h.jira_files(&jira_twin).is_empty());
    let history = h.ok(&["history", &sn_source]).await.stdout;
    assert!(history.contains("attachments are not copied (policy.attachment_max_bytes = 0)"), "{history}");
}

#[tokio::test]
async fn a_denied_sys_attachment_never_fails_the_move_and_the_twin_says_so_once() {
    let world = WorldOptions { servicenow_denied_tables: vec!["sys_attachment".into()], ..WorldOptions::default() };
    let h = Harness::start_with(backlog(), &Policy::writes(), world).await;
    let (jira_source, sn_source) = attach_the_originals(&h);
    h.ok(&["sync"]).await;
    let run = h.ok(&["apply", "--yes"]).await;
    assert!(run.stdout.contains("2 done"), "{}\n{}", run.stdout, run.stderr);

    // Out of ServiceNow: the original's files cannot be read.
    let jira_twin = assert_moved_from_servicenow(&h, &sn_source, "denied");
    assert!(h.jira_files(&jira_twin).is_empty());
    let comments = h.jira_comments(&jira_twin);
    let unread = format!("the attachments of {sn_source} could not be read");
    assert_eq!(count_containing(&comments, &unread), 1, "{comments:#?}");
    // Into ServiceNow: the twin's files cannot be listed, so none is risked.
    let sn_twin = assert_moved_from_jira(&h, &jira_source, "denied");
    assert!(h.sn_files(&sn_twin).is_empty());
    let notes = h.sn_journal(&sn_twin, "work_notes");
    assert_eq!(count_containing(&notes, "cannot be read, so none was copied"), 1, "{notes:#?}");

    h.clear_logs();
    h.ok(&["apply", "--yes"]).await;
    assert!(h.mutations().is_empty(), "a second run writes nothing: {:#?}", h.mutations());
}

/// A file of the same name and size already on the twin, but another content (a person attached their own
/// between a crash and the resume): it is not taken for the copy, nor is the file sent again beside it; the
/// move fails with an error that names it. Checked by the hash ServiceNow reports (a move out of Jira), and
/// by reading the copy back from Jira (a move out of ServiceNow).
async fn a_copy_that_differs(out_of_jira: bool) {
    let h = Harness::start(backlog(), &Policy::writes()).await;
    let (jira_source, sn_source) = attach_the_originals(&h);
    h.ok(&["sync"]).await;
    let source = if out_of_jira { &jira_source } else { &sn_source };
    h.crash_apply_at("before-copy-attachment", source).await;
    let (tracker, twin, file) = if out_of_jira {
        let twin = h.sn_twins(source).pop().unwrap();
        h.sn_attach(&twin, LOG_NAME, "text/plain", &LOG.iter().rev().copied().collect::<Vec<u8>>());
        (JIRA, twin, LOG_NAME)
    } else {
        let twin = h.jira_twins(source).pop().unwrap();
        h.jira_attach(&twin, MOCKUP_NAME, "image/png", &binary(1200, 3));
        (SN, twin, MOCKUP_NAME)
    };

    let run = h.run(&["apply", "--yes", "--only", source]).await;
    assert_ne!(run.code(), Some(0), "{}\n{}", run.stdout, run.stderr);
    let c = h.correction(&format!("move:{tracker}:{source}")).unwrap();
    let error = c.last_error.unwrap_or_default();
    let expected = format!("the copy of the attachment {file:?} on {twin} differs from the original");
    assert!(error.contains(&expected), "{error}");
    let files = if out_of_jira { h.sn_files(&twin) } else { h.jira_files(&twin) };
    assert_eq!(files.len(), 1, "nothing is sent beside the file that differs: {files:?}");
}

#[tokio::test]
async fn a_copy_that_differs_from_the_original_fails_a_move_to_servicenow_and_says_so() {
    a_copy_that_differs(true).await;
}

#[tokio::test]
async fn a_copy_that_differs_from_the_original_fails_a_move_to_jira_and_says_so() {
    a_copy_that_differs(false).await;
}
