//! The node's metering journal. Every finished request is appended to it (one `write`, no
//! fsync) before its answer ends; a segment is deleted once the writer has committed every
//! request in it. A node that is killed (SIGKILL, the OOM killer) loses nothing: the kernel
//! holds what was written, and the next start writes the requests that are not yet in
//! `usage_events` (whose ids are the requests' own, so none is written twice). Power loss loses
//! at most the last [`SYNC_EVERY`], which a background task fsyncs.
//!
//! Segments are `<node>-<n>.log` files in the journal's directory, each locked (`flock`) by the
//! node that writes it for as long as it lives, so that several nodes may share a directory and
//! a starting node replays only the segments of nodes that are gone.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono_tz::Tz;
use gatehouse_store::usage::UsageEvent;
use serde::{Deserialize, Serialize};

/// How often what was appended is fsynced: what power loss may lose.
pub const SYNC_EVERY: Duration = Duration::from_millis(100);
/// A segment is closed past this size, and deleted once all of it is committed.
const SEGMENT_BYTES: u64 = 8 << 20;
/// Past this size a segment whose records are all committed is emptied in place.
const TRUNCATE_BYTES: u64 = 1 << 20;

/// Why the journal could not be replayed or started.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("the metering journal: {0}")]
    Io(#[from] io::Error),
    #[error("writing the metering journal's requests: {0}")]
    Db(#[from] sqlx::Error),
    #[error("the metering journal is replayed before the node serves, not after")]
    Started,
}

/// One finished request as the journal keeps it.
#[derive(Debug, Deserialize)]
pub struct Record {
    pub event: UsageEvent,
    /// The org's time zone it was admitted in, which decides its day.
    pub tz: String,
}

impl Record {
    pub fn tz(&self) -> Tz {
        self.tz.parse().unwrap_or(chrono_tz::UTC)
    }
}

#[derive(Debug)]
struct Segment {
    path: PathBuf,
    /// Shared with the task that fsyncs it; holds the segment's lock while open.
    file: Arc<File>,
}

/// The segments this node writes. Appends happen in the order the writer commits them (the
/// caller holds the queue's lock), so "the first n records are committed" is one number.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    node: String,
    next_segment: u64,
    current: Segment,
    bytes: u64,
    /// Records appended so far.
    appended: u64,
    /// Closed segments, with the number of records appended when each was closed.
    closed: VecDeque<(Segment, u64)>,
    /// Files written to since the last fsync.
    unsynced: Vec<Arc<File>>,
    /// A batch was given up: nothing is deleted any more, the next start replays it all.
    keep_all: bool,
}

fn open_segment(dir: &Path, node: &str, n: u64) -> io::Result<Segment> {
    let path = dir.join(format!("{node}-{n}.log"));
    let file = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(&path)?;
    file.try_lock().map_err(io::Error::other)?;
    Ok(Segment {
        path,
        file: Arc::new(file),
    })
}

impl Journal {
    /// Starts this node's journal in `dir` (made if missing).
    pub fn open(dir: &Path, node: &str) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let current = open_segment(dir, node, 0)?;
        Ok(Self {
            dir: dir.to_owned(),
            node: node.to_owned(),
            next_segment: 1,
            current,
            bytes: 0,
            appended: 0,
            closed: VecDeque::new(),
            unsynced: Vec::new(),
            keep_all: false,
        })
    }

    /// Appends a finished request.
    pub fn append(&mut self, event: &UsageEvent, tz: Tz) -> io::Result<()> {
        /// [`Record`] as written, borrowing what it writes.
        #[derive(Serialize)]
        struct Line<'a> {
            event: &'a UsageEvent,
            tz: &'a str,
        }
        let mut line = Vec::with_capacity(256);
        serde_json::to_writer(
            &mut line,
            &Line {
                event,
                tz: tz.name(),
            },
        )
        .map_err(io::Error::other)?;
        line.push(b'\n');
        (&*self.current.file).write_all(&line)?;
        self.bytes += line.len() as u64;
        self.appended += 1;
        if self.unsynced.is_empty() {
            self.unsynced.push(self.current.file.clone());
        }
        if self.bytes >= SEGMENT_BYTES {
            let next = open_segment(&self.dir, &self.node, self.next_segment)?;
            self.next_segment += 1;
            let old = std::mem::replace(&mut self.current, next);
            if !self.unsynced.iter().any(|f| Arc::ptr_eq(f, &old.file)) {
                self.unsynced.push(old.file.clone());
            }
            self.closed.push_back((old, self.appended));
            self.bytes = 0;
        }
        Ok(())
    }

    /// The first `committed` records appended are in the database: deletes what holds only
    /// those.
    pub fn committed(&mut self, committed: u64) {
        if self.keep_all {
            return;
        }
        while let Some((_, upto)) = self.closed.front() {
            if *upto > committed {
                break;
            }
            if let Some((segment, _)) = self.closed.pop_front() {
                remove(&segment.path);
            }
        }
        if committed == self.appended && self.bytes >= TRUNCATE_BYTES {
            if let Err(e) = self.current.file.set_len(0) {
                tracing::warn!(error = %e, "could not empty the metering journal");
            } else {
                self.bytes = 0;
            }
        }
    }

    /// A batch was given up: keep everything for the next start to replay.
    pub fn keep_all(&mut self) {
        self.keep_all = true;
    }

    /// The files to fsync now.
    pub fn take_unsynced(&mut self) -> Vec<Arc<File>> {
        std::mem::take(&mut self.unsynced)
    }

    /// Everything is committed and the node stops: deletes its segments.
    pub fn close(self, committed: u64) {
        if self.keep_all || committed < self.appended {
            return;
        }
        for (segment, _) in &self.closed {
            remove(&segment.path);
        }
        remove(&self.current.path);
        // Gone only if empty: another node may share it.
        let _ = fs::remove_dir(&self.dir);
    }
}

