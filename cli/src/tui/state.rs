//! The TUI's model, with no terminal in sight: what each screen shows, how keys change it and
//! which requests they send ([`Action`]), and the figures derived from the event stream (the
//! providers' last-minute error rate and latency percentiles). Rendering is `view.rs`.

use std::collections::VecDeque;

use runtime::control::proto::{Failure, RequestEvent, Status};
use runtime::ledger::SpendLine;

/// Events kept for the live screen (newest first).
pub(crate) const KEEP: usize = 2000;
/// The providers screen's window.
pub(crate) const WINDOW_MS: u64 = 60_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Screen {
    Live,
    Providers,
    Routes,
    Spend,
    Config,
}

impl Screen {
    pub(crate) const ALL: [Screen; 5] = [
        Screen::Live,
        Screen::Providers,
        Screen::Routes,
        Screen::Spend,
        Screen::Config,
    ];

    pub(crate) fn title(self) -> &'static str {
        match self {
            Screen::Live => "Live",
            Screen::Providers => "Providers",
            Screen::Routes => "Routes",
            Screen::Spend => "Spend",
            Screen::Config => "Config",
        }
    }

    fn index(self) -> usize {
        Screen::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

/// Whether this process runs the router or watches another's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// The router runs in this process: quitting drains it.
    Owned,
    /// Attached to a daemon through its control socket: quitting leaves it running.
    Attached,
}

/// A key, as the model sees it (decoupled from crossterm for tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Key {
    Char(char),
    Enter,
    Esc,
    Backspace,
    Tab,
    BackTab,
    CtrlC,
}

/// What a key asks the outside world for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Quit,
    Reload,
    Route(String),
    Spend,
}

/// Which line a key types into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Editing {
    Filter,
    Route,
}

/// What the feed threads report.
#[derive(Debug)]
pub(crate) enum Update {
    Event(Box<RequestEvent>),
    Lagged(u64),
    /// The event stream ended or could not start (the feed retries).
    Disconnected(String),
    Connected,
    Status(Result<Box<Status>, String>),
    Route(Result<String, Failure>),
    Reload(ReloadView),
    Spend(Result<Box<SpendView>, String>),
}

/// A reload's result as the config screen shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ReloadView {
    /// Unix seconds.
    pub(crate) at: u64,
    pub(crate) via: String,
    pub(crate) ok: bool,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
    pub(crate) diagnostics: Option<String>,
}

/// Today's and this month's spend, each by model and by key.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SpendView {
    pub(crate) today: SpendPeriod,
    pub(crate) month: SpendPeriod,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SpendPeriod {
    pub(crate) by_model: Vec<SpendLine>,
    pub(crate) by_key: Vec<SpendLine>,
    pub(crate) total: SpendLine,
}

/// One provider's line on the providers screen.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ProviderRow {
    pub(crate) name: String,
    pub(crate) credential: &'static str,
    /// `closed`, `open`, `half-open`, or `open 1/3` when some of its endpoints are open.
    pub(crate) breaker: String,
    /// Requests it answered in the last minute.
    pub(crate) requests: usize,
    pub(crate) error_rate: Option<f64>,
    pub(crate) p50_ms: Option<f64>,
    pub(crate) p99_ms: Option<f64>,
}

/// The whole model.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) mode: Mode,
    pub(crate) screen: Screen,
    pub(crate) help: bool,
    /// Newest first.
    pub(crate) events: VecDeque<RequestEvent>,
    pub(crate) paused: bool,
    /// Events that arrived while paused (shown on resume).
    pub(crate) held: Vec<RequestEvent>,
    pub(crate) filter: String,
    pub(crate) editing: Option<Editing>,
    pub(crate) route_input: String,
    pub(crate) route: Option<Result<String, Failure>>,
    pub(crate) status: Option<Box<Status>>,
    /// Why the daemon cannot be reached now (`None`: connected).
    pub(crate) offline: Option<String>,
    pub(crate) lagged: u64,
    pub(crate) spend: Option<Result<Box<SpendView>, String>>,
    /// The latest reload this TUI asked for, or that `status` reports (the newer).
    pub(crate) reload: Option<ReloadView>,
    pub(crate) reloading: bool,
    /// Shown on the live screen while there are no providers (e.g. the wizard was cancelled).
    pub(crate) hint: Option<String>,
    pub(crate) quit: bool,
    pub(crate) color: bool,
}

