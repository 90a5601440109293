//! Inbound endpoint detection: method + path → which protocol the caller speaks, and which of
//! the auxiliary endpoints real clients call (token counts, one model's description).

use std::borrow::Cow;

use compiler::table::Protocol;
use http::Method;

/// What a request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint<'a> {
    /// A model call in `protocol`. For Gemini the model comes from the path.
    Call(Call<'a>),
    /// `GET /v1/models` or `GET /{v1,v1beta}/models`.
    Models,
    /// `GET /{v1,v1beta}/models/{model}`: one model (percent-decoded).
    Model(Cow<'a, str>),
    /// Anthropic `POST /v1/messages/count_tokens`, Gemini `POST …/models/{model}:countTokens`.
    CountTokens(Call<'a>),
    Health,
    Ready,
    /// `GET /metrics` (Prometheus); never proxied.
    Metrics,
    /// A known path with the wrong method.
    WrongMethod(Protocol),
    NotFound,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Call<'a> {
    pub(crate) protocol: Protocol,
    /// Gemini only: the model named in the path (percent-decoded).
    pub(crate) path_model: Option<Cow<'a, str>>,
    /// Gemini only: `:streamGenerateContent`.
    pub(crate) path_stream: bool,
    /// Gemini only: `:streamGenerateContent` without `alt=sse` answers a JSON array.
    pub(crate) json_array: bool,
}

impl Endpoint<'_> {
    /// The same endpoint, owning the model its path names.
    pub(crate) fn into_owned(self) -> Endpoint<'static> {
        let own = |c: Call<'_>| Call {
            path_model: c.path_model.map(|m| Cow::Owned(m.into_owned())),
            protocol: c.protocol,
            path_stream: c.path_stream,
            json_array: c.json_array,
        };
        match self {
            Endpoint::Call(c) => Endpoint::Call(own(c)),
            Endpoint::CountTokens(c) => Endpoint::CountTokens(own(c)),
            Endpoint::Model(m) => Endpoint::Model(Cow::Owned(m.into_owned())),
            Endpoint::Models => Endpoint::Models,
            Endpoint::Health => Endpoint::Health,
            Endpoint::Ready => Endpoint::Ready,
            Endpoint::Metrics => Endpoint::Metrics,
            Endpoint::WrongMethod(p) => Endpoint::WrongMethod(p),
            Endpoint::NotFound => Endpoint::NotFound,
        }
    }
}

