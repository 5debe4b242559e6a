//! The disk spool: batches that could not be delivered wait here, one file per batch, to be
//! delivered first (in order, with their event ids) by this tracker once the server answers,
//! or by the next tracker on the same directory.
//!
//! - **Atomic**: a batch is written to `<name>.tmp`, synced, renamed to `<name>.batch`, and the
//!   directory synced: a file named `.batch` is whole. A `.tmp` found at start is what a crash
//!   (or SIGKILL) left mid-write: it is moved into `aside/` and counted, as is a `.batch` that
//!   does not parse.
//! - **Ordered**: names are a sequence number, so the directory's order is the spooling order.
//! - **Bounded**: past the byte quota the oldest batches are deleted first, and counted.
//! - **One deliverer**: the process holding the directory's lock (`.lock`, an advisory lock via
//!   `fs4`, released by the OS when the process dies, so a crash never leaves it stale) is the
//!   only one that writes, delivers or deletes. Another tracker on the same directory spools
//!   nothing until it gets the lock (it tries again as it goes).
//!
//! A file is a header line `{"tally_spool":1,"events":N}` and N lines of wire events.
//! Everything here is blocking file I/O: the worker calls it through `spawn_blocking`.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::sink::WireEvent;

const BATCH: &str = "batch";
const TMP: &str = "tmp";
const ASIDE: &str = "aside";
const LOCK: &str = ".lock";

#[derive(Serialize, Deserialize)]
struct Header {
    tally_spool: u32,
    events: u64,
}

/// One spooled batch.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    seq: u64,
    path: PathBuf,
    bytes: u64,
    /// Its events, as the file's name says (read at start without opening the file).
    pub(crate) events: u64,
    /// Spooled by this tracker (its events are in this tracker's `spooled`).
    pub(crate) ours: bool,
}

impl Entry {
    /// Its place in the spool's order (unique within the directory).
    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }
}

/// What a quota eviction dropped.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Evicted {
    pub(crate) ours: u64,
    pub(crate) earlier: u64,
}

/// What was found at start (or when the lock was taken).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Found {
    /// Files moved aside (torn or unreadable).
    pub(crate) torn: u64,
    /// Events in batches an earlier process spooled.
    pub(crate) earlier_events: u64,
}

/// The oldest batch, read back.
pub(crate) enum Oldest {
    /// Nothing spooled (or the lock is someone else's).
    None,
    /// A whole batch.
    Batch(Entry, Vec<WireEvent>),
    /// A file that does not parse: moved aside.
    Corrupt(Entry),
}

/// The spool directory, held under its lock.
pub(crate) struct SpoolDir {
    dir: PathBuf,
    lock: File,
    holder: bool,
    entries: VecDeque<Entry>,
    bytes: u64,
    max_bytes: u64,
    next_seq: u64,
    /// The entry being delivered: never evicted under the deliverer's feet.
    sending: Option<u64>,
}

