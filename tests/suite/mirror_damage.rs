//! A mirror that is missing, never synced, or damaged on disk: a clear error with what to do (exit 1),
//! never a panic, never a silently smaller backlog; read commands never create a mirror.

use std::path::Path;
use std::process::Output;

use assert_cmd::Command;
use twotrack::api::model::Item;
use twotrack::mirror::Mirror;

fn twotrack() -> Command {
    let mut cmd = Command::cargo_bin("twotrack").unwrap();
    cmd.env_remove("TWOTRACK_CONFIG");
    cmd
}

/// A mirror of `n` Jira items with some text each, closed.
fn mirror_of(path: &Path, n: usize) {
    let mirror = Mirror::open(path).unwrap();
    for i in 0..n {
        let mut item = Item::new("jira", format!("A-{i}"), format!("summary of item {i}"));
        item.description = format!("a description long enough to fill the log a little: {}", "words ".repeat(40));
        mirror.upsert_item(&item).unwrap();
    }
    mirror.flush().unwrap();
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn damaged_mirror_files_give_an_error_not_a_panic() {
    for damage in ["flipped bytes", "cut short", "zeroed start", "garbage", "empty db", "no conf", "garbage conf"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mirror");
        mirror_of(&path, 2000);
        let verified = twotrack().args(["mirror", "verify", "--mirror"]).arg(&path).output().unwrap();
        assert!(verified.status.success(), "{}", stderr(&verified));
        let text = String::from_utf8_lossy(&verified.stdout);
        assert!(text.contains("reads back whole: 2000 items (2000 counted, 2000 at the last flush)"), "{text}");
        let db = path.join("db");
        let mut bytes = std::fs::read(&db).unwrap();
        match damage {
            "flipped bytes" => {
                let (from, to) = (bytes.len() / 3, bytes.len() / 3 + 4096);
                for b in &mut bytes[from..to] {
                    *b ^= 0x5a;
                }
            }
            "cut short" => bytes.truncate(bytes.len() / 2),
            "zeroed start" => bytes[..8192].fill(0),
            "garbage" => bytes.iter_mut().enumerate().for_each(|(i, b)| *b = (i * 7919 % 251) as u8),
            "empty db" => bytes.clear(),
            _ => {}
        }
        std::fs::write(&db, &bytes).unwrap();
        if damage == "no conf" {
            std::fs::remove_file(path.join("conf")).unwrap();
        }
        if damage == "garbage conf" {
            std::fs::write(path.join("conf"), b"segment_size: banana\n").unwrap();
        }
        for args in [&["mirror", "export"][..], &["mirror", "stats"][..], &["mirror", "verify"][..]] {
            let out = twotrack().args(args).arg("--mirror").arg(&path).output().unwrap();
            let lines = String::from_utf8_lossy(&out.stdout).lines().count();
            let err = stderr(&out);
            assert!(!err.contains("panicked"), "{damage}, {args:?}: a panic\n{err}");
            if matches!(damage, "cut short" | "garbage" | "empty db") {
                assert!(!out.status.success(), "{damage}, {args:?}: half the items or more are gone\n{err}");
            }
            if out.status.success() {
                // sled kept every item (the damage hit nothing it reads): all of them, or it is an error.
                if args[1] == "export" {
                    assert_eq!(lines, 2000, "{damage}: a silently smaller backlog\n{err}");
                }
            } else {
                assert_eq!(out.status.code(), Some(1), "{damage}, {args:?}\n{err}");
                assert!(
                    err.contains("is damaged") && err.contains("sync --full"),
                    "{damage}, {args:?}: says what is wrong and what to do\n{err}"
                );
            }
        }
    }
}

#[test]
fn read_commands_never_create_a_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nowhere");
    for args in [&["mirror", "stats"][..], &["mirror", "export"][..]] {
        let out = twotrack().args(args).arg("--mirror").arg(&path).output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        assert!(stderr(&out).contains("there is no mirror at"), "{}", stderr(&out));
    }
    let config = dir.path().join("twotrack.toml");
    std::fs::write(
        &config,
        format!(
            "[[tracker]]\nname = \"jira\"\nkind = \"jira\"\nrole = \"product\"\nbase_url = \"http://127.0.0.1:9\"\n\
             [tracker.auth]\nuser = \"u\"\ntoken = {{ env = \"TT_TEST_NO_TOKEN\" }}\n[tracker.scope]\nprojects = [\"A\"]\n\n\
             [[tracker]]\nname = \"snow\"\nkind = \"servicenow\"\nrole = \"service\"\nbase_url = \"http://127.0.0.1:9\"\n\
             [tracker.auth]\nuser = \"u\"\ntoken = {{ env = \"TT_TEST_NO_TOKEN\" }}\n[tracker.scope]\ntables = [\"incident\"]\n\n\
             [mirror]\npath = {:?}\n",
            path.display().to_string()
        ),
    )
    .unwrap();
    for args in [&["audit"][..], &["audit", "--fail-on", "misfiled"][..], &["apply"][..], &["history", "A-1"][..]] {
        let out = twotrack().arg("--config").arg(&config).args(args).env("TT_TEST_NO_TOKEN", "x").output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("there is no mirror at"), "{args:?}: {}", stderr(&out));
        assert!(!path.exists(), "{args:?} created the mirror");
    }

    // A mirror that exists but never pulled one of the trackers: refused, not "clean".
    mirror_of(&path, 3);
    let out = twotrack()
        .arg("--config")
        .arg(&config)
        .args(["audit", "--fail-on", "misfiled"])
        .env("TT_TEST_NO_TOKEN", "x")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("holds nothing of snow (never synced)"), "{}", stderr(&out));
}

#[test]
fn verify_tells_whether_the_last_process_closed_the_mirror() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mirror");
    mirror_of(&path, 10);
    assert!(!path.join("twotrack.open").exists(), "the last handle removes the open marker");
    let verify = || {
        let out = twotrack().args(["mirror", "verify", "--mirror"]).arg(&path).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        (String::from_utf8_lossy(&out.stdout).into_owned(), stderr(&out))
    };
    let (text, _) = verify();
    assert!(text.contains("closed it cleanly"), "{text}");

    // While a process has it open, the marker names it; closing removes it.
    let open = Mirror::open(&path).unwrap();
    let marker = std::fs::read_to_string(path.join("twotrack.open")).unwrap();
    assert!(marker.starts_with(&format!("pid {} since ", std::process::id())), "{marker}");
    drop(open);
    assert!(!path.join("twotrack.open").exists());

    // A process killed while it had the mirror open leaves its marker behind.
    std::fs::write(path.join("twotrack.open"), &marker).unwrap();
    let (text, err) = verify();
    assert!(text.contains("did not close it") && text.contains(marker.trim()), "{text}");
    assert!(err.contains("was not closed by the process that used it last"), "{err}");
    // That verify closed it cleanly.
    let (text, _) = verify();
    assert!(text.contains("closed it cleanly"), "{text}");
}
