//! Upstream base URLs: per-protocol normalisation (each SDK's convention, both spellings
//! accepted) and the SSRF guard applied to every configured upstream address.
//!
//! The guard works on what the config says (literal addresses and well-known metadata names).
//! Names that resolve to private addresses at request time are the data plane's to re-check.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::table::Protocol;

/// Full request URL per protocol for a base URL; `generate_content` gets the `.../models/`
/// prefix that the model id and method are appended to.
///
/// - `chat_completions`, `responses`: the base includes the version (`.../v1`); a base with no
///   path at all gets `/v1`.
/// - `messages`: `https://api.anthropic.com` and `.../v1` both give `.../v1/messages`.
/// - `generate_content`: a base ending in `/v1beta`, `/v1alpha` or `/v1` keeps that version;
///   otherwise `/v1beta` is added.
pub fn endpoint_urls(base: &str) -> [String; 4] {
    let base = base.trim_end_matches('/');
    let versioned = if has_path(base) {
        base.to_owned()
    } else {
        format!("{base}/v1")
    };
    let root = base.strip_suffix("/v1").unwrap_or(base);
    let gemini = if ["/v1beta", "/v1alpha", "/v1"]
        .iter()
        .any(|v| base.ends_with(v))
    {
        base.to_owned()
    } else {
        format!("{base}/v1beta")
    };
    let mut out: [String; 4] = Default::default();
    out[Protocol::ChatCompletions.index()] = format!("{versioned}/chat/completions");
    out[Protocol::Responses.index()] = format!("{versioned}/responses");
    out[Protocol::Messages.index()] = format!("{root}/v1/messages");
    out[Protocol::GenerateContent.index()] = format!("{gemini}/models/");
    out
}

fn has_path(base: &str) -> bool {
    let after_scheme = base.split_once("://").map_or(base, |(_, rest)| rest);
    after_scheme
        .split_once('/')
        .is_some_and(|(_, path)| !path.is_empty())
}

/// What is wrong with an upstream URL.
#[derive(Debug, PartialEq, Eq)]
pub enum UrlProblem {
    /// Not an absolute http(s) URL, or carries credentials, a query or a fragment.
    Invalid(String),
    /// Cloud metadata or link-local: refused whatever the config says.
    Forbidden(String),
    /// Private or loopback: needs `allow_private: true`.
    Private(String),
}

/// Checks a base URL. `Ok` carries the host, for protocol inference.
pub fn check(base: &str, allow_private: bool) -> Result<String, UrlProblem> {
    // Messages never echo the URL: it may come from an environment variable and carry a token.
    let url =
        url::Url::parse(base).map_err(|e| UrlProblem::Invalid(format!("not a valid URL: {e}")))?;
    match url.scheme() {
        "http" | "https" => {}
        s => {
            return Err(UrlProblem::Invalid(format!(
                "scheme `{s}` is not allowed; upstreams are `http` or `https`"
            )));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlProblem::Invalid(
            "credentials in the URL are not allowed; put the key in `api_key`".to_owned(),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(UrlProblem::Invalid(
            "a base URL cannot have a query (`?`) or fragment (`#`)".to_owned(),
        ));
    }
    let host = match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            if METADATA_NAMES.contains(&d.as_str()) {
                return Err(UrlProblem::Forbidden(format!(
                    "`{d}` is a cloud metadata service"
                )));
            }
            if (d == "localhost" || d.ends_with(".localhost")) && !allow_private {
                return Err(UrlProblem::Private(format!(
                    "`{d}` is the loopback interface"
                )));
            }
            d
        }
        Some(url::Host::Ipv4(ip)) => {
            classify(IpAddr::V4(ip), allow_private)?;
            ip.to_string()
        }
        Some(url::Host::Ipv6(ip)) => {
            classify(IpAddr::V6(ip), allow_private)?;
            ip.to_string()
        }
        None => return Err(UrlProblem::Invalid("the URL has no host".to_owned())),
    };
    Ok(host)
}