impl SpoolDir {
    /// Creates the directory if needed and opens its lock file; takes the lock if free.
    pub(crate) fn open(dir: &Path, max_bytes: u64) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        let lock = OpenOptions::new().create(true).truncate(false).write(true).open(dir.join(LOCK))?;
        Ok(Self {
            dir: dir.to_owned(),
            lock,
            holder: false,
            entries: VecDeque::new(),
            bytes: 0,
            max_bytes,
            next_seq: 0,
            sending: None,
        })
    }

    /// The directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes the lock if free, then scans the directory. `None`: the lock is someone else's.
    pub(crate) fn try_acquire(&mut self) -> io::Result<Option<Found>> {
        if self.holder {
            return Ok(Some(Found::default()));
        }
        match fs4::FileExt::try_lock(&self.lock) {
            Ok(()) => {}
            Err(fs4::TryLockError::WouldBlock) => return Ok(None),
            Err(fs4::TryLockError::Error(error)) => return Err(error),
        }
        self.holder = true;
        self.scan().map(Some)
    }

    /// Whether this process holds the lock.
    pub(crate) fn is_holder(&self) -> bool {
        self.holder
    }

    /// Whether batches are waiting.
    pub(crate) fn has_backlog(&self) -> bool {
        !self.entries.is_empty()
    }

    fn scan(&mut self) -> io::Result<Found> {
        let mut found = Found::default();
        let mut entries = Vec::new();
        for item in fs::read_dir(&self.dir)? {
            let path = item?.path();
            if !path.is_file() {
                continue;
            }
            let Some(name) = path.file_name().and_then(|name| name.to_str()).map(str::to_owned) else { continue };
            if name == LOCK {
                continue;
            }
            match parse_name(&name) {
                Some((seq, events, BATCH)) => {
                    let bytes = fs::metadata(&path)?.len();
                    entries.push(Entry { seq, path, bytes, events, ours: false });
                }
                _ if name.ends_with(&format!(".{TMP}")) || name.ends_with(&format!(".{BATCH}")) => {
                    self.move_aside(&path)?;
                    found.torn += 1;
                }
                _ => {}
            }
        }
        entries.sort_by_key(|entry| entry.seq);
        self.next_seq = entries.last().map_or(0, |entry| entry.seq + 1);
        self.bytes = entries.iter().map(|entry| entry.bytes).sum();
        found.earlier_events = entries.iter().map(|entry| entry.events).sum();
        self.entries = entries.into();
        Ok(found)
    }

    /// Writes a batch (whole or not at all), first evicting the oldest batches past the quota.
    pub(crate) fn write(&mut self, batch: &[WireEvent]) -> io::Result<(Entry, Evicted)> {
        if !self.holder {
            return Err(io::Error::new(io::ErrorKind::WouldBlock, "another process holds the spool's lock"));
        }
        let mut body = Vec::with_capacity(batch.len() * 256);
        serde_json::to_writer(&mut body, &Header { tally_spool: 1, events: batch.len() as u64 })?;
        body.push(b'\n');
        for event in batch {
            serde_json::to_writer(&mut body, event)?;
            body.push(b'\n');
        }
        let size = body.len() as u64;
        if size > self.max_bytes {
            return Err(io::Error::new(io::ErrorKind::StorageFull, "the batch is larger than the spool's quota"));
        }
        let evicted = self.evict(size)?;
        let seq = self.next_seq;
        self.next_seq += 1;
        let name = format!("{seq:020}-{}", batch.len());
        let tmp = self.dir.join(format!("{name}.{TMP}"));
        let path = self.dir.join(format!("{name}.{BATCH}"));
        let written = (|| {
            let mut file = File::create(&tmp)?;
            file.write_all(&body)?;
            file.sync_all()?;
            fs::rename(&tmp, &path)?;
            sync_dir(&self.dir)
        })();
        if let Err(error) = written {
            let _ = fs::remove_file(&tmp);
            return Err(error);
        }
        let entry = Entry { seq, path, bytes: size, events: batch.len() as u64, ours: true };
        self.bytes += size;
        self.entries.push_back(entry.clone());
        Ok((entry, evicted))
    }

    /// Deletes the oldest batches (but not the one being sent) until `room` more bytes fit.
    fn evict(&mut self, room: u64) -> io::Result<Evicted> {
        let mut evicted = Evicted::default();
        while self.bytes + room > self.max_bytes {
            let Some(index) = self.entries.iter().position(|entry| Some(entry.seq) != self.sending) else { break };
            let Some(entry) = self.entries.remove(index) else { break };
            remove_if_present(&entry.path)?;
            self.bytes -= entry.bytes;
            if entry.ours {
                evicted.ours += entry.events;
            } else {
                evicted.earlier += entry.events;
            }
        }
        Ok(evicted)
    }

    /// Reads the oldest batch back, marking it as being sent.
    pub(crate) fn oldest(&mut self) -> io::Result<Oldest> {
        let Some(entry) = self.entries.front().cloned() else { return Ok(Oldest::None) };
        if !self.holder {
            return Ok(Oldest::None);
        }
        match read_batch(&entry.path) {
            Ok(Some(events)) if events.len() as u64 == entry.events => {
                self.sending = Some(entry.seq);
                Ok(Oldest::Batch(entry, events))
            }
            Ok(_) => {
                self.forget(&entry);
                self.move_aside(&entry.path)?;
                Ok(Oldest::Corrupt(entry))
            }
            Err(error) => Err(error),
        }
    }

    /// Deletes a delivered batch. `false`: it was gone already.
    pub(crate) fn remove(&mut self, entry: &Entry) -> io::Result<bool> {
        self.sending = None;
        let present = self.forget(entry);
        remove_if_present(&entry.path)?;
        if present {
            sync_dir(&self.dir)?;
        }
        Ok(present)
    }

    /// The batch being sent was not delivered: it stays first.
    pub(crate) fn unmark(&mut self) {
        self.sending = None;
    }

    fn forget(&mut self, entry: &Entry) -> bool {
        let Some(index) = self.entries.iter().position(|e| e.seq == entry.seq) else { return false };
        if let Some(entry) = self.entries.remove(index) {
            self.bytes -= entry.bytes;
        }
        true
    }

    fn move_aside(&self, path: &Path) -> io::Result<()> {
        let aside = self.dir.join(ASIDE);
        fs::create_dir_all(&aside)?;
        let Some(name) = path.file_name() else { return Ok(()) };
        fs::rename(path, aside.join(name))
    }
}

/// `00000000000000000042-500.batch` → (42, 500, "batch").
fn parse_name(name: &str) -> Option<(u64, u64, &str)> {
    let (stem, extension) = name.rsplit_once('.')?;
    let (seq, events) = stem.split_once('-')?;
    Some((seq.parse().ok()?, events.parse().ok()?, extension))
}

/// The batch in a file; `None` when it is not a whole batch.
fn read_batch(path: &Path) -> io::Result<Option<Vec<WireEvent>>> {
    let bytes = fs::read(path)?;
    let mut lines = bytes.split(|&byte| byte == b'\n').filter(|line| !line.is_empty());
    let Some(Ok(header)) = lines.next().map(serde_json::from_slice::<Header>) else { return Ok(None) };
    if header.tally_spool != 1 {
        return Ok(None);
    }
    let events: Result<Vec<WireEvent>, _> = lines.map(serde_json::from_slice).collect();
    Ok(events.ok().filter(|events| events.len() as u64 == header.events))
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// Makes a rename durable (on Unix a directory can be opened and synced; elsewhere this is a
/// no-op).
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}
