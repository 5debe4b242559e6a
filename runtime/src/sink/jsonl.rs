use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use super::{Sink, SinkError, SinkFuture, WireEvent};

/// Writes each event as one line of JSON (`{"uuid":…,"event":…,"distinct_id":…,…}`).
///
/// The default sink when no PostHog key is configured, so a fresh checkout shows its events
/// on stdout. Writes happen on the tracker's worker thread.
pub struct JsonLinesSink {
    out: Mutex<Box<dyn Write + Send>>,
}

impl JsonLinesSink {
    /// Writes to standard output.
    pub fn stdout() -> Self {
        Self::writer(std::io::stdout())
    }

    /// Appends to a file, creating it if needed.
    pub fn file(path: impl AsRef<Path>) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self::writer(std::io::BufWriter::new(file)))
    }

    /// Writes to any writer.
    pub fn writer(writer: impl Write + Send + 'static) -> Self {
        Self { out: Mutex::new(Box::new(writer)) }
    }
}

impl Sink for JsonLinesSink {
    fn send<'a>(&'a self, batch: &'a [WireEvent]) -> SinkFuture<'a, Result<(), SinkError>> {
        Box::pin(async move {
            let mut out = self.out.lock().map_err(|_| SinkError::permanent("JSON-lines writer poisoned"))?;
            for event in batch {
                serde_json::to_writer(&mut *out, event).map_err(|e| SinkError::permanent(e.to_string()))?;
                out.write_all(b"\n").map_err(|e| SinkError::retryable(e.to_string()))?;
            }
            out.flush().map_err(|e| SinkError::retryable(e.to_string()))
        })
    }
}