/// Whether `base` names a private or loopback upstream: one [`check`] accepts only with
/// `allow_private: true`. Tools that write configurations (`bitrouter init`) ask this so they
/// add the opt-in exactly when the compiler will require it.
pub fn needs_allow_private(base: &str) -> bool {
    matches!(check(base, false), Err(UrlProblem::Private(_)))
}

/// Host names of instance-metadata services (AWS, GCP, Azure, Alibaba, Oracle, DigitalOcean...).
const METADATA_NAMES: &[&str] = &[
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "metadata.azure.internal",
    "instance-data",
    "instance-data.ec2.internal",
    "metadata.tencentyun.com",
];

/// Refuses metadata/link-local addresses always, private/loopback without the opt-in.
/// Used by the data plane too, on resolved addresses.
pub fn classify(ip: IpAddr, allow_private: bool) -> Result<(), UrlProblem> {
    let ip = match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            if v4.is_link_local()
                || v4 == Ipv4Addr::new(100, 100, 100, 200)
                || v4 == Ipv4Addr::new(192, 0, 0, 192)
            {
                return Err(UrlProblem::Forbidden(format!(
                    "{v4} is a link-local or cloud metadata address"
                )));
            }
            let o = v4.octets();
            let cgnat = o[0] == 100 && (64..128).contains(&o[1]);
            if v4.is_multicast() || v4.is_broadcast() {
                return Err(UrlProblem::Forbidden(format!(
                    "{v4} is a multicast or broadcast address"
                )));
            }
            if (v4.is_loopback() || v4.is_private() || v4.is_unspecified() || o[0] == 0 || cgnat)
                && !allow_private
            {
                return Err(UrlProblem::Private(format!(
                    "{v4} is a private or loopback address"
                )));
            }
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            let link_local = (seg[0] & 0xffc0) == 0xfe80;
            let aws_imds = v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);
            if link_local || aws_imds {
                return Err(UrlProblem::Forbidden(format!(
                    "{v6} is a link-local or cloud metadata address"
                )));
            }
            if v6.is_multicast() {
                return Err(UrlProblem::Forbidden(format!(
                    "{v6} is a multicast address"
                )));
            }
            let unique_local = (seg[0] & 0xfe00) == 0xfc00;
            let site_local = (seg[0] & 0xffc0) == 0xfec0;
            if (v6.is_loopback() || v6.is_unspecified() || unique_local || site_local)
                && !allow_private
            {
                return Err(UrlProblem::Private(format!(
                    "{v6} is a private or loopback address"
                )));
            }
        }
    }
    Ok(())
}

