//! Helpers shared by the end-to-end tests.

use std::path::Path;
use std::process::Command;

/// Runs the `store` binary with `args` on the data directory `dir` (an admin command: `token`,
/// `api-token`, `revoke`); asserts it succeeds; returns stdout and stderr.
pub fn store_command(dir: &Path, args: &[&str]) -> (String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_store"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    (
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}
