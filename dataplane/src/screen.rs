//! Guardrails in the data plane (`plugins.bitrouter-guardrails`): the request is checked after
//! the caller is authorised and before any upstream call (content rules, then webhook rules),
//! and the answer — whole, or streamed through a translator — before the caller sees it.
//!
//! A table without rules has no [`PreparedGuard`], and nothing here runs: no parse, no copy,
//! passthrough stays byte-forwarding. With rules, a request is parsed into a `serde_json`
//! value only when a rule applies to it (by phase, the model asked for and the key), walked by
//! `translate::screen`, and written back only when something was redacted. A block is the
//! caller's 400, naming the rule and never the match; it never counts against an endpoint's
//! breaker. Every match and webhook verdict is counted (`metrics/rules.rs`), never logged.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use compiler::table::Protocol;
use guardrails::{Action, Guard, Phase, Selection};
use http::{HeaderValue, Request, Uri, header};
use http_body_util::{BodyExt, Full, Limited};
use serde_json::{Value, json};
use translate::ir::ErrorKind;
use translate::screen::{self as wire, StreamScreen};

use crate::client::{Client, Clients};
use crate::error::ProxyError;
use crate::gate::Caller;
use crate::metrics::{Id, Metrics};

/// Largest webhook answer read.
const MAX_VERDICT: usize = 64 << 10;

/// A table's rules, ready for requests: the compiled guard, the webhooks with their clients,
/// and the rules' metric label ids (the guard's rules first, then the webhooks).
#[derive(Debug)]
pub(crate) struct PreparedGuard {
    guard: Arc<Guard>,
    webhooks: Box<[Hook]>,
    labels: Box<[Id]>,
    metrics: Arc<Metrics>,
}

#[derive(Debug)]
struct Hook {
    name: String,
    uri: Option<Uri>,
    timeout: Duration,
    fail_open: bool,
    block: bool,
    models: Vec<String>,
    keys: Vec<String>,
    client: Client,
}

impl PreparedGuard {
    /// `None` when the table has no rules: then nothing is checked, at no cost.
    pub(crate) fn new(
        table: &compiler::table::RoutingTable,
        clients: &Clients,
        metrics: &Arc<Metrics>,
    ) -> Option<Arc<PreparedGuard>> {
        let g = table.guardrails()?;
        let webhooks: Box<[Hook]> = g
            .webhooks
            .iter()
            .map(|w| Hook {
                name: w.name.clone(),
                uri: w.url.to_string().parse().ok(),
                timeout: w.timeout,
                fail_open: w.fail_open,
                block: w.block,
                models: w.models.clone(),
                keys: w.keys.clone(),
                // The address is checked again on every DNS answer, as for upstreams.
                client: clients.get(w.timeout, w.allow_private),
            })
            .collect();
        let names = (0..g.guard.len())
            .map(|i| g.guard.rule_name(i))
            .chain(webhooks.iter().map(|w| w.name.as_str()));
        let labels = metrics.rules.labels(names);
        Some(Arc::new(PreparedGuard {
            guard: Arc::clone(&g.guard),
            webhooks,
            labels,
            metrics: Arc::clone(metrics),
        }))
    }

    fn count(&self, hits: &[(usize, Action)], phase: Phase) {
        for &(rule, action) in hits {
            if let Some(&id) = self.labels.get(rule) {
                self.metrics.rules.check(id, phase, action);
            }
        }
    }

    fn hook_label(&self, i: usize) -> Id {
        self.labels
            .get(self.guard.len() + i)
            .copied()
            .unwrap_or(crate::metrics::UNKNOWN)
    }
}

/// The answer's rules for one request, carried down the failover loop to each attempt.
#[derive(Clone, Debug)]
pub(crate) struct Screening {
    prepared: Arc<PreparedGuard>,
    sel: Selection,
}

impl Screening {
    /// A streamed answer's screen, for the attempt's translator.
    pub(crate) fn stream(&self) -> StreamScreen {
        StreamScreen::new(Arc::clone(&self.prepared.guard), self.sel)
    }

    /// Counts a streamed answer's matches.
    pub(crate) fn count(&self, hits: &[(usize, Action)]) {
        self.prepared.count(hits, Phase::Response);
    }

    /// Checks a whole answer in the caller's protocol: `Ok(None)` unchanged, `Ok(Some)` the
    /// redacted body, `Err` blocked (or not JSON the walker can read: left as it is).
    pub(crate) fn answer(
        &self,
        caller: Protocol,
        body: &[u8],
    ) -> Result<Option<Bytes>, ProxyError> {
        let Ok(mut v) = serde_json::from_slice::<Value>(body) else {
            return Ok(None);
        };
        let o = wire::check(&self.prepared.guard, &self.sel, caller, false, &mut v);
        self.prepared.count(&o.hits, Phase::Response);
        if let Some(rule) = o.blocked {
            return Err(blocked(&rule, false));
        }
        if !o.hits.iter().any(|(_, a)| *a == Action::Redact) {
            return Ok(None);
        }
        Ok(serde_json::to_vec(&v).ok().map(Bytes::from))
    }
}

/// What checking a request decided.
#[derive(Debug, Default)]
pub(crate) struct Checked {
    /// The redacted body, when a rule rewrote it.
    pub(crate) body: Option<Bytes>,
    /// The answer's rules, when any applies.
    pub(crate) answer: Option<Screening>,
}