impl<'a> Endpoint<'a> {
    pub(crate) fn detect(method: &Method, path: &'a str, query: Option<&str>) -> Endpoint<'a> {
        let post = method == Method::POST;
        let call = |p: Protocol| {
            if post {
                Endpoint::Call(Call {
                    protocol: p,
                    path_model: None,
                    path_stream: false,
                    json_array: false,
                })
            } else {
                Endpoint::WrongMethod(p)
            }
        };
        match path {
            "/v1/chat/completions" => return call(Protocol::ChatCompletions),
            "/v1/responses" => return call(Protocol::Responses),
            "/v1/messages" => return call(Protocol::Messages),
            "/v1/messages/count_tokens" => {
                return match call(Protocol::Messages) {
                    Endpoint::Call(c) => Endpoint::CountTokens(c),
                    other => other,
                };
            }
            "/health" | "/healthz" => return Endpoint::Health,
            "/ready" | "/readyz" => return Endpoint::Ready,
            "/metrics" if method == Method::GET => return Endpoint::Metrics,
            "/v1/models" | "/v1beta/models" if method == Method::GET => return Endpoint::Models,
            _ => {}
        }
        let Some(rest) = path
            .strip_prefix("/v1beta/models/")
            .or_else(|| path.strip_prefix("/v1/models/"))
        else {
            return Endpoint::NotFound;
        };
        // `models/{model}:{action}`; a model name may itself hold `:` (`openai:gpt-4o`).
        let action = rest.rsplit_once(':').and_then(|(model, action)| {
            let kind = match action {
                "generateContent" => Some(false),
                "streamGenerateContent" => Some(true),
                "countTokens" => None,
                _ => return None,
            };
            Some((model, kind))
        });
        let Some((model, kind)) = action else {
            return match (
                method == Method::GET && !rest.is_empty(),
                rest.contains('/'),
            ) {
                (true, false) => Endpoint::Model(percent_decode(rest)),
                _ => Endpoint::NotFound,
            };
        };
        if model.is_empty() {
            return Endpoint::NotFound;
        }
        if !post {
            return Endpoint::WrongMethod(Protocol::GenerateContent);
        }
        let sse = query.is_some_and(|q| q.split('&').any(|kv| kv == "alt=sse"));
        let stream = kind.unwrap_or(false);
        let call = Call {
            protocol: Protocol::GenerateContent,
            path_model: Some(percent_decode(model)),
            path_stream: stream,
            json_array: stream && !sse,
        };
        match kind {
            Some(_) => Endpoint::Call(call),
            None => Endpoint::CountTokens(call),
        }
    }
}

/// Decodes `%XX` escapes (a model such as `openai/gpt-4o` may arrive as `openai%2Fgpt-4o`).
/// Invalid escapes are kept as written.
fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && let (Some(h), Some(l)) = (
                b.get(i + 1).and_then(|&c| hex(c)),
                b.get(i + 2).and_then(|&c| hex(c)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(_) => Cow::Borrowed(s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(path: &str, query: Option<&str>) -> Call<'static> {
        let path: &'static str = Box::leak(path.to_owned().into_boxed_str());
        match Endpoint::detect(&Method::POST, path, query) {
            Endpoint::Call(c) => c,
            other => panic!("{path}: {other:?}"),
        }
    }

    #[test]
    fn openai_and_anthropic_paths() {
        assert_eq!(
            call("/v1/chat/completions", None).protocol,
            Protocol::ChatCompletions
        );
        assert_eq!(call("/v1/responses", None).protocol, Protocol::Responses);
        assert_eq!(call("/v1/messages", None).protocol, Protocol::Messages);
    }

    #[test]
    fn gemini_paths_on_both_versions() {
        for v in ["v1", "v1beta"] {
            let c = call(
                &format!("/{v}/models/gemini-2.5-flash:generateContent"),
                None,
            );
            assert_eq!(c.protocol, Protocol::GenerateContent);
            assert_eq!(c.path_model.as_deref(), Some("gemini-2.5-flash"));
            assert!(!c.path_stream);
            let s = call(
                &format!("/{v}/models/gemini-2.5-flash:streamGenerateContent"),
                Some("alt=sse"),
            );
            assert!(s.path_stream && !s.json_array);
            let a = call(
                &format!("/{v}/models/gemini-2.5-flash:streamGenerateContent"),
                None,
            );
            assert!(a.json_array);
        }
    }

    #[test]
    fn gemini_model_names_with_separators() {
        let c = call("/v1beta/models/openai:gpt-4o:generateContent", None);
        assert_eq!(c.path_model.as_deref(), Some("openai:gpt-4o"));
        let c = call("/v1beta/models/openai%2Fgpt-4o:generateContent", None);
        assert_eq!(c.path_model.as_deref(), Some("openai/gpt-4o"));
        let c = call("/v1beta/models/bad%zz:generateContent", None);
        assert_eq!(c.path_model.as_deref(), Some("bad%zz"));
    }

    #[test]
    fn others() {
        assert_eq!(
            Endpoint::detect(&Method::GET, "/v1/chat/completions", None),
            Endpoint::WrongMethod(Protocol::ChatCompletions)
        );
        assert_eq!(
            Endpoint::detect(&Method::GET, "/v1/models", None),
            Endpoint::Models
        );
        assert_eq!(
            Endpoint::detect(&Method::POST, "/v1beta/models/:generateContent", None),
            Endpoint::NotFound
        );
        assert_eq!(
            Endpoint::detect(&Method::POST, "/v1beta/models/x:embedContent", None),
            Endpoint::NotFound
        );
        assert_eq!(
            Endpoint::detect(&Method::GET, "/v1beta/models/a/b", None),
            Endpoint::NotFound
        );
        assert_eq!(
            Endpoint::detect(&Method::GET, "/nope", None),
            Endpoint::NotFound
        );
    }

    #[test]
    fn auxiliary_endpoints() {
        let count = |path: &'static str| match Endpoint::detect(&Method::POST, path, None) {
            Endpoint::CountTokens(c) => c,
            other => panic!("{path}: {other:?}"),
        };
        assert_eq!(
            count("/v1/messages/count_tokens").protocol,
            Protocol::Messages
        );
        let g = count("/v1beta/models/openai%2Fgpt-4o:countTokens");
        assert_eq!(g.protocol, Protocol::GenerateContent);
        assert_eq!(g.path_model.as_deref(), Some("openai/gpt-4o"));
        assert_eq!(
            Endpoint::detect(&Method::GET, "/v1/messages/count_tokens", None),
            Endpoint::WrongMethod(Protocol::Messages)
        );
        for (path, model) in [
            ("/v1beta/models/gemini-2.5-flash", "gemini-2.5-flash"),
            ("/v1/models/openai:gpt-4o", "openai:gpt-4o"),
            ("/v1/models/openai%2Fgpt-4o", "openai/gpt-4o"),
        ] {
            assert_eq!(
                Endpoint::detect(&Method::GET, path, None),
                Endpoint::Model(Cow::Borrowed(model)),
                "{path}"
            );
        }
        assert_eq!(
            Endpoint::detect(&Method::POST, "/v1beta/models/gemini-2.5-flash", None),
            Endpoint::NotFound
        );
        // A query string does not change the endpoint (`/v1/messages?beta=true` has its path).
        assert!(matches!(
            Endpoint::detect(&Method::POST, "/v1/messages", Some("beta=true")),
            Endpoint::Call(_)
        ));
    }
}
