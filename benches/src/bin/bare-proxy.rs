//! `bare-proxy --upstream http://127.0.0.1:PORT [--listen 127.0.0.1:0]`: the bare hyper
//! passthrough proxy of `benches::bare_proxy`, as a process for the load benchmark.
//!
//! Prints `bare-proxy listening on http://ADDR` once bound, then serves until killed.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use benches::bare_proxy::{self, Upstream};

const USAGE: &str = "usage: bare-proxy --upstream http://HOST:PORT [--listen ADDR]";

fn parse_args() -> Result<(Upstream, SocketAddr), String> {
    let mut upstream = None;
    let mut listen: SocketAddr = ([127, 0, 0, 1], 0).into();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--upstream" => upstream = Some(Upstream::parse(&value()?)?),
            "--listen" => {
                let v = value()?;
                listen = v.parse().map_err(|e| format!("bad --listen {v:?}: {e}"))?;
            }
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    let upstream = upstream.ok_or_else(|| format!("--upstream is required\n{USAGE}"))?;
    Ok((upstream, listen))
}

#[allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark tool, not part of the product: the run script reads its stdout"
)]
fn main() -> ExitCode {
    let (upstream, listen) = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bare-proxy: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        match bare_proxy::spawn(listen, upstream).await {
            Ok(addr) => {
                println!("bare-proxy listening on http://{addr}");
                let _ = std::io::stdout().flush();
                std::future::pending::<()>().await;
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("bare-proxy: cannot listen on {listen}: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
