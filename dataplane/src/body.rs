//! The response body type: a whole buffer, or a [`Committed`] stream relaying an upstream.
//! The error type is `Infallible`: failures inside a stream become the caller protocol's
//! terminal error frame, never a transport error handed to hyper.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Frame, SizeHint};

use crate::relay::Committed;

#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "the body is moved once into hyper's connection; inline saves an allocation per stream"
)]
pub(crate) enum Body {
    Full(Option<Bytes>),
    Stream(Committed),
}

impl Body {
    pub(crate) fn full(b: impl Into<Bytes>) -> Body {
        Body::Full(Some(b.into()))
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Body::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(r) => r.poll_frame(cx).map(|o| o.map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(b) => SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64)),
            Body::Stream(_) => SizeHint::default(),
        }
    }
}

/// Collects a body's frames: a body that came in one frame is kept as it came (no copy); from
/// the second frame on, everything goes into one buffer sized by `expected`.
#[derive(Debug, Default)]
pub(crate) struct Gather {
    first: Option<Bytes>,
    rest: Option<BytesMut>,
    len: usize,
}

impl Gather {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Adds a frame; `expected` is the likely total (a capacity hint).
    pub(crate) fn push(&mut self, data: Bytes, expected: usize) {
        self.len += data.len();
        match (&self.first, &mut self.rest) {
            (None, _) => self.first = Some(data),
            (Some(f), None) => {
                let mut b = BytesMut::with_capacity(expected.max(2 * self.len));
                b.extend_from_slice(f);
                b.extend_from_slice(&data);
                self.rest = Some(b);
            }
            (Some(_), Some(b)) => b.extend_from_slice(&data),
        }
    }

    pub(crate) fn finish(self) -> Bytes {
        match self.rest {
            Some(b) => b.freeze(),
            None => self.first.unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_frame_is_kept_and_several_are_joined() {
        let one = Bytes::from_static(b"abc");
        let mut g = Gather::default();
        g.push(one.clone(), 0);
        assert_eq!(g.finish().as_ptr(), one.as_ptr());
        let mut g = Gather::default();
        for part in [&b"ab"[..], b"cd", b"e"] {
            g.push(Bytes::copy_from_slice(part), 4);
        }
        assert_eq!(g.len(), 5);
        assert_eq!(&g.finish()[..], b"abcde");
    }
}
