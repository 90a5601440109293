//! OTLP export against a real receiver (`testkit::otlp`, decoding with the official
//! opentelemetry-proto definitions), over HTTP and gRPC: the spans of a traced request arrive
//! with the caller's trace id, the server span as the caller's child and one client span per
//! attempt under it, with their GenAI attributes; the upstream got `traceparent` naming its
//! attempt's span; the metrics arrive on the interval; a dead collector costs requests
//! nothing but the dropped-spans counter.

use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use runtime::StartOptions;
use runtime::observe::ObserveOptions;
use testkit::MockUpstream;
use testkit::otlp::OtlpReceiver;

use crate::support;

const TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT: &str = "b7ad6b7169203331";

fn config(mock: &str, endpoint: &str, protocol: &str) -> String {
    format!(
        r#"inherit_defaults: false
server: {{ skip_auth: true }}
providers:
  bad: {{ api_base: "{mock}/v1", api_key: k, api_protocol: chat_completions, allow_private: true, headers: {{ x-mock-fault: "status=503" }}, models: [{{id: m}}] }}
  good: {{ api_base: "{mock}/v1", api_key: k, api_protocol: chat_completions, allow_private: true, models: [{{id: m}}] }}
models:
  chain: {{ endpoints: [ {{provider: bad, model_id: m}}, {{provider: good, model_id: m}} ] }}
plugins:
  bitrouter-observe:
    otel: {{ endpoint: "{endpoint}", protocol: {protocol}, service_name: bitrouter-test, sampler: parentbased_always_on, headers: {{ x-tenant: t1 }} }}
"#
    )
}

async fn start(name: &str, yaml: &str) -> (Arc<runtime::Daemon>, std::net::SocketAddr) {
    let home = support::home(name, yaml, "");
    let (paths, problem) = runtime::home::resolve(&support::options(&home));
    assert!(problem.is_none(), "{problem:?}");
    let start = StartOptions {
        listen: Some("127.0.0.1:0".into()),
        observe: ObserveOptions {
            metric_interval: Some(Duration::from_millis(200)),
            span_delay: Duration::from_millis(50),
        },
        ..StartOptions::default()
    };
    let running = match runtime::daemon::prepare(paths, start) {
        Ok(p) => p.bind().await.unwrap(),
        Err(e) => panic!("{e}"),
    };
    let addr = running.local_addr();
    let daemon = Arc::clone(running.daemon());
    tokio::spawn(running.serve());
    (daemon, addr)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn attr<'a>(s: &'a Span, key: &str) -> Option<&'a AnyValue> {
    s.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
}

fn str_attr<'a>(s: &'a Span, key: &str) -> Option<&'a str> {
    match attr(s, key) {
        Some(AnyValue::StringValue(v)) => Some(v),
        _ => None,
    }
}