impl App {
    pub(crate) fn new(mode: Mode, color: bool) -> App {
        App {
            mode,
            screen: Screen::Live,
            help: false,
            events: VecDeque::new(),
            paused: false,
            held: Vec::new(),
            filter: String::new(),
            editing: None,
            route_input: String::new(),
            route: None,
            status: None,
            offline: None,
            lagged: 0,
            spend: None,
            reload: None,
            reloading: false,
            hint: None,
            quit: false,
            color,
        }
    }

    /// Applies a key; returns what it asks for.
    pub(crate) fn key(&mut self, k: Key) -> Option<Action> {
        if k == Key::CtrlC {
            self.quit = true;
            return Some(Action::Quit);
        }
        if let Some(field) = self.editing {
            return self.edit(field, k);
        }
        if self.help {
            // Any key closes the help; `q` still quits.
            self.help = false;
            if k != Key::Char('q') {
                return None;
            }
        }
        match k {
            Key::Char('q') => {
                self.quit = true;
                Some(Action::Quit)
            }
            Key::Char('?') => {
                self.help = true;
                None
            }
            Key::Char(c @ '1'..='5') => {
                let i = usize::from(c as u8 - b'1');
                self.go(Screen::ALL[i])
            }
            Key::Tab => self.go(Screen::ALL[(self.screen.index() + 1) % Screen::ALL.len()]),
            Key::BackTab => {
                let n = Screen::ALL.len();
                self.go(Screen::ALL[(self.screen.index() + n - 1) % n])
            }
            Key::Char('r') => {
                self.reloading = true;
                Some(Action::Reload)
            }
            Key::Char('p' | ' ') if self.screen == Screen::Live => {
                self.toggle_pause();
                None
            }
            Key::Char('/' | 'f') if self.screen == Screen::Live => {
                self.editing = Some(Editing::Filter);
                None
            }
            Key::Char('c') if self.screen == Screen::Live => {
                self.filter.clear();
                None
            }
            Key::Char('/') | Key::Enter if self.screen == Screen::Routes => {
                self.editing = Some(Editing::Route);
                None
            }
            Key::Char('u') if self.screen == Screen::Spend => Some(Action::Spend),
            _ => None,
        }
    }

    fn go(&mut self, s: Screen) -> Option<Action> {
        self.screen = s;
        match s {
            Screen::Routes if self.route.is_none() => {
                self.editing = Some(Editing::Route);
                None
            }
            Screen::Spend => Some(Action::Spend),
            _ => None,
        }
    }

    fn edit(&mut self, field: Editing, k: Key) -> Option<Action> {
        let line = match field {
            Editing::Filter => &mut self.filter,
            Editing::Route => &mut self.route_input,
        };
        match k {
            Key::Char(c) if !c.is_control() && line.chars().count() < 128 => line.push(c),
            Key::Backspace => {
                line.pop();
            }
            Key::Esc => self.editing = None,
            Key::Enter => {
                self.editing = None;
                if field == Editing::Route {
                    let model = self.route_input.trim().to_owned();
                    if !model.is_empty() {
                        return Some(Action::Route(model));
                    }
                }
            }
            Key::Tab | Key::BackTab => {
                self.editing = None;
                return self.key(k);
            }
            _ => {}
        }
        None
    }

    fn toggle_pause(&mut self) {
        self.paused = !self.paused;
        if !self.paused {
            for e in std::mem::take(&mut self.held) {
                self.push(e);
            }
        }
    }

    fn push(&mut self, e: RequestEvent) {
        self.events.push_front(e);
        self.events.truncate(KEEP);
    }

