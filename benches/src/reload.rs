//! The reload benchmark's configs: two valid configs that move the virtual model `vm` between
//! provider `a` (Chat Completions) and provider `b` (Anthropic Messages), as the reload
//! integration test (`runtime/tests/it/reload.rs`) does.

use std::collections::HashMap;

use crate::Fixture;

/// The pair `[vm → a, vm → b]` for upstreams at `base` (e.g. the mock's base URL), each
/// provider sending `x-mock-fault: fault` (e.g. `drip=25`, or empty).
pub fn pair(base: &str, fault: &str) -> [Fixture; 2] {
    ["a", "b"].map(|target| {
        Fixture::new(
            format!("vm-on-{target}.yaml"),
            text(base, target, fault),
            env(),
        )
    })
}

fn text(base: &str, target: &str, fault: &str) -> String {
    format!(
        r#"inherit_defaults: false
server:
  skip_auth: true
  timeouts: {{ first_byte: 10s, idle: 5s }}
providers:
  a: {{ api_base: "{base}/v1", api_key: "${{A_KEY}}", api_protocol: chat_completions, allow_private: true, headers: {{ x-mock-fault: "{fault}" }}, models: [{{id: real-model}}] }}
  b: {{ api_base: "{base}", api_key: "${{B_KEY}}", api_protocol: messages, allow_private: true, headers: {{ x-mock-fault: "{fault}" }}, models: [{{id: real-model}}] }}
models:
  vm: {{ strategy: priority, endpoints: [ {{provider: {target}, model_id: real-model}} ] }}
"#
    )
}

fn env() -> HashMap<String, String> {
    [("A_KEY", "key-a"), ("B_KEY", "key-b")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}
