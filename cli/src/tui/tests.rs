//! The TUI's model (keys, filter, pause, provider figures) and its rendering at 80×24
//! (ratatui's `TestBackend`), without a terminal.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use runtime::control::proto::{
    CredentialState, EndpointStatus, Failure, ProviderStatus, RequestEvent, Status,
};

use super::state::{Action, App, Editing, Key, Mode, ReloadView, Screen, Update, percentile};
use super::view;

const NOW: u64 = 1_700_000_000_000;

fn event(model: &str, provider: &str, status: u16, duration_ms: f64) -> RequestEvent {
    RequestEvent {
        time_ms: NOW - 1000,
        request_id: "r".into(),
        key: Some("ci".into()),
        model: model.into(),
        provider: Some(provider.into()),
        upstream_model: Some("up-model".into()),
        inbound: "chat_completions".into(),
        outbound: Some("messages".into()),
        stream: false,
        status,
        outcome: if status < 400 { "completed" } else { "failed" }.into(),
        attempts: 1,
        duration_ms,
        first_token_ms: Some(duration_ms / 2.0),
        input_tokens: Some(12),
        output_tokens: Some(34),
        cost_usd: Some(0.0012),
    }
}

fn status() -> Box<Status> {
    let v = serde_json::json!({
        "running": true, "pid": 42, "version": "0", "listen": "127.0.0.1:4356", "models": 2,
        "config_hash": "abc123", "providers": [], "socket": "/s",
        "paths": {"home": "/h", "config": "/h/bitrouter.yaml", "env_file": "/h/.env",
                  "run_dir": "/h/run", "logs_dir": "/h/logs", "socket": "/s",
                  "pid_file": "/h/run/p", "log_file": "/h/logs/l"},
        "started_at": 0, "uptime_secs": 1, "in_flight": 0, "draining": false,
        "last_reload": null
    });
    let mut s: Status = serde_json::from_value(v).unwrap();
    s.providers = vec![
        ProviderStatus {
            name: "mock".into(),
            in_file: true,
            credential: CredentialState::Set,
        },
        ProviderStatus {
            name: "spare".into(),
            in_file: true,
            credential: CredentialState::Missing,
        },
        ProviderStatus {
            name: "unused-builtin".into(),
            in_file: false,
            credential: CredentialState::Missing,
        },
    ];
    s.endpoints = vec![
        EndpointStatus {
            provider: "mock".into(),
            upstream_model: "a".into(),
            breaker: "open".into(),
        },
        EndpointStatus {
            provider: "mock".into(),
            upstream_model: "b".into(),
            breaker: "closed".into(),
        },
    ];
    Box::new(s)
}

fn screen(app: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| view::draw(f, app, NOW)).unwrap();
    let buf = t.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buf.area.height {
        for x in 0..buf.area.width {
            out.push_str(buf[(x, y)].symbol());
        }
        out.push('\n');
    }
    out
}

#[test]
fn keys_switch_screens_quit_and_ask_for_reloads() {
    let mut app = App::new(Mode::Owned, false);
    assert_eq!(app.key(Key::Char('2')), None);
    assert_eq!(app.screen, Screen::Providers);
    assert_eq!(app.key(Key::Tab), None);
    // The routes screen starts typing a model at once; tab leaves it.
    assert_eq!(app.screen, Screen::Routes);
    assert_eq!(app.editing, Some(Editing::Route));
    for c in "smart".chars() {
        assert_eq!(app.key(Key::Char(c)), None);
    }
    assert_eq!(app.key(Key::Enter), Some(Action::Route("smart".into())));
    assert_eq!(app.editing, None);
    assert_eq!(app.key(Key::Tab), Some(Action::Spend));
    assert_eq!(app.key(Key::BackTab), None);
    assert_eq!(app.screen, Screen::Routes);
    // No chain shown yet: typing again; esc stops.
    assert_eq!(app.editing, Some(Editing::Route));
    assert_eq!(app.key(Key::Esc), None);
    assert_eq!(app.key(Key::Char('5')), None);
    assert_eq!(app.screen, Screen::Config);
    assert_eq!(app.key(Key::Char('r')), Some(Action::Reload));
    assert!(app.reloading);
    assert_eq!(app.key(Key::Char('?')), None);
    assert!(app.help);
    assert_eq!(app.key(Key::Char('x')), None);
    assert!(!app.help && !app.quit);
    assert_eq!(app.key(Key::Char('q')), Some(Action::Quit));
    assert!(app.quit);
    let mut app = App::new(Mode::Attached, false);
    assert_eq!(app.key(Key::CtrlC), Some(Action::Quit));
}