async fn exports_over(protocol: &str) {
    let mock = MockUpstream::start().await.unwrap();
    let rx = OtlpReceiver::start().await.unwrap();
    let endpoint = match protocol {
        "http" => format!("http://{}", rx.http),
        _ => format!("http://{}", rx.grpc),
    };
    let (_daemon, addr) = start(
        &format!("otlp-{protocol}"),
        &config(&mock.base_url(), &endpoint, protocol),
    )
    .await;
    let body = r#"{"model":"chain","messages":[{"role":"user","content":"Say hello."}]}"#;
    let traceparent = format!("00-{TRACE}-{PARENT}-01");
    let r = testkit::load::send_with(
        addr,
        "POST",
        "/v1/chat/completions",
        body,
        &[("traceparent", &traceparent)],
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);

    let got = rx
        .wait_for(Duration::from_secs(10), |r| {
            r.traces
                .iter()
                .flat_map(|t| &t.resource_spans)
                .flat_map(|r| &r.scope_spans)
                .map(|s| s.spans.len())
                .sum::<usize>()
                >= 3
        })
        .await;
    assert!(
        got,
        "{protocol}: the receiver got no spans: {:?}",
        rx.with(|r| r.traces.len())
    );
    let (spans, service): (Vec<Span>, Option<String>) = rx.with(|r| {
        let rs: Vec<_> = r
            .traces
            .iter()
            .flat_map(|t| t.resource_spans.clone())
            .collect();
        let service = rs
            .first()
            .and_then(|r| r.resource.as_ref())
            .and_then(|res| {
                res.attributes
                    .iter()
                    .find(|kv| kv.key == "service.name")
                    .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                        AnyValue::StringValue(s) => Some(s.clone()),
                        _ => None,
                    })
            });
        (
            rs.into_iter()
                .flat_map(|r| r.scope_spans)
                .flat_map(|s| s.spans)
                .collect(),
            service,
        )
    });
    assert_eq!(service.as_deref(), Some("bitrouter-test"));
    let server: Vec<&Span> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Server as i32)
        .collect();
    assert_eq!(server.len(), 1, "{spans:#?}");
    let server = server[0];
    assert_eq!(hex(&server.trace_id), TRACE, "the caller's trace");
    assert_eq!(
        hex(&server.parent_span_id),
        PARENT,
        "the caller's span is the parent"
    );
    assert_eq!(server.name, "chat chain");
    assert_eq!(str_attr(server, "gen_ai.request.model"), Some("chain"));
    assert_eq!(str_attr(server, "gen_ai.response.model"), Some("m"));
    assert_eq!(str_attr(server, "gen_ai.provider.name"), Some("good"));
    assert_eq!(str_attr(server, "gen_ai.operation.name"), Some("chat"));
    assert!(
        matches!(attr(server, "gen_ai.usage.input_tokens"), Some(AnyValue::IntValue(n)) if *n > 0),
        "{server:#?}"
    );
    assert!(
        matches!(attr(server, "gen_ai.usage.output_tokens"), Some(AnyValue::IntValue(n)) if *n > 0)
    );
    let mut attempts: Vec<&Span> = spans
        .iter()
        .filter(|s| s.kind == SpanKind::Client as i32)
        .collect();
    attempts.sort_by_key(|s| s.start_time_unix_nano);
    assert_eq!(attempts.len(), 2, "{spans:#?}");
    for a in &attempts {
        assert_eq!(a.trace_id, server.trace_id);
        assert_eq!(
            a.parent_span_id, server.span_id,
            "an attempt is the server span's child"
        );
    }
    assert_eq!(str_attr(attempts[0], "gen_ai.provider.name"), Some("bad"));
    assert_eq!(
        str_attr(attempts[0], "bitrouter.attempt.result"),
        Some("server_error")
    );
    assert_eq!(
        str_attr(attempts[0], "bitrouter.failover_reason"),
        Some("server_error")
    );
    assert!(matches!(
        attr(attempts[0], "http.response.status_code"),
        Some(AnyValue::IntValue(503))
    ));
    assert_eq!(str_attr(attempts[1], "gen_ai.provider.name"), Some("good"));
    assert_eq!(
        str_attr(attempts[1], "bitrouter.attempt.result"),
        Some("ok")
    );
    assert_eq!(
        str_attr(attempts[1], "bitrouter.upstream_protocol"),
        Some("chat_completions")
    );
    // The upstream saw our attempt span as its parent, in the caller's trace.
    let sent: Vec<String> = mock
        .requests()
        .iter()
        .filter_map(|r| r.header("traceparent").map(str::to_owned))
        .collect();
    assert_eq!(
        sent,
        attempts
            .iter()
            .map(|a| format!("00-{TRACE}-{}-01", hex(&a.span_id)))
            .collect::<Vec<_>>()
    );

    // Metrics: the request counter and the GenAI duration histogram, with the same counts.
    let got = rx
        .wait_for(Duration::from_secs(10), |r| {
            let names: Vec<&str> = r
                .metrics
                .iter()
                .flat_map(|m| &m.resource_metrics)
                .flat_map(|r| &r.scope_metrics)
                .flat_map(|s| &s.metrics)
                .map(|m| m.name.as_str())
                .collect();
            names.contains(&"bitrouter_requests")
                && names.contains(&"gen_ai.server.request.duration")
        })
        .await;
    assert!(
        got,
        "{protocol}: no metrics: {:?}",
        rx.with(|r| r.metrics.len())
    );
    let headers = rx.with(|r| r.headers.clone());
    assert!(
        headers.iter().any(|(_, k, v)| k == "x-tenant" && v == "t1"),
        "{headers:?}"
    );
}

#[tokio::test]
async fn traces_and_metrics_reach_an_otlp_receiver_over_http() {
    exports_over("http").await;
}

#[tokio::test]
async fn traces_and_metrics_reach_an_otlp_receiver_over_grpc() {
    exports_over("grpc").await;
}

#[tokio::test]
async fn a_dead_collector_costs_only_dropped_spans() {
    let mock = MockUpstream::start().await.unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let yaml = config(&mock.base_url(), &format!("http://{closed}"), "http");
    let (daemon, addr) = start("otlp-dead", &yaml).await;
    let body = r#"{"model":"good:m","messages":[{"role":"user","content":"Say hello."}]}"#;
    for _ in 0..5 {
        let r = testkit::load::send(addr, "POST", "/v1/chat/completions", body)
            .await
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let mut dropped = 0;
    for _ in 0..200 {
        dropped = daemon.server().totals().dropped_spans;
        if dropped >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(dropped >= 5, "dropped {dropped}");
    let text = daemon.server().scrape();
    assert!(
        text.contains("bitrouter_otel_dropped_spans_total"),
        "{text}"
    );
}
