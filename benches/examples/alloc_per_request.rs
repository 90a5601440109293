//! Allocations per request through the data plane, against the bare hyper proxy, in one
//! process with a counting global allocator.
//!
//! `cargo run --release -p benches --example alloc_per_request [-- N] [--multi-thread]`
//!
//! Starts the mock upstream (`testkit`), the bare proxy (`benches::bare_proxy`) and the data
//! plane (`dataplane::Server`, passthrough to the mock) on one tokio runtime (current-thread by
//! default, so the counts repeat exactly), then sends N sequential requests (after N/10 of
//! warm-up) with a pooled hyper client, non-streaming and streaming, direct to the mock, through
//! the bare proxy and through the data plane. The counts are process-wide (client and mock
//! included, the same work on every path), so each path minus "direct" is that hop's cost.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a measurement program: any failure should stop it, loudly"
)]

use std::net::SocketAddr;

use benches::alloc::{CountingAlloc, total_allocations};
use benches::bare_proxy::{self, Upstream};
use bytes::Bytes;
use compiler::{EnvMode, SourceFile};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpListener;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const NON_STREAM: &[u8] =
    br#"{"model":"gpt-4.1","messages":[{"role":"user","content":"Say hello."}]}"#;
const STREAM: &[u8] =
    br#"{"model":"gpt-4.1","messages":[{"role":"user","content":"Say hello."}],"stream":true}"#;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// Allocations per request and response body bytes over `n` sequential requests.
async fn per_request(
    client: &HttpClient,
    to: SocketAddr,
    body: &'static [u8],
    n: u64,
) -> (f64, usize) {
    let uri: Uri = format!("http://{to}/v1/chat/completions").parse().unwrap();
    let one = || async {
        let req = Request::post(uri.clone())
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(body)))
            .unwrap();
        let resp = client.request(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{to}: {:?}", resp.headers());
        let mut body = resp.into_body();
        let mut len = 0;
        // Frames are dropped as they come: no buffer of our own, so any difference between
        // paths is theirs.
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.unwrap().into_data() {
                len += data.len();
            }
        }
        len
    };
    for _ in 0..(n / 10).max(10) {
        one().await;
    }
    let before = total_allocations();
    let mut len = 0;
    for _ in 0..n {
        len = one().await;
    }
    ((total_allocations() - before) as f64 / n as f64, len)
}

async fn dataplane_server(mock: SocketAddr) -> SocketAddr {
    let yaml = format!(
        "inherit_defaults: false\n\
         server: {{ skip_auth: true, limits: {{ max_in_flight: 4096 }} }}\n\
         providers:\n  \
           mock: {{ api_base: \"http://{mock}/v1\", api_key: bench, api_protocol: chat_completions, \
                    allow_private: true, models: [{{id: gpt-4.1}}] }}\n"
    );
    let compiled = compiler::compile(&SourceFile::new("bench.yaml", yaml), &(), EnvMode::Lenient)
        .unwrap_or_else(|d| panic!("the bench config does not compile: {d:?}"));
    let server = dataplane::Server::new(compiled.table);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(server.run(listener, std::future::pending()));
    addr
}

#[allow(clippy::print_stdout, reason = "the measurement's report")]
fn main() {
    let mut n: u64 = 10_000;
    let mut multi_thread = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--multi-thread" => multi_thread = true,
            a => {
                n = a
                    .parse()
                    .expect("usage: alloc_per_request [N] [--multi-thread]")
            }
        }
    }
    let rt = if multi_thread {
        tokio::runtime::Builder::new_multi_thread()
    } else {
        tokio::runtime::Builder::new_current_thread()
    }
    .enable_all()
    .build()
    .unwrap();
    rt.block_on(async {
        let mock = testkit::MockUpstream::bind(([127, 0, 0, 1], 0).into(), false)
            .await
            .unwrap();
        let bare = bare_proxy::spawn(([127, 0, 0, 1], 0).into(), Upstream::from_addr(mock.addr()))
            .await
            .unwrap();
        let router = dataplane_server(mock.addr()).await;

        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client: HttpClient = Client::builder(TokioExecutor::new()).build(connector);

        let paths = [("direct to mock", mock.addr()), ("via bare proxy", bare), ("via bitrouter", router)];
        let mut counts = [[0.0; 2]; 3];
        let mut lens = [[0; 2]; 3];
        for (i, (_, addr)) in paths.iter().enumerate() {
            for (j, body) in [NON_STREAM, STREAM].into_iter().enumerate() {
                (counts[i][j], lens[i][j]) = per_request(&client, *addr, body, n).await;
            }
        }

        let runtime = if multi_thread { "multi-thread" } else { "current-thread" };
        println!(
            "allocations per request (process-wide: client + hops + mock), {n} sequential requests, \
             {runtime} runtime\n"
        );
        println!("| path | non-stream | stream | non-stream hop | stream hop |");
        println!("|---|---:|---:|---:|---:|");
        for (i, (name, _)) in paths.iter().enumerate() {
            let hop = |j: usize| {
                if i == 0 { "—".to_owned() } else { format!("{:+.1}", counts[i][j] - counts[0][j]) }
            };
            println!(
                "| {name} | {:.1} | {:.1} | {} | {} |",
                counts[i][0],
                counts[i][1],
                hop(0),
                hop(1)
            );
        }
        let extra = |j: usize| (counts[2][j] - counts[0][j]) - (counts[1][j] - counts[0][j]);
        println!(
            "| bitrouter hop − bare hop | | | {:+.1} | {:+.1} |",
            extra(0),
            extra(1)
        );
        println!(
            "\nresponse body bytes (non-stream / stream): direct {}/{}, bare {}/{}, bitrouter {}/{}",
            lens[0][0], lens[0][1], lens[1][0], lens[1][1], lens[2][0], lens[2][1]
        );
        println!(
            "target: bitrouter hop ≤ bare hop + 10 → non-stream {}, stream {}",
            if extra(0) <= 10.0 { "met" } else { "MISSED" },
            if extra(1) <= 10.0 { "met" } else { "MISSED" }
        );
    });
}
