//! `bitrouter route <model>`: the compiled fallback chain, each hop with its protocol and why —
//! from the running daemon's live table when one answers for this home (or on `--socket`),
//! else compiled from the file (always with `--file`).

use std::process::ExitCode;

use anyhow::Result;
use compiler::EnvMode;
use compiler::table::Protocol;
use runtime::control::client::{self, Probe};
use runtime::explain::{self, RouteReport};
use runtime::{LoadOptions, Loaded};
use serde::Serialize;

use crate::args::{Global, InboundProtocol, RouteArgs};
use crate::output::{self, Hinted};

pub(crate) fn run(g: &Global, a: &RouteArgs) -> Result<ExitCode> {
    let inbound = a.inbound.map(inbound_protocol);
    if let Some(socket) = &a.socket {
        return live(socket, a, inbound);
    }
    let paths = super::paths(g);
    let loaded = if a.file {
        runtime::config::load(&paths, LoadOptions::new(EnvMode::Lenient))?
    } else {
        let located = runtime::config::locate(&paths, None);
        match client::probe(&located.daemon.socket) {
            Probe::Live(_) => return live(&located.daemon.socket, a, inbound),
            Probe::Absent { .. } => {}
            Probe::Broken(e) => output::message(&format!(
                "warning: {}; compiling the file instead",
                output::chain(&e)
            )),
        }
        located.config?
    };
    from_file(&loaded, a, inbound)
}

fn from_file(loaded: &Loaded, a: &RouteArgs, inbound: Option<Protocol>) -> Result<ExitCode> {
    let compiled = match &loaded.compiled {
        Ok(c) => c,
        Err(d) => {
            output::diagnostics(&loaded.source, d);
            output::fail(
                "the configuration is invalid",
                Some("fix the errors above; `bitrouter config validate` checks the file"),
            );
            return Ok(ExitCode::from(1));
        }
    };
    match explain::explain(&compiled.table, &a.model, inbound) {
        Ok(report) => print(&report, None, a.json),
        Err(e) => {
            output::fail(&e.message, e.hint.as_deref());
            Ok(ExitCode::from(1))
        }
    }
}

/// The chain from the daemon's live table, through the control socket.
fn live(socket: &std::path::Path, a: &RouteArgs, inbound: Option<Protocol>) -> Result<ExitCode> {
    let reply = client::route(socket, &a.model, inbound.map(Protocol::as_str))
        .map_err(|e| Hinted::wrap(e, "is the daemon running? `bitrouter status` shows it"))?;
    match reply {
        Ok(r) => print(&r.route, Some(&r.config_hash), a.json),
        Err(f) => {
            output::fail(&f.error, f.hint.as_deref());
            Ok(ExitCode::from(1))
        }
    }
}

/// `route --json`: the report, and where it came from.
#[derive(Serialize)]
struct Sourced<'a> {
    #[serde(flatten)]
    route: &'a RouteReport,
    /// `daemon` (its live table) or `file`.
    source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    config_hash: Option<&'a str>,
}

fn print(route: &RouteReport, live_hash: Option<&str>, json: bool) -> Result<ExitCode> {
    if json {
        let v = Sourced {
            route,
            source: if live_hash.is_some() {
                "daemon"
            } else {
                "file"
            },
            config_hash: live_hash,
        };
        output::data(&serde_json::to_string_pretty(&v)?);
    } else {
        let mut text = route.human();
        if let Some(h) = live_hash {
            let short = h.get(..12).unwrap_or(h);
            text.insert_str(
                0,
                &format!("from the running daemon (config hash {short})\n"),
            );
        }
        output::data(&text);
    }
    Ok(ExitCode::SUCCESS)
}

fn inbound_protocol(p: InboundProtocol) -> Protocol {
    match p {
        InboundProtocol::ChatCompletions => Protocol::ChatCompletions,
        InboundProtocol::Responses => Protocol::Responses,
        InboundProtocol::Messages => Protocol::Messages,
        InboundProtocol::GenerateContent => Protocol::GenerateContent,
    }
}
