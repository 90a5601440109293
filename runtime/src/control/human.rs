//! Text renderings of control answers for people: what `bitrouter status` prints. Data in,
//! text out; the CLI decides where it goes.

use std::fmt::Write as _;

use super::proto::{CredentialState, Status};
use crate::daemon::DaemonPaths;

impl Status {
    /// What `bitrouter status` prints for a running daemon.
    pub fn human(&self) -> String {
        let s = self;
        let mut o = String::from("bitrouter is running\n");
        let _ = writeln!(o, "  pid:         {}", s.pid);
        let _ = writeln!(o, "  listen:      http://{}", s.listen);
        let _ = writeln!(o, "  models:      {} routable", s.models);
        let _ = writeln!(o, "  config hash: {}", s.config_hash);
        let providers: Vec<String> = s
            .providers
            .iter()
            .filter(|p| p.in_file || p.credential == CredentialState::Set)
            .map(|p| format!("{} (key {})", p.name, p.credential.as_str()))
            .collect();
        let providers = if providers.is_empty() {
            "none configured".to_owned()
        } else {
            providers.join(", ")
        };
        let _ = writeln!(o, "  providers:   {providers}");
        let secs = s.uptime_secs;
        let (h, m, sec) = (secs / 3600, secs / 60 % 60, secs % 60);
        let _ = writeln!(o, "  uptime:      {h}h {m}m {sec}s");
        let draining = if s.draining { " (draining)" } else { "" };
        let _ = writeln!(o, "  in flight:   {}{draining}", s.in_flight);
        let _ = writeln!(
            o,
            "  requests:    {} served, {} errors, {} streams open",
            s.requests_served, s.request_errors, s.streams
        );
        let reload = match &s.last_reload {
            None => "none since start".to_owned(),
            Some(r) => format!(
                "{} via {}: {}",
                if r.ok { "ok" } else { "FAILED" },
                r.via.as_str(),
                r.message
            ),
        };
        let _ = writeln!(o, "  last reload: {reload}");
        o.push_str(&s.paths.human());
        o
    }
}

impl DaemonPaths {
    /// The files, one `label: path` line each (`status` prints them, running or not).
    pub fn human(&self) -> String {
        let (mut o, p) = (String::new(), self);
        for (label, path) in [
            ("socket", &p.socket),
            ("config", &p.config),
            ("env file", &p.env_file),
            ("home", &p.home),
            ("run dir", &p.run_dir),
            ("pid file", &p.pid_file),
            ("logs dir", &p.logs_dir),
            ("log file", &p.log_file),
        ] {
            let _ = writeln!(o, "  {:<12} {}", format!("{label}:"), path.display());
        }
        o
    }
}