    pub(crate) fn update(&mut self, u: Update) {
        match u {
            Update::Event(e) if self.paused => {
                self.held.push(*e);
                if self.held.len() > KEEP {
                    self.held.remove(0);
                }
            }
            Update::Event(e) => self.push(*e),
            Update::Lagged(n) => self.lagged += n,
            Update::Disconnected(why) => self.offline = Some(why),
            Update::Connected => self.offline = None,
            Update::Status(Ok(s)) => {
                if let Some(r) = &s.last_reload {
                    let newer = self.reload.as_ref().is_none_or(|mine| r.at > mine.at);
                    if newer {
                        self.reload = Some(ReloadView {
                            at: r.at,
                            via: r.via.as_str().to_owned(),
                            ok: r.ok,
                            message: r.message.clone(),
                            hint: None,
                            diagnostics: r.diagnostics.clone(),
                        });
                    }
                }
                self.status = Some(s);
                self.offline = None;
            }
            Update::Status(Err(why)) => self.offline = Some(why),
            Update::Route(r) => self.route = Some(r),
            Update::Reload(r) => {
                self.reloading = false;
                self.reload = Some(r);
            }
            Update::Spend(s) => self.spend = Some(s),
        }
    }

    /// The live screen's rows: newest first, the filter applied (a substring of the model
    /// asked for, the provider or upstream model, or the status code).
    pub(crate) fn live_rows(&self) -> impl Iterator<Item = &RequestEvent> {
        let f = self.filter.trim().to_lowercase();
        self.events.iter().filter(move |e| matches(e, &f))
    }

    /// Providers with their breaker state and the last minute's traffic. Listed: the
    /// providers the file declares, those with a credential, and those that answered.
    pub(crate) fn provider_rows(&self, now_ms: u64) -> Vec<ProviderRow> {
        let Some(s) = &self.status else {
            return Vec::new();
        };
        let since = now_ms.saturating_sub(WINDOW_MS);
        let recent: Vec<&RequestEvent> = self
            .events
            .iter()
            .filter(|e| e.time_ms.saturating_add(e.duration_ms as u64) >= since)
            .collect();
        s.providers
            .iter()
            .filter_map(|p| {
                let mine: Vec<&RequestEvent> = recent
                    .iter()
                    .copied()
                    .filter(|e| e.provider.as_deref() == Some(p.name.as_str()))
                    .collect();
                let credential = p.credential.as_str();
                let listed = p.in_file || credential == "set" || !mine.is_empty();
                if !listed {
                    return None;
                }
                let errors = mine.iter().filter(|e| e.outcome == "failed").count();
                let mut durations: Vec<f64> = mine.iter().map(|e| e.duration_ms).collect();
                durations.sort_by(f64::total_cmp);
                Some(ProviderRow {
                    name: p.name.clone(),
                    credential,
                    breaker: breaker(s, &p.name),
                    requests: mine.len(),
                    error_rate: (!mine.is_empty()).then(|| errors as f64 / mine.len() as f64),
                    p50_ms: percentile(&durations, 0.50),
                    p99_ms: percentile(&durations, 0.99),
                })
            })
            .collect()
    }

    /// Whether the router has any provider to send requests to.
    pub(crate) fn has_providers(&self) -> bool {
        self.status
            .as_ref()
            .is_some_and(|s| s.providers.iter().any(|p| p.in_file))
    }
}

fn matches(e: &RequestEvent, f: &str) -> bool {
    if f.is_empty() {
        return true;
    }
    let has = |s: &str| s.to_lowercase().contains(f);
    has(&e.model)
        || e.provider.as_deref().is_some_and(has)
        || e.upstream_model.as_deref().is_some_and(has)
        || e.status.to_string() == f
        || e.outcome == f
}

/// A provider's breakers summed over its endpoints.
fn breaker(s: &Status, provider: &str) -> String {
    let mine: Vec<&str> = s
        .endpoints
        .iter()
        .filter(|e| e.provider == provider)
        .map(|e| e.breaker.as_str())
        .collect();
    let open = mine.iter().filter(|b| **b == "open").count();
    let half = mine.iter().filter(|b| **b == "half-open").count();
    match (mine.len(), open, half) {
        (0, ..) => "-".to_owned(),
        (n, o, 0) if o == n => "open".to_owned(),
        (_, 0, 0) => "closed".to_owned(),
        (n, 0, h) if h == n => "half-open".to_owned(),
        (n, o, h) => format!("open {}/{n}", o + h),
    }
}

/// Nearest-rank percentile of sorted values.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len()) - 1).copied()
}