/// The caller's ids a rule's `keys` may name: the token's name and its `jti`.
fn ids(caller: Option<&Caller>) -> smallvec::SmallVec<[&str; 2]> {
    let mut ids = smallvec::SmallVec::new();
    if let Some(c) = caller {
        ids.push(c.token.jti.as_str());
        if let Some(n) = &c.token.name {
            ids.push(n.as_str());
        }
    }
    ids
}

/// Checks a request of `model` (as the caller named it) by `caller` in protocol `p`.
pub(crate) async fn request(
    g: &Arc<PreparedGuard>,
    p: Protocol,
    model: &str,
    caller: Option<&Caller>,
    body: &[u8],
) -> Result<Checked, ProxyError> {
    let ids = ids(caller);
    let sel = g.guard.select_for(Phase::Request, model, &ids);
    let answer = g.guard.select_for(Phase::Response, model, &ids);
    let hooks: smallvec::SmallVec<[usize; 2]> = g
        .webhooks
        .iter()
        .enumerate()
        .filter(|(_, h)| applies(h, model, &ids))
        .map(|(i, _)| i)
        .collect();
    let mut checked = Checked {
        body: None,
        answer: (!answer.is_empty()).then(|| Screening {
            prepared: Arc::clone(g),
            sel: answer,
        }),
    };
    if sel.is_empty() && hooks.is_empty() {
        return Ok(checked);
    }
    // The body was validated as JSON already; a value serde cannot read is left alone.
    let Ok(mut v) = serde_json::from_slice::<Value>(body) else {
        return Ok(checked);
    };
    if !sel.is_empty() {
        let o = wire::check(&g.guard, &sel, p, true, &mut v);
        g.count(&o.hits, Phase::Request);
        if let Some(rule) = o.blocked {
            return Err(blocked(&rule, true));
        }
        if o.hits.iter().any(|(_, a)| *a == Action::Redact) {
            checked.body = serde_json::to_vec(&v).ok().map(Bytes::from);
        }
    }
    if !hooks.is_empty() {
        let mut texts = Vec::new();
        wire::request_texts(p, &mut v, &mut |s, _| texts.push(s.clone()));
        let key = caller.map(|c| c.token.key_id());
        for i in hooks {
            webhook(g, i, model, key, &texts).await?;
        }
    }
    Ok(checked)
}

fn applies(h: &Hook, model: &str, ids: &[&str]) -> bool {
    (h.models.is_empty() || h.models.iter().any(|m| auth::pattern::matches(m, model)))
        && (h.keys.is_empty() || ids.iter().any(|k| h.keys.iter().any(|x| x == k)))
}

/// Asks webhook `i` about the request's texts: `{"rule", "phase", "model", "key", "texts"}`
/// in, `{"flagged": bool}` out. A failure (no answer in time, not 2xx, not that JSON) is
/// counted and either lets the request through (`fail_open`) or refuses it with a 503.
async fn webhook(
    g: &PreparedGuard,
    i: usize,
    model: &str,
    key: Option<&str>,
    texts: &[String],
) -> Result<(), ProxyError> {
    let h = &g.webhooks[i];
    let label = g.hook_label(i);
    let verdict = ask(h, model, key, texts).await;
    match verdict {
        Ok(false) => Ok(()),
        Ok(true) => {
            let action = if h.block { Action::Block } else { Action::Log };
            g.metrics.rules.check(label, Phase::Request, action);
            if h.block {
                Err(blocked(&h.name, true))
            } else {
                Ok(())
            }
        }
        Err(why) => {
            g.metrics.rules.webhook_failure(label, h.fail_open);
            tracing::warn!(
                rule = h.name,
                failure = why,
                fail_open = h.fail_open,
                "content check webhook failed"
            );
            if h.fail_open {
                Ok(())
            } else {
                Err(ProxyError::internal(
                    ErrorKind::Overloaded,
                    format!(
                        "the content check `{}` is unavailable; try again later",
                        h.name
                    ),
                )
                .with_retry_after(Duration::from_secs(1)))
            }
        }
    }
}

async fn ask(h: &Hook, model: &str, key: Option<&str>, texts: &[String]) -> Result<bool, String> {
    let uri = h.uri.clone().ok_or("its URL is not valid")?;
    let body =
        json!({"rule": h.name, "phase": "request", "model": model, "key": key, "texts": texts});
    let req = Request::post(uri)
        .header(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| e.to_string())?;
    let call = async {
        let res = h
            .client
            .request(req)
            .await
            .map_err(|e| crate::error::error_chain(&e))?;
        if !res.status().is_success() {
            return Err(format!("it answered {}", res.status()));
        }
        let body = Limited::new(res.into_body(), MAX_VERDICT)
            .collect()
            .await
            .map_err(|_| "its answer is too large or was cut".to_owned())?;
        Ok(body.to_bytes())
    };
    let body = tokio::time::timeout(h.timeout, call)
        .await
        .map_err(|_| format!("no answer within {:?}", h.timeout))??;
    let v: Value = serde_json::from_slice(&body).map_err(|_| "its answer is not JSON")?;
    v.get("flagged")
        .and_then(Value::as_bool)
        .ok_or_else(|| "its answer has no boolean `flagged`".to_owned())
}

/// The caller's 400 for a blocked request or answer: the rule's name, never the match.
pub(crate) fn blocked(rule: &str, request: bool) -> ProxyError {
    ProxyError::client(
        ErrorKind::InvalidRequest,
        wire::blocked_message(rule, request),
    )
    .with_code("content_filter")
    .with_reason("guardrail")
}
