//! What the request hygiene (`dataplane/src/request/shape.rs`: duplicate keys at any depth,
//! the nesting cap, the protocol's types for top-level members and items) adds to reading a
//! body, per caller protocol, for a typical request (~1.5 KB: system prompt, three turns, one
//! tool) and an agent's (~60 KB: a dozen tools with schemas, a long system prompt, forty turns).
//!
//! `hygiene` is the rules alone, on a tape parsed once: their cost per request, which must
//! stay under 2 µs for the typical request. `parse` is simd-json alone (what reading a body
//! cost before), `parse+hygiene` both; `inspect` is the whole of `request::inspect`.
//!
//! `cargo bench -p benches --bench hygiene`

use std::hint::black_box;

use compiler::table::Protocol;
use criterion::{Criterion, criterion_group};
use serde_json::{Value, json};

fn schema(i: usize) -> Value {
    json!({
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": format!("What tool {i} runs, in full.")},
            "timeout": {"type": "number", "description": "Milliseconds."},
            "paths": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["command"],
        "additionalProperties": false,
    })
}

fn text(n: usize) -> String {
    "The quick brown fox jumps over the lazy dog. ".repeat(n)
}

/// The body of a conversation of `turns` user/assistant pairs with `tools` tools.
fn body(p: Protocol, turns: usize, tools: usize, system: usize) -> Vec<u8> {
    let sys = text(system);
    let v = match p {
        Protocol::ChatCompletions => {
            let mut messages = vec![json!({"role": "system", "content": sys})];
            for t in 0..turns {
                messages
                    .push(json!({"role": "user", "content": format!("question {t}: {}", text(2))}));
                messages.push(json!({"role": "assistant", "content": text(3)}));
            }
            messages.push(json!({"role": "user", "content": "and now?"}));
            let tools: Vec<Value> = (0..tools)
                .map(|i| json!({"type": "function", "function": {"name": format!("tool_{i}"), "description": text(1), "parameters": schema(i)}}))
                .collect();
            json!({"model": "gpt-4.1", "messages": messages, "tools": tools, "stream": true, "stream_options": {"include_usage": true}, "temperature": 0.2})
        }
        Protocol::Responses => {
            let mut input = Vec::new();
            for t in 0..turns {
                input.push(json!({"role": "user", "content": [{"type": "input_text", "text": format!("question {t}: {}", text(2))}]}));
                input.push(json!({"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": text(3)}]}));
            }
            input.push(json!({"role": "user", "content": "and now?"}));
            let tools: Vec<Value> = (0..tools)
                .map(|i| json!({"type": "function", "name": format!("tool_{i}"), "description": text(1), "parameters": schema(i), "strict": false}))
                .collect();
            json!({"model": "gpt-5", "instructions": sys, "input": input, "tools": tools, "stream": true, "store": false, "include": ["reasoning.encrypted_content"]})
        }
        Protocol::Messages => {
            let mut messages = Vec::new();
            for t in 0..turns {
                messages.push(json!({"role": "user", "content": [{"type": "text", "text": format!("question {t}: {}", text(2))}]}));
                messages.push(
                    json!({"role": "assistant", "content": [{"type": "text", "text": text(3)}]}),
                );
            }
            messages.push(json!({"role": "user", "content": "and now?"}));
            let tools: Vec<Value> = (0..tools)
                .map(|i| json!({"name": format!("tool_{i}"), "description": text(1), "input_schema": schema(i)}))
                .collect();
            json!({"model": "claude-sonnet-4-5", "max_tokens": 4096, "system": [{"type": "text", "text": sys, "cache_control": {"type": "ephemeral"}}], "messages": messages, "tools": tools, "stream": true})
        }
        Protocol::GenerateContent => {
            let mut contents = Vec::new();
            for t in 0..turns {
                contents.push(json!({"role": "user", "parts": [{"text": format!("question {t}: {}", text(2))}]}));
                contents.push(json!({"role": "model", "parts": [{"text": text(3)}]}));
            }
            contents.push(json!({"role": "user", "parts": [{"text": "and now?"}]}));
            let decls: Vec<Value> = (0..tools)
                .map(|i| json!({"name": format!("tool_{i}"), "description": text(1), "parametersJsonSchema": schema(i)}))
                .collect();
            json!({"contents": contents, "systemInstruction": {"parts": [{"text": sys}]}, "tools": [{"functionDeclarations": decls}], "generationConfig": {"temperature": 1, "topK": 64}})
        }
    };
    serde_json::to_vec(&v).unwrap_or_default()
}

#[allow(
    clippy::print_stderr,
    reason = "the bench's report: body sizes next to criterion's output"
)]
fn hygiene(c: &mut Criterion) {
    for p in Protocol::ALL {
        for (size, b) in [
            ("typical", body(p, 3, 1, 6)),
            ("agent", body(p, 40, 12, 300)),
        ] {
            assert!(
                dataplane::bench::parse_and_check(p, &b),
                "{p:?} {size} refused"
            );
            assert!(
                dataplane::bench::inspect_body(p, &b),
                "{p:?} {size} not inspected"
            );
            eprintln!("{:?} {size}: {} bytes", p, b.len());
            let mut g = c.benchmark_group(format!("hygiene/{}/{size}", p.as_str()));
            g.bench_function("parse", |x| {
                x.iter(|| dataplane::bench::parse(black_box(&b)))
            });
            g.bench_function("parse+hygiene", |x| {
                x.iter(|| dataplane::bench::parse_and_check(p, black_box(&b)))
            });
            dataplane::bench::with_parsed(p, &b, |check| {
                g.bench_function("hygiene", |x| x.iter(check));
            });
            g.bench_function("inspect", |x| {
                x.iter(|| dataplane::bench::inspect_body(p, black_box(&b)))
            });
            g.finish();
        }
    }
}

criterion_group!(benches, hygiene);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
