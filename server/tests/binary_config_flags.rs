//! The `strata-server` binary's configuration modes, run as an operator would:
//! `--print-sample-config`, and `--config-check` on good and bad files and flags (exit codes,
//! messages naming the bad key).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

fn strata_server(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata-server"))
        .args(args)
        .output()
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn print_sample_config_prints_a_file_config_check_accepts() {
    let out = strata_server(&["--print-sample-config"]);
    assert!(out.status.success());
    let sample = String::from_utf8(out.stdout).unwrap();
    assert!(sample.contains("[server]") && sample.contains("max-key-size = \"8KiB\""));

    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "sample.toml", &sample);
    let out = strata_server(&["--config", &path, "--config-check"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "config is valid\n");
}

#[test]
fn config_check_refuses_an_unknown_key_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "bad.toml",
        "[server]\naddr = \"127.0.0.1:20160\"\n[lsm]\nwrite-bufer-size = \"1MiB\"\n",
    );
    let out = strata_server(&["--config", &path, "--config-check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert!(err.contains("lsm.write-bufer-size"), "{err}");
    assert!(err.contains("bad.toml"), "{err}");
}

#[test]
fn config_check_refuses_invalid_values_from_file_or_flags() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "v2.toml", "[storage]\napi-version = 2\n");
    let out = strata_server(&["--config", &path, "--config-check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("storage.enable-ttl"),
        "{}",
        stderr(&out)
    );

    // A flag overrides the file: the file's collision is repaired by --status-addr...
    let path = write(
        dir.path(),
        "clash.toml",
        "[server]\naddr = \"127.0.0.1:7000\"\nstatus-addr = \"127.0.0.1:7000\"\n",
    );
    let out = strata_server(&["--config", &path, "--config-check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("server.status-addr"),
        "{}",
        stderr(&out)
    );
    let out = strata_server(&[
        "--config",
        &path,
        "--status-addr",
        "127.0.0.1:7001",
        "--config-check",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));

    // ...and a bad flag is reported under its key.
    let out = strata_server(&["--addr", "not-an-address", "--config-check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("server.addr"), "{}", stderr(&out));
}

#[test]
fn config_check_reports_a_missing_file() {
    let out = strata_server(&["--config", "/nonexistent/strata.toml", "--config-check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("/nonexistent/strata.toml"));
}
