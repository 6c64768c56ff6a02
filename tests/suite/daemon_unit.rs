//! config/twotrack.service: the hardening directives are there, and `systemd-analyze verify` accepts the
//! unit (when systemd-analyze is installed).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const UNIT: &str = include_str!("../../config/twotrack.service");

/// `section -> key -> values` (a key may repeat), comments and blank lines skipped.
fn parse(text: &str) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut out: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut section = String::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("line {}: not key=value: {line}", n + 1));
        assert!(!section.is_empty(), "line {}: a directive outside any section", n + 1);
        out.entry(section.clone())
            .or_default()
            .entry(key.trim().to_string())
            .or_default()
            .push(value.trim().to_string());
    }
    out
}

#[test]
fn the_unit_is_hardened() {
    let unit = parse(UNIT);
    let service = &unit["Service"];
    let one = |key: &str| -> &str {
        let values = service.get(key).unwrap_or_else(|| panic!("[Service] lacks {key}="));
        values.last().map(String::as_str).unwrap_or("")
    };
    for (key, want) in [
        ("ExecStart", "/usr/local/bin/twotrack --config /etc/twotrack/twotrack.toml --log-format json run"),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
        ("Restart", "on-failure"),
        ("DynamicUser", "yes"),
        ("StateDirectory", "twotrack"),
        ("ConfigurationDirectory", "twotrack"),
        ("EnvironmentFile", "-/etc/twotrack/env"),
        ("UMask", "0077"),
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        ("ProtectControlGroups", "yes"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("RestrictNamespaces", "yes"),
        ("LockPersonality", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
    ] {
        assert_eq!(one(key), want, "[Service] {key}=");
    }
    assert!(service["SystemCallFilter"].iter().any(|v| v == "@system-service"), "SystemCallFilter=@system-service");
    // SIGTERM gives running jobs 10 s; systemd must wait longer than that before SIGKILL.
    let stop = one("TimeoutStopSec");
    let secs: u64 = stop.trim_end_matches('s').parse().unwrap_or_else(|_| panic!("TimeoutStopSec={stop}"));
    assert!(secs > 10, "TimeoutStopSec={stop} must exceed the daemon's 10 s grace");
    assert_eq!(unit["Install"]["WantedBy"], ["multi-user.target"]);
    assert!(unit["Unit"]["After"].iter().any(|v| v.contains("network-online.target")));
}

#[test]
fn systemd_analyze_verify_accepts_the_unit() {
    let available = Command::new("systemd-analyze").arg("--version").output().is_ok_and(|o| o.status.success());
    if !available {
        eprintln!("systemd-analyze is not installed: skipping the verify check (the parse test still runs)");
        return;
    }
    // verify checks that ExecStart's binary exists: point it at the binary under test.
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_twotrack");
    assert!(Path::new(bin).exists());
    let unit = dir.path().join("twotrack.service");
    std::fs::write(&unit, UNIT.replace("/usr/local/bin/twotrack", bin)).unwrap();
    let out = Command::new("systemd-analyze").args(["verify", "--man=no"]).arg(&unit).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "systemd-analyze verify failed:\n{stderr}");
    // Unknown or misspelt keys are only warnings ("file:line: Unknown key ..."): refuse them too.
    let about_the_unit: Vec<&str> = stderr.lines().filter(|l| l.contains("twotrack.service")).collect();
    assert!(about_the_unit.is_empty(), "systemd-analyze complains about the unit:\n{}", about_the_unit.join("\n"));
}
