//! The usage ledger's view of a finished model call: one [`Entry`] per request, handed to a
//! [`UsageSink`] the runtime installs (`Server::set_usage_sink`), and its cost from the
//! target's prices ([`cost_micro_usd`]). The data plane knows no database, file or queue: the
//! sink owns them and must return at once (no waiting, no unbounded growth).
//!
//! An entry borrows everything from the request's record, so handing it over allocates
//! nothing here; what the sink keeps is its own business.

use std::fmt;
use std::time::{Duration, SystemTime};

use compiler::table::{Pricing, Protocol};
/// Token counts, normalised to inclusive totals (the IR's).
pub use translate::ir::Usage;

/// One finished model call, as the ledger stores it.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    /// When the request arrived.
    pub time: SystemTime,
    pub request_id: &'a str,
    /// The caller's key (`auth::Verified::key_id`: its name, else its `jti`); `None` under
    /// `skip_auth` or when the request was refused before its credential was checked.
    pub key_id: Option<&'a str>,
    /// The model as the caller wrote it (cut at 64 bytes).
    pub model: &'a str,
    /// What the name resolved to (a virtual model, a bare id, `provider:model`), without
    /// `@preset` or `:variant`; `None` when it resolved to nothing.
    pub route: Option<&'a str>,
    /// The provider that answered (the last one tried); `None` when none was tried.
    pub provider: Option<&'a str>,
    /// The model id sent to that provider.
    pub upstream_model: Option<&'a str>,
    pub inbound: Protocol,
    pub outbound: Option<Protocol>,
    pub stream: bool,
    /// The HTTP status the caller got (499 when it left).
    pub status: u16,
    /// `completed`, `failed`, `cancelled` or `refused`.
    pub outcome: &'static str,
    pub attempts: u32,
    pub duration: Duration,
    /// When the response head left (a stream's: with its first content).
    pub time_to_first_byte: Option<Duration>,
    /// What the upstream reported (a cancelled stream: what it had reported so far).
    pub usage: Option<Usage>,
    /// Micro-USD from the answering target's prices; `None` when a price it needs is unknown
    /// or there is no usage.
    pub cost_micro_usd: Option<f64>,
}

/// Where the ledger's entries go (installed once by the runtime).
pub trait UsageSink: Send + Sync + fmt::Debug {
    /// Every finished model call, exactly once. Must not block.
    fn finished(&self, entry: &Entry<'_>);

    /// Entries the sink could not keep since it started (`bitrouter_ledger_dropped_total`;
    /// read at scrape).
    fn dropped(&self) -> u64 {
        0
    }

    /// Bytes of entries waiting to be written (`bitrouter_ledger_spool_bytes`; read at
    /// scrape).
    fn queued_bytes(&self) -> u64 {
        0
    }
}

/// The cost of `usage` at `pricing` (USD per million tokens) in micro-USD: uncached input at
/// the input price, cache reads and writes at theirs, output (reasoning included) at the
/// output price. `None` when a token class that was used has no price: an unknown cost is
/// never reported as 0.
pub fn cost_micro_usd(pricing: &Pricing, usage: &Usage) -> Option<f64> {
    let part = |tokens: u64, price: Option<f64>| match (tokens, price) {
        (0, _) => Some(0.0),
        (n, Some(p)) => Some(n as f64 * p),
        (_, None) => None,
    };
    // Prompt and completion prices are needed even for an empty answer: a row that says 0
    // because nothing was priced would read as free.
    pricing.input?;
    pricing.output?;
    Some(
        part(usage.uncached_input(), pricing.input)?
            + part(usage.cache_read, pricing.cache_read)?
            + part(usage.cache_write, pricing.cache_write)?
            + part(usage.output, pricing.output)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(input: u64, output: u64, cache_read: u64, cache_write: u64) -> Usage {
        Usage {
            input,
            output,
            cache_read,
            cache_write,
            reasoning: 0,
        }
    }

    #[test]
    fn cost_is_per_token_class_and_unknown_when_a_used_class_has_no_price() {
        let p = Pricing {
            input: Some(3.0),
            output: Some(15.0),
            cache_read: Some(0.3),
            cache_write: None,
        };
        // 100 uncached + 1000 cache reads in, 10 out.
        assert_eq!(
            cost_micro_usd(&p, &usage(1100, 10, 1000, 0)),
            Some(100.0 * 3.0 + 1000.0 * 0.3 + 10.0 * 15.0)
        );
        assert_eq!(cost_micro_usd(&p, &usage(10, 1, 0, 5)), None);
        assert_eq!(cost_micro_usd(&p, &usage(0, 0, 0, 0)), Some(0.0));
        assert_eq!(
            cost_micro_usd(&Pricing::default(), &usage(0, 0, 0, 0)),
            None
        );
        let no_output = Pricing { output: None, ..p };
        assert_eq!(cost_micro_usd(&no_output, &usage(10, 0, 0, 0)), None);
    }
}
