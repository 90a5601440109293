//! `mock-upstream [--listen 127.0.0.1:0] [--no-record]`: the mock provider as a process.
//!
//! Prints one line, `mock-upstream listening on http://ADDR`, once bound, then serves until
//! killed. `--no-record` keeps no request log (for long load runs; counts still work).

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;

const USAGE: &str = "usage: mock-upstream [--listen ADDR] [--no-record]";

#[allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the binary's whole interface is its one stdout line and usage errors"
)]
fn main() -> ExitCode {
    let mut listen = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut record = true;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--no-record" => {
                record = false;
                continue;
            }
            "--listen" => args.next(),
            _ => match arg.strip_prefix("--listen=") {
                Some(v) => Some(v.to_owned()),
                None => {
                    eprintln!("mock-upstream: unknown argument `{arg}`\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
        };
        match value.as_deref().map(str::parse) {
            Some(Ok(addr)) => listen = addr,
            _ => {
                eprintln!("mock-upstream: --listen needs an address like 127.0.0.1:8080\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mock-upstream: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let mock = match testkit::MockUpstream::bind(listen, record).await {
            Ok(mock) => mock,
            Err(e) => {
                eprintln!("mock-upstream: cannot listen on {listen}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "mock-upstream listening on {}", mock.base_url());
        let _ = out.flush();
        drop(out);
        std::future::pending::<()>().await;
        ExitCode::SUCCESS
    })
}
