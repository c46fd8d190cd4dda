//! `ringlb-load --help` says what the tool does and every subcommand and
//! flag the issue asks for; bad input fails with a message, not a panic.

mod common;

use common::run_load;

fn stdout_of(args: &[&str]) -> String {
    let out = run_load(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn top_level_help_lists_every_command() {
    let help = stdout_of(&["--help"]);
    for word in [
        "fire", "a1", "a2", "a3", "a4", "moves", "all", "offline", "--out", "Examples",
    ] {
        assert!(help.contains(word), "--help lacks {word:?}:\n{help}");
    }
}

#[test]
fn fire_help_lists_the_load_flags() {
    let help = stdout_of(&["fire", "--help"]);
    for flag in [
        "--requests",
        "--concurrency",
        "--url",
        "--header-name",
        "--no-key",
        "--ids",
        "--seed",
        "--json",
    ] {
        assert!(help.contains(flag), "fire --help lacks {flag}:\n{help}");
    }
}

#[test]
fn experiment_help_names_outputs_and_binaries() {
    for cmd in ["a1", "a2", "a3", "a4", "moves", "all"] {
        let help = stdout_of(&[cmd, "--help"]);
        for flag in ["--out", "--ringlb", "--seed", "--concurrency"] {
            assert!(help.contains(flag), "{cmd} --help lacks {flag}:\n{help}");
        }
    }
    let help = stdout_of(&["offline", "--help"]);
    for flag in ["--ids", "--families", "--config"] {
        assert!(help.contains(flag), "offline --help lacks {flag}:\n{help}");
    }
}

#[test]
fn bad_input_is_an_error_message() {
    for args in [
        &["fire", "--ids", "9..3"][..],
        &["fire", "--url", "not a url"][..],
        &["offline", "--families", "nonsense"][..],
        &["zipf", "--utilisation", "-0.5"][..],
        &["zipf", "--utilisation", "NaN"][..],
        &["zipf", "--utilisation", "1e9"][..],
        &["slow", "--utilisation", "lots"][..],
        &["frobnicate"][..],
    ] {
        let out = run_load(args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
        assert!(!err.trim().is_empty(), "{args:?} failed silently");
    }
}
