//! The terminal UI: `bitrouter` with no command (first run: the `init` wizard, then the router
//! and the TUI in one process) and `bitrouter tui` (attach to a running daemon). The TUI is
//! always a client of the router's control socket — its own when it runs the router — so the
//! same code watches an in-process router and a daemon.
//!
//! - `state` — the model: screens, keys → actions, derived figures (testable, no terminal);
//! - `view` — rendering with ratatui;
//! - `feed` — the threads that read the socket and the ledger.
//!
//! This module owns the terminal (raw mode and the alternate screen, restored on every way
//! out) and the event loop.

mod feed;
pub(crate) mod state;
mod view;

#[cfg(test)]
mod tests;

use std::io::IsTerminal;
use std::path::Path;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};

use state::{Action, App, Key, Mode, Update};

use crate::args::Global;

/// How long a key waits at most before the screen is redrawn with new data.
const TICK: Duration = Duration::from_millis(100);

/// Whether both ends of the terminal are one (the TUI needs keys in and a screen out).
pub(crate) fn on_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// Colour unless `NO_COLOR` is set (to anything but empty).
fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn translate(k: event::KeyEvent) -> Option<Key> {
    if k.modifiers.contains(KeyModifiers::CONTROL) {
        return match k.code {
            KeyCode::Char('c' | 'd') => Some(Key::CtrlC),
            _ => None,
        };
    }
    Some(match k.code {
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        _ => return None,
    })
}

/// Runs the TUI against the router answering on `socket` until the user quits or `gone()`
/// says the router stopped. The terminal is restored whatever happens.
pub(crate) fn watch(
    socket: &Path,
    global: &Global,
    mode: Mode,
    hint: Option<String>,
    gone: &dyn Fn() -> bool,
) -> Result<()> {
    let (tx, rx) = mpsc::channel::<Update>();
    let (cmd_tx, cmd_rx) = mpsc::channel::<Action>();
    feed::start(socket.to_path_buf(), global.clone(), tx, cmd_rx);
    let mut app = App::new(mode, color());
    app.hint = hint;
    let mut terminal = ratatui::try_init().context("cannot set up the terminal")?;
    let result = (|| -> Result<()> {
        let mut last_draw: Option<Instant> = None;
        let mut dirty = true;
        loop {
            // Data changes redraw at most every tick; keys and resizes at once.
            if dirty && last_draw.is_none_or(|t| t.elapsed() >= TICK / 2) {
                let now = now_ms();
                terminal.draw(|f| view::draw(f, &app, now))?;
                last_draw = Some(Instant::now());
                dirty = false;
            }
            if event::poll(TICK)? {
                match event::read()? {
                    Event::Key(k) if k.kind != KeyEventKind::Release => {
                        if let Some(action) = translate(k).and_then(|k| app.key(k)) {
                            let _ = cmd_tx.send(action);
                        }
                        dirty = true;
                    }
                    Event::Resize(..) => {
                        terminal.autoresize()?;
                        dirty = true;
                    }
                    _ => {}
                }
            }
            while let Ok(u) = rx.try_recv() {
                app.update(u);
                dirty = true;
            }
            if app.quit || gone() {
                return Ok(());
            }
            // The providers screen's window moves with the clock.
            if last_draw.is_none_or(|t| t.elapsed() >= Duration::from_secs(1)) {
                dirty = true;
            }
        }
    })();
    ratatui::restore();
    result
}
