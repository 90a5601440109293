//! Incremental server-sent-events framing: cuts a byte stream into whole events (raw bytes,
//! terminator included, so they can be forwarded unchanged) whatever the chunk boundaries, and
//! reads an event's `event:` name and `data:` lines.

use bytes::{Bytes, BytesMut};
use smallvec::SmallVec;

/// The most an event may grow to before it is treated as malformed (docs/reliability.md#limits).
pub const MAX_EVENT: usize = 1 << 20;

/// Splits chunks into events. Zero-copy while events do not straddle chunks.
#[derive(Debug, Default)]
pub struct Splitter {
    carry: BytesMut,
    cur: Bytes,
}

#[derive(Debug, PartialEq, Eq)]
pub struct TooLarge;

impl Splitter {
    pub fn push(&mut self, chunk: Bytes) {
        if self.cur.is_empty() {
            self.cur = chunk;
        } else {
            self.carry.extend_from_slice(&self.cur);
            self.cur = chunk;
        }
    }

    /// The next whole event, if one is buffered.
    pub fn next_event(&mut self) -> Result<Option<Bytes>, TooLarge> {
        if self.carry.is_empty() {
            if let Some(end) = event_end(&self.cur) {
                let event = self.cur.split_to(end);
                if self.cur.is_empty() {
                    // An empty slice still shares the reader's buffer and would stop it from
                    // reusing that memory for the next read.
                    self.cur = Bytes::new();
                }
                return Ok(Some(event));
            }
            if self.cur.is_empty() {
                return Ok(None);
            }
        }
        self.carry.extend_from_slice(&self.cur);
        self.cur = Bytes::new();
        match event_end(&self.carry) {
            Some(end) => Ok(Some(self.carry.split_to(end).freeze())),
            None if self.carry.len() > MAX_EVENT => Err(TooLarge),
            None => Ok(None),
        }
    }

    /// At end of input: whatever is left (an event without its blank line), if anything.
    pub fn finish(&mut self) -> Option<Bytes> {
        self.carry.extend_from_slice(&self.cur);
        self.cur = Bytes::new();
        let rest = std::mem::take(&mut self.carry).freeze();
        (!rest.iter().all(u8::is_ascii_whitespace)).then_some(rest)
    }
}

/// The end of the first event in `b` (just past its blank line), if complete. A lone `\r` at
/// the end may be the first half of `\r\n`, so it waits for more input.
fn event_end(b: &[u8]) -> Option<usize> {
    let mut line_start = 0;
    loop {
        let p = line_start + memchr::memchr2(b'\r', b'\n', b.get(line_start..)?)?;
        let next = if b[p] == b'\r' {
            match b.get(p + 1) {
                None => return None,
                Some(b'\n') => p + 2,
                Some(_) => p + 1,
            }
        } else {
            p + 1
        };
        if p == line_start {
            return Some(next);
        }
        line_start = next;
    }
}

/// The fields of one event that matter for routing.
#[derive(Debug, Default)]
pub struct Fields<'a> {
    pub event: Option<&'a [u8]>,
    pub data: SmallVec<[&'a [u8]; 1]>,
}

impl Fields<'_> {
    /// The data payload; lines joined with `\n` into `join` when there are several.
    pub fn data<'s>(&'s self, join: &'s mut Vec<u8>) -> Option<&'s [u8]> {
        match self.data.as_slice() {
            [] => None,
            [one] => Some(one),
            many => {
                join.clear();
                for (i, l) in many.iter().enumerate() {
                    if i > 0 {
                        join.push(b'\n');
                    }
                    join.extend_from_slice(l);
                }
                Some(join)
            }
        }
    }
}

/// Reads `event:` and `data:` lines (comments and other fields ignored).
pub fn fields(raw: &[u8]) -> Fields<'_> {
    let mut f = Fields::default();
    for line in raw.split(|&c| c == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        for l in line.split(|&c| c == b'\r') {
            let (name, value) = match memchr::memchr(b':', l) {
                Some(0) => continue,
                Some(i) => {
                    let v = &l[i + 1..];
                    (&l[..i], v.strip_prefix(b" ").unwrap_or(v))
                }
                None => (l, &b""[..]),
            };
            match name {
                b"event" => f.event = Some(value),
                b"data" => f.data.push(value),
                _ => {}
            }
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut s = Splitter::default();
        let mut out = Vec::new();
        for c in chunks {
            s.push(Bytes::copy_from_slice(c));
            while let Some(e) = s.next_event().unwrap() {
                out.push(e.to_vec());
            }
        }
        if let Some(e) = s.finish() {
            out.push(e.to_vec());
        }
        out
    }

    #[test]
    fn any_split_gives_the_same_events() {
        let wire: &[u8] =
            b"event: a\ndata: 1\n\n: comment\r\ndata: 2\r\n\r\ndata: 3\r\rdata: x\ndata: y\n\n";
        let whole = split_all(&[wire]);
        assert_eq!(whole.len(), 4);
        assert_eq!(whole.concat(), wire);
        for i in 0..wire.len() {
            for j in i..wire.len() {
                let parts = split_all(&[&wire[..i], &wire[i..j], &wire[j..]]);
                assert_eq!(parts, whole, "split at {i},{j}");
            }
        }
    }

    #[test]
    fn fields_read_names_and_data() {
        let f = fields(b"event: message_start\ndata: {\"a\":1}\n\n");
        assert_eq!(f.event, Some(&b"message_start"[..]));
        let mut j = Vec::new();
        assert_eq!(f.data(&mut j), Some(&b"{\"a\":1}"[..]));
        let f = fields(b": ping\ndata:x\ndata: y\r\n\r\n");
        assert_eq!(f.event, None);
        assert_eq!(f.data(&mut j), Some(&b"x\ny"[..]));
    }

    #[test]
    fn unterminated_tail_is_returned_at_the_end() {
        assert_eq!(split_all(&[b"data: 1\n\ndata: 2"]).len(), 2);
        assert_eq!(split_all(&[b"data: 1\n\n\n"]).len(), 2);
    }

    #[test]
    fn oversized_event_is_refused() {
        let mut s = Splitter::default();
        s.push(Bytes::from(vec![b'a'; MAX_EVENT + 1]));
        assert_eq!(s.next_event(), Err(TooLarge));
    }
}
