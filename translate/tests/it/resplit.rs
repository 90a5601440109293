//! Chunk boundaries, line endings and filler never change a translation: every upstream stream
//! fixture (the inputs of `tests/golden/stream/*/`, files or vectors), cut into random chunks, rewritten with
//! CRLF or CR line endings and with SSE comments and unknown events inserted between its
//! events, gives byte-identical caller output (and the same outcome) to feeding the fixture
//! whole, for every caller protocol.

use bytes::Bytes;
use proptest::prelude::*;
use testkit::drive::{self, PROTOCOLS};
use translate::Protocol;
use translate::sse::Splitter;
use translate::stream::Ctx;

use crate::fixtures;

struct Fixture {
    name: String,
    upstream: Protocol,
    ctx: Ctx<'static>,
    /// The fixture's events (terminator included), as the splitter cuts the whole input.
    events: Vec<Vec<u8>>,
    body: Vec<u8>,
}

fn fixtures() -> Vec<Fixture> {
    let mut out = Vec::new();
    for dir in fixtures::case_dirs("stream") {
        let v = fixtures::ctx_json(&dir);
        let ctx = drive::ctx(
            v["include_usage"].as_bool().unwrap_or(true),
            v["json_array"].as_bool().unwrap_or(false),
        );
        for (upstream, name, body) in fixtures::inputs(&dir, "sse") {
            let mut s = Splitter::default();
            s.push(Bytes::from(body.clone()));
            let mut events = Vec::new();
            while let Some(e) = s.next_event().unwrap() {
                events.push(e.to_vec());
            }
            events.extend(s.finish().map(|e| e.to_vec()));
            assert_eq!(events.concat(), body);
            out.push(Fixture {
                name: format!("{}/{name}", dir.file_name().unwrap().to_str().unwrap()),
                upstream,
                ctx,
                events,
                body,
            });
        }
    }
    assert!(
        out.len() >= 30,
        "expected the stream fixtures, found {}",
        out.len()
    );
    out
}

/// `mask` value of the unknown-event filler.
const UNKNOWN: u8 = 2;

const FILLERS: [&[u8]; 3] = [
    b": keep-alive\n\n",
    b"event: unknown_x\ndata: {}\n\n",
    b":\n\n",
];

/// The fixture with `endings` (0 LF, 1 CRLF, 2 CR) and filler `mask[i]` before event `i`
/// (0 none, else `FILLERS[m - 1]`; one more entry than events, for after the last).
fn variant(f: &Fixture, endings: u8, mask: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(f.body.len() * 2);
    let mut push = |bytes: &[u8]| {
        for &b in bytes {
            match (b, endings) {
                (b'\n', 1) => out.extend_from_slice(b"\r\n"),
                (b'\n', 2) => out.push(b'\r'),
                _ => out.push(b),
            }
        }
    };
    for (i, ev) in f.events.iter().enumerate() {
        if let Some(&m) = mask.get(i) {
            // Unknown events go between events, not before the first (see
            // `leading_empty_event_keeps_the_upstream_id`).
            if m as usize > 0 && m as usize <= FILLERS.len() && !(i == 0 && m == UNKNOWN) {
                push(FILLERS[m as usize - 1]);
            }
        }
        push(ev);
    }
    if let Some(&m) = mask.get(f.events.len()) {
        if m as usize > 0 && m as usize <= FILLERS.len() {
            push(FILLERS[m as usize - 1]);
        }
    }
    out
}

fn cut<'a>(bytes: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut pts: Vec<usize> = points.iter().map(|p| p % (bytes.len() + 1)).collect();
    pts.sort_unstable();
    let mut chunks = Vec::new();
    let mut last = 0;
    for p in pts {
        chunks.push(&bytes[last..p]);
        last = p;
    }
    chunks.push(&bytes[last..]);
    chunks
}

fn compare(f: &Fixture, caller: Protocol, whole: &drive::Run, got: &drive::Run, what: &str) {
    assert_eq!(
        got.outcome,
        whole.outcome,
        "{} → {}: outcome differs ({what})",
        f.name,
        drive::name(caller)
    );
    assert!(
        got.out == whole.out,
        "{} → {}: output differs ({what})\n--- whole:\n{}\n--- got:\n{}",
        f.name,
        drive::name(caller),
        String::from_utf8_lossy(&whole.out),
        String::from_utf8_lossy(&got.out)
    );
}

/// The deterministic extremes: one byte at a time, and every event in its own chunk, with
/// each line-ending variant and fillers everywhere.
#[test]
fn byte_at_a_time_and_every_variant() {
    for f in fixtures() {
        for (caller, _) in PROTOCOLS {
            let whole = drive::run(f.upstream, caller, &f.ctx, &[&f.body]);
            for endings in 0..3u8 {
                for fill in 0..=FILLERS.len() as u8 {
                    let mask = vec![fill; f.events.len() + 1];
                    let bytes = variant(&f, endings, &mask);
                    let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
                    let got = drive::run(f.upstream, caller, &f.ctx, &bytewise);
                    compare(
                        &f,
                        caller,
                        &whole,
                        &got,
                        &format!("bytewise, endings {endings}, filler {fill}"),
                    );
                }
            }
        }
    }
}

/// A leading `data: {}` (the only keep-alive google-genai tolerates, E30; here also with an
/// unknown event name) is not the upstream's first chunk: the caller should still see the
/// upstream's response id (the Chat and Gemini decoders skip an empty object).
#[test]
fn leading_empty_event_keeps_the_upstream_id() {
    for f in fixtures() {
        for (caller, _) in PROTOCOLS {
            let whole = drive::run(f.upstream, caller, &f.ctx, &[&f.body]);
            let bytes = [FILLERS[UNKNOWN as usize - 1], &f.body].concat();
            let got = drive::run(f.upstream, caller, &f.ctx, &[&bytes]);
            compare(
                &f,
                caller,
                &whole,
                &got,
                "a leading unknown `data: {}` event",
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn any_split_any_endings_any_filler_same_output(
        pick in any::<prop::sample::Index>(),
        caller in 0..4usize,
        endings in 0..3u8,
        mask in prop::collection::vec(prop_oneof![6 => Just(0u8), 1 => 1..=FILLERS.len() as u8], 0..40),
        points in prop::collection::vec(any::<usize>(), 0..24),
    ) {
        thread_local! {
            static FIXTURES: Vec<Fixture> = fixtures();
        }
        FIXTURES.with(|all| {
            let f = pick.get(all);
            let caller = PROTOCOLS[caller].0;
            let whole = drive::run(f.upstream, caller, &f.ctx, &[&f.body]);
            let bytes = variant(f, endings, &mask);
            let chunks = cut(&bytes, &points);
            let got = drive::run(f.upstream, caller, &f.ctx, &chunks);
            compare(f, caller, &whole, &got, &format!("endings {endings}, filler {mask:?}, cuts {points:?}"));
        });
    }
}
