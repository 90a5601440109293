//! The `x-mock-fault` request header: `;`-separated directives that script a failure.
//!
//! Parsing only; `respond` carries the faults out. A directive the mock does not know, or a
//! bad value, is answered 400 naming it, so a typo in a test never silently means "no fault".
//!
//! | directive | effect |
//! |---|---|
//! | `status=CODE` | that status (200..=599) with the protocol's error body |
//! | `retry-after=SECS` | a `Retry-After` header on whatever is sent |
//! | `drop` | read the request, close without a response |
//! | `rst` | with `drop` or `cut-after`: close with a TCP reset instead of a FIN |
//! | `stream-error` | 200 stream: lifecycle frames, then the in-stream error event, clean end; on a non-stream request a 500 |
//! | `cut-after=N` | stream: N events then close (no last chunk, no `[DONE]`); non-stream: N body bytes then close |
//! | `stall-first=MS` | wait before the response head |
//! | `stall-mid=MS` | stream: wait after the first content event; non-stream: between head and body |
//! | `drip=MS` | stream: wait between events; non-stream: between head and body |
//! | `malformed` | non-stream: 200 `{not json`; stream: a `data: {not json` event first, then the normal stream |
//! | `times=N` | apply to the first N requests carrying this exact header value, then answer normally |
//! | `error-body=KIND` | with `status`: `text` (a plain-text body, as a proxy in front of a provider sends) or the JSON error envelope of another protocol (`chat`, `messages`, `gemini`) instead of the request protocol's own |
//!
//! Order of effect: `drop`, then `stall-first`, then `status`, then the answer.

use std::time::Duration;

/// The request header that scripts faults.
pub const FAULT_HEADER: &str = "x-mock-fault";

/// The parsed directives of one `x-mock-fault` value. `Default` is "no fault".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fault {
    /// `status=CODE`: answer with this status and the protocol's error body.
    pub status: Option<u16>,
    /// `retry-after=SECS`: add a `Retry-After` header (to any response).
    pub retry_after: Option<u32>,
    /// `drop`: read the request, then close without a response.
    pub drop: bool,
    /// `rst`: close with a TCP reset instead of a FIN (with `drop` or `cut-after`).
    pub rst: bool,
    /// `stream-error`: lifecycle frames, then the protocol's in-stream error event.
    pub stream_error: bool,
    /// `cut-after=N`: the first N events of the answer, then an abrupt close.
    pub cut_after: Option<usize>,
    /// `stall-first=MS`: wait before the response head.
    pub stall_first: Option<Duration>,
    /// `stall-mid=MS`: wait after the first content event.
    pub stall_mid: Option<Duration>,
    /// `drip=MS`: wait between all events.
    pub drip: Option<Duration>,
    /// `malformed`: invalid JSON (non-stream body, or one `data: {not json` event first).
    pub malformed: bool,
    /// `times=N`: apply to the first N requests carrying this exact header value only.
    pub times: Option<u32>,
    /// `error-body=KIND`: the body sent with `status`.
    pub error_body: Option<ErrorBody>,
}

/// What an error answer's body is, when not the request protocol's own envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorBody {
    /// `text/plain`, not JSON.
    Text,
    /// The Chat Completions envelope.
    Chat,
    /// The Anthropic Messages envelope.
    Messages,
    /// The Gemini envelope.
    Gemini,
}

impl Fault {
    /// Parses a header value. The error names the offending directive.
    pub fn parse(value: &str) -> Result<Fault, String> {
        let mut f = Fault::default();
        for directive in value.split(';') {
            let directive = directive.trim();
            if directive.is_empty() {
                continue;
            }
            let (key, arg) = match directive.split_once('=') {
                Some((k, v)) => (k.trim(), Some(v.trim())),
                None => (directive, None),
            };
            match key {
                "status" => {
                    let code: u16 = number(key, arg)?;
                    if !(200..=599).contains(&code) {
                        return Err(format!(
                            "x-mock-fault directive `status` needs a code in 200..=599, got {code}"
                        ));
                    }
                    f.status = Some(code);
                }
                "retry-after" => f.retry_after = Some(number(key, arg)?),
                "drop" => f.drop = flag(key, arg)?,
                "rst" => f.rst = flag(key, arg)?,
                "stream-error" => f.stream_error = flag(key, arg)?,
                "malformed" => f.malformed = flag(key, arg)?,
                "cut-after" => f.cut_after = Some(number(key, arg)?),
                "stall-first" => f.stall_first = Some(millis(key, arg)?),
                "stall-mid" => f.stall_mid = Some(millis(key, arg)?),
                "drip" => f.drip = Some(millis(key, arg)?),
                "times" => f.times = Some(number(key, arg)?),
                "error-body" => {
                    f.error_body = Some(match arg {
                        Some("text") => ErrorBody::Text,
                        Some("chat") => ErrorBody::Chat,
                        Some("messages") => ErrorBody::Messages,
                        Some("gemini") => ErrorBody::Gemini,
                        _ => {
                            return Err(format!(
                                "x-mock-fault directive `error-body` needs `text`, `chat`, \
                                 `messages` or `gemini`, got `{directive}`"
                            ));
                        }
                    })
                }
                _ => return Err(format!("unknown x-mock-fault directive `{directive}`")),
            }
        }
        Ok(f)
    }
}

fn flag(key: &str, arg: Option<&str>) -> Result<bool, String> {
    match arg {
        None => Ok(true),
        Some(v) => Err(format!(
            "x-mock-fault directive `{key}` takes no value, got `{key}={v}`"
        )),
    }
}

fn number<T: std::str::FromStr>(key: &str, arg: Option<&str>) -> Result<T, String> {
    arg.and_then(|v| v.parse().ok()).ok_or_else(|| {
        format!(
            "x-mock-fault directive `{key}` needs a non-negative integer, as in `{key}=N`, got `{}`",
            arg.map_or_else(|| key.to_owned(), |v| format!("{key}={v}"))
        )
    })
}

fn millis(key: &str, arg: Option<&str>) -> Result<Duration, String> {
    number(key, arg).map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_directive() {
        let f = Fault::parse(
            " status=429; retry-after=5;drop;rst;stream-error;malformed;cut-after=3;\
             stall-first=10;stall-mid=20;drip=30;times=2;error-body=text",
        )
        .unwrap();
        assert_eq!(
            f,
            Fault {
                status: Some(429),
                retry_after: Some(5),
                drop: true,
                rst: true,
                stream_error: true,
                cut_after: Some(3),
                stall_first: Some(Duration::from_millis(10)),
                stall_mid: Some(Duration::from_millis(20)),
                drip: Some(Duration::from_millis(30)),
                malformed: true,
                times: Some(2),
                error_body: Some(ErrorBody::Text),
            }
        );
        assert_eq!(Fault::parse("").unwrap(), Fault::default());
    }

    #[test]
    fn mistakes_name_the_directive() {
        let e = Fault::parse("status=503;stal-first=10").unwrap_err();
        assert!(e.contains("`stal-first=10`"), "{e}");
        let e = Fault::parse("cut-after").unwrap_err();
        assert!(e.contains("`cut-after`"), "{e}");
        let e = Fault::parse("drop=1").unwrap_err();
        assert!(e.contains("`drop=1`"), "{e}");
        let e = Fault::parse("status=99").unwrap_err();
        assert!(e.contains("`status`"), "{e}");
    }
}
