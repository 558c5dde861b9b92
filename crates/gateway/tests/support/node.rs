//! A `gatehouse-gateway serve` process on a database, killed when dropped: the nodes of the
//! tests that run several (`dataplane::nodes`) and of the data-plane bench.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub struct Node {
    child: Child,
    pub url: String,
}

impl Node {
    /// Serves `database_url` on a free loopback port, journaling its metering in `journal`,
    /// with `env` besides; returns once it listens. Upstreams may be on loopback (the stubs).
    pub fn start(database_url: &str, journal: &Path, env: &[(&str, String)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse-gateway"))
            .args(["serve", "--db", database_url, "--listen", "127.0.0.1:0"])
            .env("GATEHOUSE_JOURNAL_DIR", journal)
            .env("GATEHOUSE_ALLOWED_UPSTREAM_NETS", "127.0.0.0/8")
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("the gateway ended before it listened")
                .unwrap();
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.trim().to_owned();
            }
        };
        // Keep reading, so that the process never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines.by_ref() {});
        Self { child, url }
    }

    /// Kills it (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}
