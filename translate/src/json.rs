//! JSON on the hot path: simd-json parsing into reused buffers, and a byte-level scanner that
//! finds object members in already-validated JSON so a body can be edited without re-encoding.

use std::cell::RefCell;
use std::ops::Range;

use bytes::BufMut;
use simd_json::{Buffers, tape::Value};

pub use simd_json::StaticNode;
pub use simd_json::tape::{Node, Tape};

/// Reusable parse state: the copy simd-json mutates, its buffers and its tape. Taken from a
/// per-thread pool, so a steady stream of requests parses without allocating.
pub struct Scratch {
    buf: Vec<u8>,
    buffers: Buffers,
    tape: Tape<'static>,
}

impl std::fmt::Debug for Scratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scratch").finish_non_exhaustive()
    }
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            buf: Vec::with_capacity(4096),
            buffers: Buffers::new(4096),
            tape: Tape(Vec::with_capacity(256)),
        }
    }

    /// Parses a copy of `data` and hands `f` the root value; `Err` carries simd-json's message.
    pub fn parse<R>(
        &mut self,
        data: &[u8],
        f: impl FnOnce(Value<'_, '_>) -> R,
    ) -> Result<R, String> {
        self.parse_tape(data, |t| f(t.as_value()))
    }

    /// As [`Scratch::parse`], handing `f` the whole tape: its nodes in document order (for
    /// checks that walk every value once, such as the request hygiene) and, through
    /// [`Tape::as_value`], the root value.
    pub fn parse_tape<R>(
        &mut self,
        data: &[u8],
        f: impl FnOnce(&Tape<'_>) -> R,
    ) -> Result<R, String> {
        self.buf.clear();
        self.buf.extend_from_slice(data);
        let mut tape = std::mem::replace(&mut self.tape, Tape(Vec::new())).reset();
        let out = match simd_json::fill_tape(&mut self.buf, &mut self.buffers, &mut tape) {
            Ok(()) => Ok(f(&tape)),
            Err(e) => Err(e.to_string()),
        };
        self.tape = tape.reset();
        out
    }
}

impl Default for Scratch {
    fn default() -> Scratch {
        Scratch::new()
    }
}

const POOL_MAX: usize = 64;

thread_local! {
    #[allow(clippy::vec_box, reason = "boxed so a scratch moves between the pool and a request by pointer")]
    static POOL: RefCell<Vec<Box<Scratch>>> = const { RefCell::new(Vec::new()) };
}

/// A [`Scratch`] borrowed from this thread's pool; returned to the pool of whichever thread
/// drops it.
#[derive(Debug)]
pub struct PooledScratch(Option<Box<Scratch>>);

impl PooledScratch {
    pub fn take() -> PooledScratch {
        let s = POOL
            .with(|p| p.borrow_mut().pop())
            .unwrap_or_else(|| Box::new(Scratch::new()));
        PooledScratch(Some(s))
    }

    pub fn get(&mut self) -> &mut Scratch {
        self.0.get_or_insert_with(|| Box::new(Scratch::new()))
    }
}

impl Drop for PooledScratch {
    fn drop(&mut self) {
        if let Some(s) = self.0.take() {
            // A huge body must not pin its buffers forever.
            if s.buf.capacity() <= 1 << 20 {
                POOL.with(|p| {
                    let mut p = p.borrow_mut();
                    if p.len() < POOL_MAX {
                        p.push(s);
                    }
                });
            }
        }
    }
}

/// One member of an object: its key (raw bytes between the quotes) and value range.
#[derive(Clone, Debug)]
pub struct Member<'a> {
    pub key: &'a [u8],
    pub value: Range<usize>,
}

impl Member<'_> {
    /// Compares the key with `name`, decoding escapes when the raw key has any.
    pub fn is(&self, name: &str) -> bool {
        if !self.key.contains(&b'\\') {
            return self.key == name.as_bytes();
        }
        let mut quoted = Vec::with_capacity(self.key.len() + 2);
        quoted.push(b'"');
        quoted.extend_from_slice(self.key);
        quoted.push(b'"');
        serde_json::from_slice::<String>(&quoted).is_ok_and(|k| k == name)
    }
}

/// Calls `f` for each member of the object whose `{` is at or after `start` (whitespace
/// skipped). The input must be valid JSON (check with simd-json first); returns the index after
/// the closing `}`, or `None` if `start` does not begin an object.
pub fn for_each_member<'a>(
    json: &'a [u8],
    start: usize,
    mut f: impl FnMut(Member<'a>),
) -> Option<usize> {
    let mut i = skip_ws(json, start);
    if json.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(json, i + 1);
    if json.get(i) == Some(&b'}') {
        return Some(i + 1);
    }
    loop {
        if json.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = skip_string(json, i)?;
        let key = &json[i + 1..key_end - 1];
        i = skip_ws(json, key_end);
        if json.get(i) != Some(&b':') {
            return None;
        }
        let v_start = skip_ws(json, i + 1);
        let v_end = skip_value(json, v_start)?;
        f(Member {
            key,
            value: v_start..v_end,
        });
        i = skip_ws(json, v_end);
        match json.get(i) {
            Some(b',') => i = skip_ws(json, i + 1),
            Some(b'}') => return Some(i + 1),
            _ => return None,
        }
    }
}