fn remove(path: &Path) {
    if let Err(e) = fs::remove_file(path) {
        tracing::warn!(error = %e, path = %path.display(), "could not delete a journal segment");
    }
}

/// The segments in `dir` that no living node holds (a node that died, or this node's last
/// run), each now locked by this process, with the records in them. A line cut short (power
/// loss mid-write) is skipped.
pub fn leftovers(dir: &Path) -> io::Result<Vec<(PathBuf, File, Vec<Record>)>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut found = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_none_or(|e| e != "log") {
            continue;
        }
        let file = OpenOptions::new().read(true).write(true).open(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => continue,
            Err(fs::TryLockError::Error(e)) => return Err(e),
        }
        let mut records = Vec::new();
        for line in io::BufReader::new(&file).lines() {
            let Ok(line) = line else { break };
            if let Ok(record) = serde_json::from_str::<Record>(&line) {
                records.push(record);
            }
        }
        found.push((path, file, records));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn event(n: u32) -> UsageEvent {
        UsageEvent {
            id: format!("uev_{n}"),
            at: Utc::now(),
            user_id: "usr_1".into(),
            key_id: Some("key_1".into()),
            model_id: "m".into(),
            workspace_id: None,
            input_tokens: 1,
            output_tokens: 2,
            cost_micros: 3,
            status: 200,
        }
    }

    #[test]
    fn a_live_nodes_segments_are_not_replayed_and_a_gone_ones_are() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(dir.path(), "node_a").unwrap();
        for n in 0..3 {
            journal.append(&event(n), chrono_tz::Europe::Paris).unwrap();
        }
        assert!(leftovers(dir.path()).unwrap().is_empty(), "it is locked");
        drop(journal);
        let found = leftovers(dir.path()).unwrap();
        assert_eq!(found.len(), 1);
        let ids: Vec<&str> = found[0].2.iter().map(|r| r.event.id.as_str()).collect();
        assert_eq!(ids, ["uev_0", "uev_1", "uev_2"]);
        assert_eq!(found[0].2[0].tz(), chrono_tz::Europe::Paris);
    }

    #[test]
    fn a_line_cut_short_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal = Journal::open(dir.path(), "node_a").unwrap();
        journal.append(&event(1), chrono_tz::UTC).unwrap();
        (&*journal.current.file)
            .write_all(b"{\"event\":{\"id\":")
            .unwrap();
        drop(journal);
        let found = leftovers(dir.path()).unwrap();
        assert_eq!(found[0].2.len(), 1);
    }

    #[test]
    fn committed_segments_are_deleted_and_a_clean_stop_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let journal_dir = dir.path().join("journal");
        let mut journal = Journal::open(&journal_dir, "node_a").unwrap();
        journal.append(&event(1), chrono_tz::UTC).unwrap();
        journal.committed(0);
        journal.close(0);
        assert_eq!(
            fs::read_dir(&journal_dir).unwrap().count(),
            1,
            "one not committed"
        );

        let mut journal = Journal::open(&journal_dir, "node_b").unwrap();
        journal.append(&event(2), chrono_tz::UTC).unwrap();
        journal.close(1);
        // node_a's segment is still there for a start to replay.
        let left: Vec<_> = fs::read_dir(&journal_dir).unwrap().collect();
        assert_eq!(left.len(), 1);
    }
}
