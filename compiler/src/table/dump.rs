//! A stable, human-readable dump of the table (golden files, `--dump`) and its content hash.

use std::fmt::Write;

use sha2::{Digest, Sha256};

use super::{Credential, RoutingTable};

impl RoutingTable {
    /// The whole table as stable text. Secrets are never printed: a credential shows as `set`,
    /// `none` or `missing VAR`, headers by name only.
    pub fn dump(&self) -> String {
        let mut o = String::new();
        let s = &self.server;
        let _ = writeln!(
            o,
            "server listen={} log_level={} skip_auth={} max_body={} max_header={} max_headers={} header_read={:?} max_in_flight={} attempts={} breaker={}/{:?}",
            s.listen,
            s.log_level,
            s.skip_auth,
            s.max_body_size,
            s.max_header_size,
            s.max_headers,
            s.header_read_timeout,
            s.max_in_flight,
            s.max_attempts,
            s.breaker_failures,
            s.breaker_cooldown
        );
        let a = &s.auth;
        if !a.trusted_keys.is_empty()
            || !a.revoked_jti.is_empty()
            || a.max_token_lifetime != crate::resolve::defaults::MAX_TOKEN_LIFETIME
        {
            let _ = writeln!(
                o,
                "auth trusted_keys=[{}] revoked_jti=[{}] max_token_lifetime={:?}",
                a.trusted_keys.join(","),
                a.revoked_jti.join(","),
                a.max_token_lifetime
            );
        }
        for b in &a.budgets {
            let _ = writeln!(
                o,
                "budget key={} micro_usd={} window={}",
                b.key,
                b.micro_usd,
                b.window.as_str()
            );
        }
        // Written only when set, so tables that leave them alone dump (and hash) as before.
        if s.translation != super::TranslationMode::Lenient
            || !s.cors_allowed_origins.is_empty()
            || !s.allowed_hosts.is_empty()
        {
            let _ = writeln!(
                o,
                "server translation={:?} cors_allowed_origins={:?} allowed_hosts={:?}",
                s.translation, s.cors_allowed_origins, s.allowed_hosts
            );
        }
        if s.drain_timeout != crate::resolve::defaults::DRAIN_TIMEOUT
            || s.drain_accept != crate::resolve::defaults::DRAIN_ACCEPT
        {
            let _ = writeln!(
                o,
                "drain timeout={:?} accept={:?}",
                s.drain_timeout, s.drain_accept
            );
        }
        if s.metrics_listen.is_some() || s.log_format != super::LogFormat::Text {
            let _ = writeln!(
                o,
                "observe metrics_listen={} log_format={:?}",
                s.metrics_listen.as_deref().unwrap_or("-"),
                s.log_format
            );
        }
        if let Some(t) = &s.otel {
            let headers: Vec<&str> = t.headers.iter().map(|(k, _)| &**k).collect();
            let _ = writeln!(
                o,
                "otel endpoint={} protocol={:?} service={} sampler={}:{} headers=[{}]",
                t.endpoint,
                t.protocol,
                t.service_name,
                t.sampler.as_str(),
                t.sampler_arg,
                headers.join(",")
            );
        }
        if let Some(db) = &s.database_url {
            let _ = writeln!(o, "database {db}");
        }
        if let Some(l) = &s.limit_store {
            // The URL may hold a password: only the content hash sees it, as a digest.
            let _ = writeln!(
                o,
                "limit_store url=*** on_error={} timeout={:?}",
                if l.fail_open {
                    "fail_open"
                } else {
                    "fail_closed"
                },
                l.timeout
            );
        }
        for p in self.providers.iter() {
            let cred = match &p.credential {
                Credential::None => "none".to_owned(),
                Credential::Key(_) => "set".to_owned(),
                Credential::Missing(v) => format!("missing {v}"),
            };
            let origin = match (p.in_file, p.builtin) {
                (true, true) => "file+builtin",
                (true, false) => "file",
                (false, _) => "builtin",
            };
            let _ = writeln!(
                o,
                "provider {} ({origin}) base={} key={cred} protocols_from={}",
                p.name, p.api_base, p.protocol_origin
            );
            if p.derives_chain.len() > 1 {
                let chain: Vec<&str> = p.derives_chain.iter().map(|s| &**s).collect();
                let _ = writeln!(o, "  derives {}", chain.join(" -> "));
            }
            // The URL of every protocol some model of this provider may be sent with.
            let mut used: Vec<super::Protocol> =
                p.rules.sets().flat_map(|s| s.as_slice().to_vec()).collect();
            used.extend(
                p.models
                    .values()
                    .flat_map(|t| self.target(*t).protocols.as_slice().to_vec()),
            );
            for proto in super::Protocol::ALL
                .into_iter()
                .filter(|x| used.contains(x))
            {
                let _ = writeln!(o, "  url {proto} {}", p.urls[proto.index()]);
            }
            let t = &p.timeouts;
            let _ = writeln!(
                o,
                "  timeouts connect={:?} first_byte={:?} idle={:?} total={:?} allow_private={}",
                t.connect, t.first_byte, t.idle, t.total, p.allow_private
            );
            if !p.headers.is_empty() {
                let names: Vec<&str> = p.headers.iter().map(|(k, _)| &**k).collect();
                let _ = writeln!(o, "  headers {}", names.join(", "));
            }
            let mut models: Vec<(&str, super::TargetId)> = p.declared_models().collect();
            models.sort_by_key(|(_, t)| *t);
            for (_, tid) in models {
                let t = self.target(tid);
                let protos: Vec<&str> = t.protocols.iter().map(|p| p.as_str()).collect();
                let _ = write!(o, "  model {}", t.id);
                if t.upstream != t.id {
                    let _ = write!(o, " -> {}", t.upstream);
                }
                let _ = write!(o, " [{}] ({})", protos.join(", "), t.protocol_source);
                if !t.declared {
                    let _ = write!(o, " undeclared");
                }
                let _ = writeln!(o);
            }
        }
        for m in self.models.iter() {
            let _ = writeln!(o, "model {} strategy={:?}", m.name, m.strategy);
            for h in &self.hops[m.hops.start as usize..m.hops.end as usize] {
                let t = self.target(h.target);
                let _ = writeln!(
                    o,
                    "  -> {}:{} weight={}",
                    self.provider(t.provider).name,
                    t.id,
                    h.weight
                );
            }
        }
        for p in self.presets.iter() {
            let _ = writeln!(
                o,
                "preset @{} model={} params={} system_prompt={}",
                p.name,
                p.model,
                p.params_json,
                p.system_prompt.is_some()
            );
        }
        for v in self.variants.iter() {
            let names = |ids: &[super::ProviderId]| {
                ids.iter()
                    .map(|i| &*self.provider(*i).name)
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let _ = writeln!(
                o,
                "variant :{} only=[{}] exclude=[{}] strategy={:?}",
                v.name,
                names(&v.only),
                names(&v.exclude),
                v.strategy
            );
        }
        if let Some(g) = &self.guardrails {
            for line in g.lines.iter() {
                let _ = writeln!(o, "{line}");
            }
        }
        let d = &self.declared_sections;
        let _ = writeln!(
            o,
            "declared mcp={} mcp_servers=[{}] agents=[{}] server_tools=[{}] plugins=[{}]",
            d.mcp_enabled,
            d.mcp_servers.join(","),
            d.agents.join(","),
            d.server_tools.join(","),
            d.plugins.join(",")
        );
        o
    }

    pub(crate) fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.dump().as_bytes());
        // Secrets enter only as their own digests.
        for p in self.providers.iter() {
            if let Credential::Key(k) = &p.credential {
                h.update(Sha256::digest(k.expose().as_bytes()));
            }
            for (_, v) in p.headers.iter() {
                h.update(Sha256::digest(v.expose().as_bytes()));
            }
        }
        if let Some(l) = &self.server.limit_store {
            h.update(Sha256::digest(l.url.expose().as_bytes()));
        }
        h.finalize()
            .iter()
            .fold(String::with_capacity(64), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            })
    }
}
