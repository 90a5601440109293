//! Compiling rules into one automaton, choosing the rules that apply to a request, and checking
//! a text against them.

use regex_automata::meta::{Config, Regex};
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, PatternID};

use crate::MAX_RULES;
use crate::detect::{Check, Detector};

/// Where a rule looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Request,
    Response,
}

/// Which phases a rule covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Request,
    Response,
    Both,
}

impl Source {
    fn covers(self, p: Phase) -> bool {
        matches!(
            (self, p),
            (Source::Both, _)
                | (Source::Request, Phase::Request)
                | (Source::Response, Phase::Response)
        )
    }
}

/// What a match does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Refuse the request (or end the answer) naming the rule.
    Block,
    /// Replace the match.
    Redact,
    /// Only count it.
    Log,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Block => "block",
            Action::Redact => "redact",
            Action::Log => "log",
        }
    }
}

/// One rule as configured.
#[derive(Clone, Debug)]
pub struct RuleSpec {
    pub name: String,
    /// A regular expression, or (when `None`) the detector.
    pub pattern: Option<String>,
    pub detector: Option<Detector>,
    pub on: Source,
    pub action: Action,
    /// Default `[REDACTED:<name>]`.
    pub replacement: Option<String>,
    /// Model patterns (`*`, `?`) the rule applies to; empty: every model.
    pub models: Vec<String>,
    /// Key ids the rule applies to; empty: every caller.
    pub keys: Vec<String>,
}

/// Why a rule cannot be compiled: its index and the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompileError {
    pub rule: usize,
    pub message: String,
}

#[derive(Debug)]
struct Rule {
    name: String,
    on: Source,
    action: Action,
    replacement: String,
    models: Vec<String>,
    keys: Vec<String>,
}

/// Every rule, compiled.
#[derive(Debug)]
pub struct Guard {
    regex: Option<Regex>,
    rules: Vec<Rule>,
    /// Pattern id → its rule and check.
    patterns: Vec<(usize, Check)>,
}

/// The rules that apply to one request, as a bitset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Selection([u64; MAX_RULES / 64]);

impl Selection {
    fn has(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }

    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }
}

/// A match: the rule and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub rule: usize,
    pub start: usize,
    pub end: usize,
}

/// What checking a text found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The first blocking rule that matched (its name).
    pub blocked: Option<String>,
    /// Each rule that matched (its index, see [`Guard::rule_name`]) and its action, once per
    /// match. Empty, and so not allocated, when nothing matched.
    pub hits: Vec<(usize, Action)>,
}

impl Outcome {
    /// Adds `other`'s findings: its block only when none is set yet.
    pub fn merge(&mut self, other: Outcome) {
        if self.blocked.is_none() {
            self.blocked = other.blocked;
        }
        self.hits.extend(other.hits);
    }
}

/// Largest compiled automaton for user patterns.
const SIZE_LIMIT: usize = 8 << 20;

