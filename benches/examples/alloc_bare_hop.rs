//! Allocations per request of one bare hyper proxy hop, in one self-contained file: a hyper
//! "hello" upstream, the plainest hyper 1.x proxy (`http1::Builder` server + pooled legacy
//! client), and a hyper client, all on one current-thread runtime with a counting allocator.
//!
//! `cargo run --release -p benches --example alloc_bare_hop [N]`
//!
//! Prints the process-wide allocations per request direct to the upstream and through the
//! proxy; the difference is the hop. The proxy here is written out in this file, independent of
//! `benches::bare_proxy`, to check the "about 19" quoted for a bare hyper hop; the last line
//! puts `benches::bare_proxy` (the load benchmark's yardstick: `auto` server, `Host` rewrite,
//! 502 on upstream errors) through the same measurement.

#![allow(
    clippy::unwrap_used,
    reason = "a measurement program: any failure should stop it, loudly"
)]

use std::convert::Infallible;
use std::net::SocketAddr;

use benches::alloc::{CountingAlloc, total_allocations};
use benches::bare_proxy::Upstream;
use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

const ANSWER: &[u8] = br#"{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"Hello!"},"finish_reason":"stop"}]}"#;
const QUESTION: &[u8] = br#"{"model":"m","messages":[{"role":"user","content":"Say hello."}]}"#;

fn connector() -> HttpConnector {
    let mut c = HttpConnector::new();
    c.set_nodelay(true);
    c
}

async fn upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (s, _) = listener.accept().await.unwrap();
            s.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let svc = service_fn(|req: Request<Incoming>| async move {
                    // Read the whole request body, as a real upstream would.
                    let _ = req.into_body().collect().await;
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(ANSWER))))
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    addr
}

async fn proxy(to: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let client: Client<HttpConnector, Incoming> =
        Client::builder(TokioExecutor::new()).build(connector());
    let authority: http::uri::Authority = to.to_string().parse().unwrap();
    tokio::spawn(async move {
        loop {
            let (s, _) = listener.accept().await.unwrap();
            s.set_nodelay(true).unwrap();
            let client = client.clone();
            let authority = authority.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let client = client.clone();
                    let authority = authority.clone();
                    async move {
                        let (mut parts, body) = req.into_parts();
                        let mut uri = std::mem::take(&mut parts.uri).into_parts();
                        uri.scheme = Some(http::uri::Scheme::HTTP);
                        uri.authority = Some(authority);
                        parts.uri = Uri::from_parts(uri).unwrap();
                        client.request(Request::from_parts(parts, body)).await
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    addr
}

/// Allocations per request over `n` sequential requests (after `n / 10` of warm-up).
async fn per_request(client: &Client<HttpConnector, Full<Bytes>>, to: SocketAddr, n: u64) -> f64 {
    let uri: Uri = format!("http://{to}/v1/chat/completions").parse().unwrap();
    let one = || async {
        let req = Request::post(uri.clone())
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(QUESTION)))
            .unwrap();
        let mut body = client.request(req).await.unwrap().into_body();
        while let Some(frame) = body.frame().await {
            drop(frame.unwrap());
        }
    };
    for _ in 0..n / 10 {
        one().await;
    }
    let before = total_allocations();
    for _ in 0..n {
        one().await;
    }
    (total_allocations() - before) as f64 / n as f64
}

#[allow(clippy::print_stdout, reason = "the measurement's report")]
fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let up = upstream().await;
        let px = proxy(up).await;
        let client = Client::builder(TokioExecutor::new()).build(connector());
        let direct = per_request(&client, up, n).await;
        let via = per_request(&client, px, n).await;
        let lib = benches::bare_proxy::spawn(([127, 0, 0, 1], 0).into(), Upstream::from_addr(up))
            .await
            .unwrap();
        let via_lib = per_request(&client, lib, n).await;
        println!("allocations per request, {n} sequential requests, one process:");
        println!("  direct to a hyper upstream:               {direct:.1}");
        println!(
            "  through this file's bare proxy:           {via:.1}  (hop {:.1})",
            via - direct
        );
        println!(
            "  through benches::bare_proxy (auto, Host): {via_lib:.1}  (hop {:.1})",
            via_lib - direct
        );
    });
}
