//! The TUI's data: two background threads talking to the router's control socket (the same
//! socket whether the router runs in this process or is a daemon) and its ledger, reporting
//! [`Update`]s on one channel. Nothing here draws; the terminal thread never blocks on I/O.
//!
//! - events: `subscribe`, one [`Update::Event`] per finished request; reconnects every second
//!   while the daemon is away.
//! - worker: `status` every second, and the requests keys ask for (reload, route, spend).

use std::path::PathBuf;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

use runtime::control::client::{self, ClientError};
use runtime::control::proto::{Answer, Forwarded, Request};
use runtime::ledger::{self, By, SpendFilter, Store};

use super::state::{Action, ReloadView, SpendPeriod, SpendView, Update};
use crate::args::Global;
use crate::output;

/// How often `status` is asked.
const POLL: Duration = Duration::from_secs(1);
/// How often the spend screen's figures are re-read while nothing asks.
const SPEND_EVERY: Duration = Duration::from_secs(15);

/// Starts both threads; `commands` carries the actions keys produce.
pub(crate) fn start(
    socket: PathBuf,
    global: Global,
    updates: Sender<Update>,
    commands: Receiver<Action>,
) {
    let events_socket = socket.clone();
    let events_tx = updates.clone();
    let _ = std::thread::Builder::new()
        .name("tui-events".into())
        .spawn(move || events(&events_socket, &events_tx));
    let _ = std::thread::Builder::new()
        .name("tui-worker".into())
        .spawn(move || worker(&socket, &global, &updates, &commands));
}

fn describe(e: &ClientError) -> String {
    output::chain(e)
}

fn events(socket: &std::path::Path, tx: &Sender<Update>) {
    loop {
        match client::subscribe(socket) {
            Ok(mut stream) => {
                if tx.send(Update::Connected).is_err() {
                    return;
                }
                loop {
                    let u = match stream.next_line() {
                        Ok(Some(line)) => match (line.event, line.lagged) {
                            (Some(e), _) => Update::Event(Box::new(e)),
                            (None, Some(n)) => Update::Lagged(n),
                            (None, None) => continue,
                        },
                        Ok(None) => {
                            Update::Disconnected("the router closed the event stream".into())
                        }
                        Err(e) => Update::Disconnected(describe(&e)),
                    };
                    let end = matches!(u, Update::Disconnected(_));
                    if tx.send(u).is_err() {
                        return;
                    }
                    if end {
                        break;
                    }
                }
            }
            Err(e) => {
                if tx.send(Update::Disconnected(describe(&e))).is_err() {
                    return;
                }
            }
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn worker(
    socket: &std::path::Path,
    global: &Global,
    tx: &Sender<Update>,
    commands: &Receiver<Action>,
) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = tx.send(Update::Spend(Err(format!("no async runtime: {e}"))));
            return;
        }
    };
    let mut store: Option<Store> = None;
    let mut config: Option<PathBuf> = None;
    let mut last_spend: Option<std::time::Instant> = None;
    loop {
        let command = match commands.recv_timeout(POLL) {
            Ok(c) => Some(c),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let update = match command {
            Some(Action::Quit) => return,
            Some(Action::Reload) => Some(reload(socket, config.as_deref())),
            Some(Action::Route(model)) => Some(Update::Route(
                client::route(socket, &model, None)
                    .map_err(|e| runtime::control::proto::Failure::new(describe(&e), None))
                    .and_then(|r| r.map(|a| a.output)),
            )),
            Some(Action::Spend) => {
                last_spend = Some(std::time::Instant::now());
                Some(spend(&rt, global, &mut store))
            }
            None => None,
        };
        if let Some(u) = update {
            if tx.send(u).is_err() {
                return;
            }
        }
        // Status every tick (after a command too, so a reload shows its new hash at once).
        let status = match client::call(socket, &Request::Status {}, Duration::from_secs(5)) {
            Ok(Ok(Answer::Status(s))) => {
                config = Some(s.paths.config.clone());
                Ok(s)
            }
            Ok(Ok(_)) => Err("the daemon's reply does not answer `status`".to_owned()),
            Ok(Err(f)) => Err(f.error),
            Err(e) => Err(describe(&e)),
        };
        if tx.send(Update::Status(status)).is_err() {
            return;
        }
        if last_spend.is_some_and(|t| t.elapsed() >= SPEND_EVERY) {
            last_spend = Some(std::time::Instant::now());
            if tx.send(spend(&rt, global, &mut store)).is_err() {
                return;
            }
        }
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `reload`, forwarding this process's keys as `bitrouter reload` does.
fn reload(socket: &std::path::Path, config: Option<&std::path::Path>) -> Update {
    let env = config
        .map(runtime::config::forwarded_env)
        .unwrap_or_default();
    let view = match client::reload(socket, Forwarded(env)) {
        Ok(Ok(r)) => ReloadView {
            at: unix_now(),
            via: "this TUI".into(),
            ok: true,
            message: match &r.warnings {
                Some(w) => format!("{}\n{w}", r.message),
                None => r.message,
            },
            hint: None,
            diagnostics: None,
        },
        Ok(Err(f)) => ReloadView {
            at: unix_now(),
            via: "this TUI".into(),
            ok: false,
            message: f.error,
            hint: f.hint,
            diagnostics: f.diagnostics,
        },
        Err(e) => ReloadView {
            at: unix_now(),
            via: "this TUI".into(),
            ok: false,
            message: describe(&e),
            hint: None,
            diagnostics: None,
        },
    };
    Update::Reload(view)
}

/// Today's and this month's spend by model and by key (UTC), from the ledger's database.
fn spend(rt: &tokio::runtime::Runtime, global: &Global, store: &mut Option<Store>) -> Update {
    let result = rt.block_on(async {
        if store.is_none() {
            *store = Some(
                crate::commands::ledger_store(global)
                    .await
                    .map_err(|e| format!("{e:#}"))?,
            );
        }
        let Some(s) = store.as_ref() else {
            return Err("no ledger".to_owned());
        };
        let now = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis()),
        )
        .unwrap_or(i64::MAX);
        let (today, month) = starts(now);
        let mut view = SpendView::default();
        for (since, slot) in [(today, &mut view.today), (month, &mut view.month)] {
            *slot = period(s, since, now + 1).await.map_err(|e| e.to_string())?;
        }
        Ok(Box::new(view))
    });
    if result.is_err() {
        // Reconnect next time (the database may come back).
        *store = None;
    }
    Update::Spend(result)
}

async fn period(
    store: &Store,
    since_ms: i64,
    until_ms: i64,
) -> Result<SpendPeriod, runtime::ledger::LedgerError> {
    let q = |by| SpendFilter {
        since_ms,
        until_ms,
        by,
        key: None,
    };
    let by_model = ledger::spend(store, &q(By::Model)).await?;
    let by_key = ledger::spend(store, &q(By::Key)).await?;
    Ok(SpendPeriod {
        total: by_model.total.clone(),
        by_model: by_model.lines,
        by_key: by_key.lines,
    })
}

/// The starts of today and of this month (UTC), Unix milliseconds.
pub(crate) fn starts(now_ms: i64) -> (i64, i64) {
    const DAY: i64 = 86_400_000;
    let day = now_ms.div_euclid(DAY);
    let (y, m, _) = auth::civil_from_days(day);
    (day * DAY, auth::days_from_civil(y, m, 1) * DAY)
}