#[test]
fn the_live_list_is_newest_first_filtered_and_pausable() {
    let mut app = App::new(Mode::Owned, false);
    app.update(Update::Event(Box::new(event("fast", "mock", 200, 10.0))));
    app.update(Update::Event(Box::new(event("smart", "other", 502, 20.0))));
    let models: Vec<&str> = app.live_rows().map(|e| e.model.as_str()).collect();
    assert_eq!(models, ["smart", "fast"]);
    app.key(Key::Char('/'));
    for c in "MOCK".chars() {
        app.key(Key::Char(c));
    }
    app.key(Key::Enter);
    let models: Vec<&str> = app.live_rows().map(|e| e.model.as_str()).collect();
    assert_eq!(models, ["fast"], "provider, case-insensitive");
    app.filter = "502".into();
    let models: Vec<&str> = app.live_rows().map(|e| e.model.as_str()).collect();
    assert_eq!(models, ["smart"], "status");
    app.key(Key::Char('c'));
    assert!(app.filter.is_empty());
    app.key(Key::Char('p'));
    app.update(Update::Event(Box::new(event("later", "mock", 200, 5.0))));
    assert_eq!(app.live_rows().count(), 2, "paused: the list holds still");
    assert!(screen(&app).contains("PAUSED, 1 new"));
    app.key(Key::Char('p'));
    assert_eq!(app.live_rows().next().unwrap().model, "later");
}

#[test]
fn provider_rows_carry_breakers_credentials_and_last_minute_figures() {
    let mut app = App::new(Mode::Owned, false);
    app.update(Update::Status(Ok(status())));
    for (i, s) in [200, 200, 200, 502].into_iter().enumerate() {
        app.update(Update::Event(Box::new(event(
            "m",
            "mock",
            s,
            100.0 * (i + 1) as f64,
        ))));
    }
    let mut old = event("m", "mock", 502, 1.0);
    old.time_ms = NOW - 120_000;
    app.update(Update::Event(Box::new(old)));
    let rows = app.provider_rows(NOW);
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        names,
        ["mock", "spare"],
        "unused built-ins without keys are left out"
    );
    let mock = &rows[0];
    assert_eq!(
        mock.requests, 4,
        "the event two minutes old is outside the window"
    );
    assert_eq!(mock.error_rate, Some(0.25));
    assert_eq!(mock.p50_ms, Some(200.0));
    assert_eq!(mock.p99_ms, Some(400.0));
    assert_eq!(mock.breaker, "open 1/2");
    assert_eq!(rows[1].credential, "missing");
    assert_eq!(rows[1].breaker, "-");
    assert_eq!(rows[1].error_rate, None);
    assert_eq!(percentile(&[], 0.5), None);
    assert_eq!(percentile(&[1.0], 0.99), Some(1.0));
}

#[test]
fn a_newer_reload_from_status_replaces_the_one_shown() {
    let mut app = App::new(Mode::Owned, false);
    app.update(Update::Reload(ReloadView {
        at: 100,
        via: "this TUI".into(),
        ok: false,
        message: "invalid".into(),
        hint: None,
        diagnostics: Some("error[E0001]: bad".into()),
    }));
    assert!(!app.reloading);
    let mut s = status();
    s.last_reload = Some(
        serde_json::from_value(serde_json::json!({
            "at": 100, "via": "socket", "ok": false, "message": "same reload",
            "config_hash": "abc"
        }))
        .unwrap(),
    );
    app.update(Update::Status(Ok(s.clone())));
    assert_eq!(app.reload.as_ref().unwrap().message, "invalid", "not newer");
    s.last_reload.as_mut().unwrap().at = 200;
    s.last_reload.as_mut().unwrap().ok = true;
    app.update(Update::Status(Ok(s)));
    assert!(app.reload.as_ref().unwrap().ok);
}