pub fn skip_ws(json: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\r' | b'\n') = json.get(i) {
        i += 1;
    }
    i
}

/// `json[i]` is `"`; returns the index after the closing quote.
fn skip_string(json: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        let k = memchr::memchr2(b'"', b'\\', json.get(j..)?)? + j;
        if json[k] == b'\\' {
            j = k + 2;
        } else {
            return Some(k + 1);
        }
    }
}

fn skip_value(json: &[u8], i: usize) -> Option<usize> {
    match json.get(i)? {
        b'"' => skip_string(json, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < json.len() {
                match json[j] {
                    b'"' => {
                        j = skip_string(json, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while let Some(c) = json.get(j) {
                if matches!(c, b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n') {
                    break;
                }
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

/// Writes `s` as a JSON string literal (into a `Vec<u8>` or a `BytesMut`; never allocates
/// beyond the output's own growth).
pub fn push_json_str<B: BufMut>(out: &mut B, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.put_u8(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..0x20 => b"",
            _ => continue,
        };
        out.put_slice(&bytes[start..i]);
        if esc.is_empty() {
            out.put_slice(b"\\u00");
            out.put_u8(HEX[usize::from(b >> 4)]);
            out.put_u8(HEX[usize::from(b & 0xf)]);
        } else {
            out.put_slice(esc);
        }
        start = i + 1;
    }
    out.put_slice(&bytes[start..]);
    out.put_u8(b'"');
}

/// Writes an unsigned integer in decimal without allocating.
pub fn push_u64<B: BufMut>(out: &mut B, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&buf[i..]);
}

/// Read access shared by `serde_json` values (whole answers, parsed once per call) and simd-json
/// tape values (stream events), so each protocol reads a field such as its usage object with
/// one function whichever parser produced it.
pub trait Fields: Copy {
    /// `self[key]`, when present and not `null`.
    fn member(self, key: &str) -> Option<Self>;
    /// A non-negative integer, also from a non-negative float (some SDK types use floats).
    fn count(self) -> Option<u64>;
    /// `self[key]` as a count; 0 when absent or not a count.
    fn count_at(self, key: &str) -> u64 {
        self.member(key).and_then(Self::count).unwrap_or(0)
    }
    /// `self[outer][key]` as a count; 0 when either is absent.
    fn count_in(self, outer: &str, key: &str) -> u64 {
        self.member(outer).map_or(0, |o| o.count_at(key))
    }
}

impl Fields for &serde_json::Value {
    fn member(self, key: &str) -> Option<Self> {
        self.get(key).filter(|v| !v.is_null())
    }

    fn count(self) -> Option<u64> {
        self.as_u64()
            .or_else(|| self.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
    }
}

impl Fields for Value<'_, '_> {
    fn member(self, key: &str) -> Option<Self> {
        use simd_json::prelude::*;
        self.get(key).filter(|v| v.as_null().is_none())
    }

    fn count(self) -> Option<u64> {
        use simd_json::prelude::*;
        self.as_u64()
            .or_else(|| self.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(json: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for_each_member(json.as_bytes(), 0, |m| {
            out.push((
                String::from_utf8(m.key.to_vec()).unwrap(),
                json[m.value].to_owned(),
            ))
        })
        .unwrap();
        out
    }

    #[test]
    fn finds_top_level_members_only() {
        let m = members(
            r#" { "model" : "a\"b", "x": {"model": "inner", "s": "}]"}, "n": -1.5e3 ,"t":true,"a":[1,{"b":"]"}]}"#,
        );
        let keys: Vec<_> = m.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["model", "x", "n", "t", "a"]);
        assert_eq!(m[0].1, r#""a\"b""#);
        assert_eq!(m[2].1, "-1.5e3");
        assert_eq!(m[4].1, r#"[1,{"b":"]"}]"#);
    }

    #[test]
    fn empty_object_and_non_objects() {
        assert!(members("{}").is_empty());
        assert_eq!(for_each_member(b"[1]", 0, |_| {}), None);
    }

    #[test]
    fn escaped_keys_compare_decoded() {
        let json = br#"{"mod\u0065l": 1}"#;
        let mut hit = false;
        for_each_member(json, 0, |m| hit = m.is("model")).unwrap();
        assert!(hit);
    }

    #[test]
    fn scratch_parses_and_reports_errors() {
        let mut s = PooledScratch::take();
        let n = s
            .get()
            .parse(br#"{"a": [1, 2, 3]}"#, |v| {
                v.get("a").and_then(|a| a.as_array()).map(|a| a.len())
            })
            .unwrap();
        assert_eq!(n, Some(3));
        assert!(s.get().parse(b"{\"a\": ", |_| ()).is_err());
    }

    #[test]
    fn json_strings_are_escaped() {
        let mut out = Vec::new();
        push_json_str(&mut out, "a\"b\\c\nd é");
        assert_eq!(
            serde_json::from_slice::<String>(&out).unwrap(),
            "a\"b\\c\nd é"
        );
    }
}