impl Guard {
    /// Compiles `specs`; every rule that cannot be compiled is reported.
    pub fn compile(specs: &[RuleSpec]) -> Result<Guard, Vec<CompileError>> {
        let mut errors = Vec::new();
        if specs.len() > MAX_RULES {
            errors.push(CompileError {
                rule: MAX_RULES,
                message: format!("at most {MAX_RULES} rules"),
            });
        }
        let mut sources: Vec<String> = Vec::new();
        let mut patterns = Vec::new();
        let mut rules = Vec::new();
        for (i, s) in specs.iter().enumerate().take(MAX_RULES) {
            match (&s.pattern, s.detector) {
                (Some(p), None) => match check_one(p) {
                    Ok(()) => {
                        sources.push(p.clone());
                        patterns.push((i, Check::None));
                    }
                    Err(m) => errors.push(CompileError {
                        rule: i,
                        message: m,
                    }),
                },
                (None, Some(d)) => {
                    for (p, c) in d.patterns() {
                        sources.push((*p).to_owned());
                        patterns.push((i, *c));
                    }
                }
                _ => errors.push(CompileError {
                    rule: i,
                    message: "a rule has exactly one of `pattern` and `detector`".into(),
                }),
            }
            rules.push(Rule {
                name: s.name.clone(),
                on: s.on,
                action: s.action,
                replacement: s
                    .replacement
                    .clone()
                    .unwrap_or_else(|| format!("[REDACTED:{}]", s.name)),
                models: s.models.clone(),
                keys: s.keys.clone(),
            });
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let regex = if sources.is_empty() {
            None
        } else {
            Some(build(&sources).map_err(|m| {
                vec![CompileError {
                    rule: 0,
                    message: format!("the rules together are too large: {m}"),
                }]
            })?)
        };
        Ok(Guard {
            regex,
            rules,
            patterns,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub(crate) fn blocks(&self, rule: usize) -> bool {
        self.rules[rule].action == Action::Block
    }

    pub fn rule_name(&self, i: usize) -> &str {
        &self.rules[i].name
    }

    /// How many rules there are (rule indices are `0..len()`).
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// The rules that apply in `phase` to a call of `model` (as the caller named it) by `key`
    /// (`None` without authentication).
    pub fn select(&self, phase: Phase, model: &str, key: Option<&str>) -> Selection {
        self.select_for(phase, model, key.as_slice())
    }

    /// [`Guard::select`] for a caller known by several ids (a token's `jti` and its name): a
    /// rule scoped to keys applies when any of them is listed.
    pub fn select_for(&self, phase: Phase, model: &str, ids: &[&str]) -> Selection {
        let mut s = Selection::default();
        for (i, r) in self.rules.iter().enumerate() {
            let model_ok = r.models.is_empty() || r.models.iter().any(|p| glob(p, model));
            let key_ok = r.keys.is_empty() || ids.iter().any(|k| r.keys.iter().any(|x| x == k));
            if r.on.covers(phase) && model_ok && key_ok {
                s.set(i);
            }
        }
        s
    }

    /// Every match of a selected rule in `text`, leftmost first, not overlapping.
    pub fn scan(&self, sel: &Selection, text: &str, out: &mut Vec<Finding>) {
        out.clear();
        let Some(re) = &self.regex else {
            return;
        };
        if sel.is_empty() {
            return;
        }
        let mut at = 0;
        while at <= text.len() {
            let Some(m) = re.search(&Input::new(text).span(at..text.len())) else {
                break;
            };
            let (rule, check) = self.patterns[m.pattern().as_usize()];
            let found = &text[m.start()..m.end()];
            if m.is_empty() {
                at = next_char(text, m.end());
                continue;
            }
            if sel.has(rule) && check.holds(found) {
                out.push(Finding {
                    rule,
                    start: m.start(),
                    end: m.end(),
                });
                at = m.end();
                continue;
            }
            // A rule not selected here (or a candidate its check refused) matched first: a
            // selected rule's pattern may still match at the same place.
            match self.anchored(re, sel, text, m.start()) {
                Some(f) => {
                    at = f.end.max(next_char(text, f.start));
                    out.push(f);
                }
                None => at = next_char(text, m.start()),
            }
        }
    }

    /// The first selected pattern matching at exactly `start` whose check holds.
    fn anchored(&self, re: &Regex, sel: &Selection, text: &str, start: usize) -> Option<Finding> {
        self.patterns
            .iter()
            .enumerate()
            .filter(|(_, (rule, _))| sel.has(*rule))
            .find_map(|(pid, &(rule, check))| {
                let input = Input::new(text)
                    .span(start..text.len())
                    .anchored(Anchored::Pattern(PatternID::new(pid).ok()?));
                let m = re.search(&input)?;
                (!m.is_empty() && check.holds(&text[m.start()..m.end()])).then_some(Finding {
                    rule,
                    start: m.start(),
                    end: m.end(),
                })
            })
    }

    /// Checks `text` in place: a blocking match stops (the text untouched); redactions replace
    /// their matches; every hit is reported. `json_safe`: `text` is inside a JSON string (tool
    /// arguments), so a match that would cut a quote or an escape is not redacted.
    pub fn apply(&self, sel: &Selection, text: &mut String, json_safe: bool) -> Outcome {
        let mut found = Vec::new();
        self.scan(sel, text, &mut found);
        self.act(&found, text, json_safe)
    }

    pub(crate) fn act(&self, found: &[Finding], text: &mut String, json_safe: bool) -> Outcome {
        let mut o = Outcome::default();
        for f in found {
            let r = &self.rules[f.rule];
            o.hits.push((f.rule, r.action));
            if r.action == Action::Block && o.blocked.is_none() {
                o.blocked = Some(r.name.clone());
            }
        }
        if o.blocked.is_some() {
            return o;
        }
        for f in found.iter().rev() {
            let r = &self.rules[f.rule];
            if r.action != Action::Redact {
                continue;
            }
            if json_safe && text[f.start..f.end].contains(['"', '\\']) {
                continue;
            }
            if json_safe {
                text.replace_range(f.start..f.end, &json_escaped(&r.replacement));
            } else {
                text.replace_range(f.start..f.end, &r.replacement);
            }
        }
        o
    }
}

/// `s` as the inside of a JSON string: a replacement written into JSON text (tool arguments)
/// keeps it valid whatever the operator wrote.
fn json_escaped(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c == '"' || c == '\\' || c < ' ') {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.into()
}

fn next_char(text: &str, i: usize) -> usize {
    let mut j = i + 1;
    while j < text.len() && !text.is_char_boundary(j) {
        j += 1;
    }
    j
}

fn config() -> (Config, syntax::Config) {
    let c = Config::new()
        .match_kind(regex_automata::MatchKind::LeftmostFirst)
        .nfa_size_limit(Some(SIZE_LIMIT))
        .hybrid_cache_capacity(2 << 20);
    let s = syntax::Config::new().nest_limit(64);
    (c, s)
}

fn check_one(p: &str) -> Result<(), String> {
    if p.is_empty() {
        return Err("the pattern is empty".into());
    }
    let (c, s) = config();
    Regex::builder()
        .configure(c)
        .syntax(s)
        .build(p)
        .map(|_| ())
        .map_err(|e| describe(&e))
}

/// A build error in one line. The engine's own text names only the pattern's index ("error
/// parsing pattern 0"); the reason is in its source, whose last line says what is wrong.
fn describe(e: &regex_automata::meta::BuildError) -> String {
    match std::error::Error::source(e) {
        Some(src) => {
            let text = src.to_string();
            let last = text.lines().last().unwrap_or_default().trim();
            let why = last.strip_prefix("error: ").unwrap_or(last);
            if e.syntax_error().is_some() {
                format!("not a valid regular expression: {why}")
            } else {
                format!("the pattern cannot be compiled: {why}")
            }
        }
        None => e.to_string(),
    }
}

fn build(sources: &[String]) -> Result<Regex, String> {
    let (c, s) = config();
    Regex::builder()
        .configure(c)
        .syntax(s)
        .build_many(sources)
        .map_err(|e| e.to_string())
}

/// `*` and `?` wildcards, as the auth crate's model patterns.
fn glob(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some((b'*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some((&c, rest)) => n
                .split_first()
                .is_some_and(|(&d, nr)| (c == b'?' || c == d) && go(rest, nr)),
        }
    }
    go(pattern.as_bytes(), name.as_bytes())
}

#[cfg(test)]
mod tests;
