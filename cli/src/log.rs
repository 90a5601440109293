//! The log's writer: lines are appended to one in-memory buffer and a writer thread writes
//! the whole buffer every [`INTERVAL`], so a request's log line costs a copy, not a system
//! call or a thread wake-up (tracing-appender's non-blocking writer wakes its thread for every
//! line, which cost about 30% of the requests per second at 16 concurrent callers).
//!
//! Bounded: past [`CAP`] bytes waiting, new lines are dropped and counted, and the next write
//! says how many were lost. Dropping the [`Guard`] writes what is left and stops the thread.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the writer thread writes what has been logged.
pub(crate) const INTERVAL: Duration = Duration::from_millis(50);

/// The most bytes waiting to be written before new lines are dropped.
pub(crate) const CAP: usize = 8 << 20;

#[derive(Debug, Default)]
struct Shared {
    /// The lines logged since the last write.
    pending: Mutex<Vec<u8>>,
    /// Lines dropped since the last write because `pending` was full.
    dropped: AtomicU64,
    /// Set by the guard to ask the thread for a last write.
    stop: Mutex<bool>,
    wake: Condvar,
}

impl Shared {
    fn pending(&self) -> MutexGuard<'_, Vec<u8>> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The `MakeWriter` the fmt subscriber writes each line through.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    shared: Arc<Shared>,
    cap: usize,
}

impl Write for &Writer {
    /// One whole line (the fmt layer formats a line, then writes it with one `write_all`).
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        let mut pending = self.shared.pending();
        if pending.len().saturating_add(line.len()) > self.cap {
            drop(pending);
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        } else {
            pending.extend_from_slice(line);
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Writer {
    type Writer = &'a Writer;

    fn make_writer(&'a self) -> &'a Writer {
        self
    }
}

/// Held for as long as lines are logged; dropping it writes the rest and stops the thread.
#[derive(Debug)]
pub(crate) struct Guard {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        *self
            .shared
            .stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = true;
        self.shared.wake.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A writer into `out` and its guard; an error when the system refuses the writer thread.
pub(crate) fn writer(out: impl Write + Send + 'static) -> io::Result<(Writer, Guard)> {
    with(out, INTERVAL, CAP)
}

fn with(
    out: impl Write + Send + 'static,
    every: Duration,
    cap: usize,
) -> io::Result<(Writer, Guard)> {
    let shared = Arc::new(Shared::default());
    let s = Arc::clone(&shared);
    let thread = std::thread::Builder::new()
        .name("bitrouter-log".into())
        .spawn(move || run(&s, out, every))?;
    let writer = Writer {
        shared: Arc::clone(&shared),
        cap,
    };
    Ok((
        writer,
        Guard {
            shared,
            thread: Some(thread),
        },
    ))
}

/// The writer thread: every `every` (or when stopped), swap the buffer for an empty one and
/// write it out of the lock; both buffers keep their capacity.
fn run(shared: &Shared, mut out: impl Write, every: Duration) {
    let mut spare = Vec::new();
    loop {
        let stopping = {
            let stop = shared.stop.lock().unwrap_or_else(PoisonError::into_inner);
            let (stop, _) = shared
                .wake
                .wait_timeout_while(stop, every, |s| !*s)
                .unwrap_or_else(PoisonError::into_inner);
            *stop
        };
        std::mem::swap(&mut *shared.pending(), &mut spare);
        let dropped = shared.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            let _ = writeln!(
                spare,
                "{dropped} log lines were dropped: the log writer fell behind"
            );
        }
        if !spare.is_empty() {
            // A log that cannot be written has nowhere to say so; the lines are lost.
            let _ = out.write_all(&spare).and_then(|()| out.flush());
            spare.clear();
        }
        if stopping {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `out` the test can read.
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Sink {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[test]
    fn lines_are_written_in_order_and_all_on_drop() {
        let sink = Sink::default();
        // An interval far longer than the test: only the guard's drop writes.
        let (w, guard) = with(sink.clone(), Duration::from_secs(3600), CAP).unwrap();
        for i in 0..1000 {
            (&w).write_all(format!("line {i}\n").as_bytes()).unwrap();
        }
        assert_eq!(sink.text(), "", "written before the interval or the drop");
        drop(guard);
        let text = sink.text();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1000);
        assert_eq!(lines[0], "line 0");
        assert_eq!(lines[999], "line 999");
    }

    #[test]
    fn lines_are_written_every_interval_without_a_drop() {
        let sink = Sink::default();
        let (w, _guard) = with(sink.clone(), Duration::from_millis(10), CAP).unwrap();
        (&w).write_all(b"first\n").unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while sink.text().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(sink.text(), "first\n");
    }

    #[test]
    fn past_the_cap_lines_are_dropped_and_the_log_says_how_many() {
        let sink = Sink::default();
        let (w, guard) = with(sink.clone(), Duration::from_secs(3600), 20).unwrap();
        for _ in 0..5 {
            (&w).write_all(b"0123456789\n").unwrap();
        }
        drop(guard);
        assert_eq!(
            sink.text(),
            "0123456789\n4 log lines were dropped: the log writer fell behind\n"
        );
    }
}
