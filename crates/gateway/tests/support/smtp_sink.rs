//! A real SMTP server for the tests: `scripts/smtp-sink.py` (aiosmtpd) as a child process on
//! 127.0.0.1, run by the Python that `GATEHOUSE_TEST_PYTHON` names (the Makefile's `unit` target
//! sets it to the venv `scripts/install-deps.sh test` makes).
#![allow(dead_code)] // each test file uses part of it

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// One message as the sink parsed it.
#[derive(Debug, Clone, Deserialize)]
pub struct ReceivedMail {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    pub from: String,
    pub to: String,
    pub subject: String,
    pub content_type: String,
    pub text: Option<String>,
    pub html: Option<String>,
}

pub struct SmtpSink {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
    taken: Mutex<usize>,
}

impl SmtpSink {
    pub fn start() -> Self {
        let python = std::env::var_os("GATEHOUSE_TEST_PYTHON").unwrap_or_else(|| {
            panic!(
                "GATEHOUSE_TEST_PYTHON is not set: the mail tests need a Python with aiosmtpd. \
                 Run `scripts/install-deps.sh test` and then \
                 `GATEHOUSE_TEST_PYTHON=$HOME/.cache/gatehouse/venv/bin/python cargo test`, \
                 or `make unit`, which sets it."
            )
        });
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/smtp-sink.py");
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(&python)
            .arg(&script)
            .arg("--dir")
            .arg(dir.path())
            // The sink exits when its stdin closes, which happens when this process dies.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {} {}: {e}", python.display(), script.display()));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the SMTP sink did not start within 30 s");
        let port = line
            .trim()
            .strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!(
                    "the SMTP sink did not report its port (got {line:?}); is aiosmtpd \
                     installed in {}?",
                    python.display()
                )
            });
        Self {
            child,
            port,
            dir,
            taken: Mutex::new(0),
        }
    }

    /// What `--smtp-url` takes to send here.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message received so far, in order of arrival.
    pub fn received(&self) -> Vec<ReceivedMail> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
            .collect();
        names.sort();
        names
            .iter()
            .map(|n| {
                let text = std::fs::read_to_string(self.dir.path().join(n)).unwrap();
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{n}: {e}: {text}"))
            })
            .collect()
    }

    /// The next message not yet taken, waiting up to 20 s for it.
    pub async fn next_mail(&self) -> ReceivedMail {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let received = self.received();
            {
                let mut taken = self.taken.lock().unwrap();
                if let Some(mail) = received.get(*taken) {
                    *taken += 1;
                    return mail.clone();
                }
            }
            assert!(
                Instant::now() < deadline,
                "no mail reached the SMTP sink within 20 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