/// The IPv4 address inside an IPv6 one that carries it: IPv4-mapped (`::ffff:a.b.c.d`),
/// IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`) and 6to4 (`2002:AABB:CCDD::/48`).
/// Each reaches the IPv4 host, so it is judged as that host.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let o = v6.octets();
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    if s[..6] == [0, 0, 0, 0, 0, 0] && !v6.is_loopback() && !v6.is_unspecified() {
        return Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(base: &str, p: Protocol) -> String {
        endpoint_urls(base)[p.index()].clone()
    }

    #[test]
    fn both_spellings_reach_the_same_endpoint() {
        for b in [
            "https://api.anthropic.com",
            "https://api.anthropic.com/v1",
            "https://api.anthropic.com/",
        ] {
            assert_eq!(
                url(b, Protocol::Messages),
                "https://api.anthropic.com/v1/messages"
            );
        }
        assert_eq!(
            url("https://api.moonshot.ai/anthropic", Protocol::Messages),
            "https://api.moonshot.ai/anthropic/v1/messages"
        );
        for b in [
            "https://generativelanguage.googleapis.com",
            "https://generativelanguage.googleapis.com/v1beta/",
        ] {
            assert_eq!(
                url(b, Protocol::GenerateContent),
                "https://generativelanguage.googleapis.com/v1beta/models/"
            );
        }
        assert_eq!(
            url("https://g.example/v1", Protocol::GenerateContent),
            "https://g.example/v1/models/"
        );
        assert_eq!(
            url("https://api.openai.com/v1", Protocol::ChatCompletions),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(
            url("https://api.openai.com", Protocol::Responses),
            "https://api.openai.com/v1/responses"
        );
        assert_eq!(
            url("https://openrouter.ai/api/v1/", Protocol::ChatCompletions),
            "https://openrouter.ai/api/v1/chat/completions"
        );
    }

    #[test]
    fn needs_allow_private_follows_the_guard() {
        for b in [
            "http://localhost:11434/v1",
            "http://127.0.0.1:8000/v1",
            "http://10.0.0.5/v1",
            "http://192.168.1.2:8080",
            "http://100.101.2.3:8000/v1",
            "http://[::1]:8000/v1",
            "http://[fd00::1]/v1",
            "http://[::ffff:10.0.0.1]/",
        ] {
            assert!(needs_allow_private(b), "{b}");
            assert!(check(b, true).is_ok(), "{b}");
        }
        for b in [
            "https://api.openai.com/v1",
            "https://8.8.8.8/v1",
            "https://[2001:db8::1]/",
            "http://169.254.169.254/",
            "not a url",
        ] {
            assert!(!needs_allow_private(b), "{b}");
        }
    }

    #[test]
    fn ssrf_guard() {
        use UrlProblem::*;
        assert!(matches!(
            check("http://169.254.169.254/latest", true),
            Err(Forbidden(_))
        ));
        assert!(matches!(
            check("http://[fe80::1]/", true),
            Err(Forbidden(_))
        ));
        assert!(matches!(
            check("http://[::ffff:169.254.169.254]/", true),
            Err(Forbidden(_))
        ));
        assert!(matches!(
            check("http://metadata.google.internal/", true),
            Err(Forbidden(_))
        ));
        assert!(matches!(
            check("http://[fd00:ec2::254]/", true),
            Err(Forbidden(_))
        ));
        assert!(matches!(
            check("http://[64:ff9b::a9fe:a9fe]/", true),
            Err(Forbidden(_))
        ));
        assert!(matches!(
            check("http://[::a9fe:a9fe]/", true),
            Err(Forbidden(_))
        ));
        assert!(matches!(
            check("http://[2002:a9fe:a9fe::1]/", true),
            Err(Forbidden(_))
        ));
        assert!(matches!(
            check("http://[64:ff9b::a00:1]/", false),
            Err(Private(_))
        ));
        assert!(matches!(
            check("http://224.0.0.1/", true),
            Err(Forbidden(_))
        ));
        assert!(matches!(check("http://[fec0::1]/", false), Err(Private(_))));
        assert!(check("http://[2001:db8::1]/", false).is_ok());
        assert!(matches!(
            check("http://127.0.0.1:11434/v1", false),
            Err(Private(_))
        ));
        assert!(matches!(check("http://0x7f.1/", false), Err(Private(_))));
        assert!(matches!(
            check("http://localhost:8000", false),
            Err(Private(_))
        ));
        assert!(matches!(check("http://10.1.2.3/", false), Err(Private(_))));
        assert!(matches!(
            check("http://100.64.0.1/", false),
            Err(Private(_))
        ));
        assert!(matches!(check("http://[::1]:80/", false), Err(Private(_))));
        assert_eq!(
            check("http://127.0.0.1:11434/v1", true),
            Ok("127.0.0.1".to_owned())
        );
        assert!(matches!(check("file:///etc/passwd", true), Err(Invalid(_))));
        assert!(matches!(
            check("https://user:pw@api.x.ai/v1", true),
            Err(Invalid(_))
        ));
        assert!(matches!(
            check("https://api.x.ai/v1?key=1", true),
            Err(Invalid(_))
        ));
        assert!(matches!(check("api.openai.com/v1", true), Err(Invalid(_))));
        assert_eq!(
            check("https://API.OpenAI.com/v1", false),
            Ok("api.openai.com".to_owned())
        );
    }
}
