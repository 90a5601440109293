//! The daemon's control plane: a Unix socket speaking versioned JSON lines (`proto`), served
//! inside `bitrouter serve` (`server`) and used by `start`/`stop`/`status`/`reload`/`restart`
//! (`client`), plus where the daemon's files live (`paths`).

pub(crate) mod client;
pub(crate) mod paths;
pub(crate) mod proto;
pub(crate) mod server;

/// Leaves the controlling terminal's session (`bitrouter start` runs `serve --detached`).
///
/// The classic double fork is not possible here without `unsafe` (`fork`/`pre_exec`), which
/// this workspace forbids. Instead `start` spawns `serve` as an ordinary child (stdin null,
/// output to the log file, not waited for) and the child calls `setsid()` itself as its first
/// act: a fresh session with no controlling terminal, so closing the terminal or pressing
/// Ctrl-C there never reaches the daemon. The child is not a process-group leader (it was not
/// spawned with `process_group`), which is what makes `setsid()` succeed. When `start` exits,
/// the daemon is re-parented to init (or the nearest subreaper), as after a double fork.
pub(crate) fn detach() -> std::io::Result<()> {
    rustix::process::setsid()
        .map(|_| ())
        .map_err(std::io::Error::from)
}
