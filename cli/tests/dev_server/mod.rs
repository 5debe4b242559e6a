//! `tally dev` as a child process on a free loopback port, killed (for real) when dropped.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running `tally dev`.
pub(crate) struct DevServer {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub(crate) url: String,
}

impl DevServer {
    /// `tally dev --catalog <workspace>/<catalog> --port 0` plus `extra`; returns once it listens.
    pub(crate) fn start(catalog: &str, extra: &[&str]) -> Self {
        let catalog = workspace().join(catalog);
        let mut child = Command::new(env!("CARGO_BIN_EXE_tally"))
            .arg("dev")
            .arg("--catalog")
            .arg(&catalog)
            .args(["--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("tally dev starts");
        let stdout = child.stdout.take().expect("piped stdout");
        // The first line names the address; it is printed once the socket is bound.
        let mut stdout = BufReader::new(stdout);
        let mut first = String::new();
        stdout.read_line(&mut first).expect("tally dev prints its address");
        // Keep reading, so the child never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        let url = first
            .trim()
            .strip_prefix("tally dev: listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from tally dev: {first:?}"))
            .to_owned();
        Self { child, url }
    }

    /// `url` + `path`.
    pub(crate) fn at(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The workspace root.
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the cli crate lives in the workspace").to_path_buf()
}