#[test]
fn every_screen_renders_at_80x24() {
    let mut app = App::new(Mode::Owned, false);
    app.update(Update::Status(Ok(status())));
    app.update(Update::Event(Box::new(event("m", "mock", 200, 1234.0))));
    let live = screen(&app);
    assert!(live.contains(" 1 Live "), "{live}");
    assert!(live.contains("m → mock/up-model"), "{live}");
    assert!(live.contains("chat>msgs"), "{live}");
    assert!(live.contains("200"), "{live}");
    assert!(live.contains("1.2s"), "{live}");
    assert!(live.contains("12/34"), "{live}");
    assert!(live.contains("q quit (drains)"), "{live}");

    app.key(Key::Char('2'));
    let p = screen(&app);
    assert!(p.contains("mock") && p.contains("open 1/2"), "{p}");
    assert!(p.contains("missing"), "{p}");

    app.key(Key::Char('3'));
    app.update(Update::Route(Err(Failure::new(
        "`nope` does not route",
        Some("did you mean `m`?"),
    ))));
    let r = screen(&app);
    assert!(r.contains("error: `nope` does not route"), "{r}");
    assert!(r.contains("hint: did you mean `m`?"), "{r}");
    assert!(r.contains("model: "), "typing: {r}");

    app.key(Key::Esc);
    app.key(Key::Char('4'));
    assert!(screen(&app).contains("Reading the ledger"));
    app.update(Update::Spend(Err("database locked".into())));
    assert!(screen(&app).contains("cannot read the ledger: database locked"));

    app.key(Key::Char('5'));
    app.update(Update::Reload(ReloadView {
        at: 3600,
        via: "this TUI".into(),
        ok: false,
        message: "the configuration is invalid".into(),
        hint: Some("fix it".into()),
        diagnostics: Some("error[E0003]: unknown key `bogus`\n --> bitrouter.yaml:3:1".into()),
    }));
    let c = screen(&app);
    assert!(
        c.contains("FAILED (the previous table keeps serving)"),
        "{c}"
    );
    assert!(c.contains("error[E0003]: unknown key `bogus`"), "{c}");
    assert!(c.contains("hash:  abc123"), "{c}");

    app.key(Key::Char('?'));
    assert!(screen(&app).contains(" keys "));
    // Small terminals do not panic.
    let mut t = Terminal::new(TestBackend::new(20, 5)).unwrap();
    t.draw(|f| view::draw(f, &app, NOW)).unwrap();
}

#[test]
fn the_empty_state_says_how_to_add_providers() {
    let mut app = App::new(Mode::Owned, false);
    app.hint = Some("Setup did not finish.".into());
    let mut s = status();
    s.providers.clear();
    app.update(Update::Status(Ok(s)));
    let text = screen(&app);
    assert!(text.contains("No providers are configured."), "{text}");
    assert!(text.contains("Setup did not finish."), "{text}");
}

#[test]
fn no_color_uses_no_colours() {
    let mut app = App::new(Mode::Owned, false);
    app.update(Update::Status(Ok(status())));
    app.update(Update::Event(Box::new(event("m", "mock", 502, 1.0))));
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| view::draw(f, &app, NOW)).unwrap();
    let buf = t.backend().buffer();
    assert!(
        buf.content()
            .iter()
            .all(|c| c.fg == ratatui::style::Color::Reset && c.bg == ratatui::style::Color::Reset)
    );
    app.color = true;
    t.draw(|f| view::draw(f, &app, NOW)).unwrap();
    assert!(
        t.backend()
            .buffer()
            .content()
            .iter()
            .any(|c| c.fg == ratatui::style::Color::Red)
    );
}

#[test]
fn today_and_month_start_at_utc_midnight() {
    // 2023-11-14T22:13:20Z.
    let (day, month) = super::feed::starts(1_700_000_000_000);
    assert_eq!(day, 1_699_920_000_000);
    assert_eq!(month, 1_698_796_800_000);
}
