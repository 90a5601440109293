//! Process metrics read from `/proc/self` at scrape (Linux; elsewhere none are reported):
//! resident memory, CPU seconds, open and maximum file descriptors.

/// What `/proc/self` tells; `None` where it could not be read.
#[derive(Debug, Default)]
pub(super) struct Process {
    pub(super) rss_bytes: Option<u64>,
    pub(super) cpu_seconds: Option<f64>,
    pub(super) open_fds: Option<u64>,
    pub(super) max_fds: Option<u64>,
}

/// Clock ticks per second for `/proc/self/stat` times: `sysconf(_SC_CLK_TCK)` is 100 on every
/// Linux architecture this builds for.
const TICKS: f64 = 100.0;
const PAGE: u64 = 4096;

pub(super) fn read() -> Process {
    let stat = std::fs::read_to_string("/proc/self/stat").ok();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let after = stat
        .as_deref()
        .and_then(|s| s.rsplit_once(')'))
        .map(|(_, rest)| rest.split_whitespace().collect::<Vec<_>>());
    let field = |i: usize| -> Option<u64> { after.as_ref()?.get(i)?.parse().ok() };
    // `rest` starts at field 3 (state): utime is field 14, stime 15, rss 24.
    let cpu = field(11)
        .zip(field(12))
        .map(|(u, s)| (u + s) as f64 / TICKS);
    let rss = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|pages| pages * PAGE)
        .or_else(|| field(21).map(|p| p * PAGE));
    let open_fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as u64);
    let max_fds = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))?
                .split_whitespace()
                .nth(3)?
                .parse()
                .ok()
        });
    Process {
        rss_bytes: rss,
        cpu_seconds: cpu,
        open_fds,
        max_fds,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn linux_reports_every_process_metric() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let p = super::read();
        assert!(p.rss_bytes.is_some_and(|r| r > 1 << 20), "{p:?}");
        assert!(p.cpu_seconds.is_some(), "{p:?}");
        assert!(p.open_fds.is_some_and(|n| n >= 3), "{p:?}");
        assert!(p.max_fds.is_some(), "{p:?}");
    }
}
