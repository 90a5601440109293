//! Rendering: one function per screen, drawing the [`App`] model with ratatui widgets. Lays out
//! for 80×24 and up (columns shrink, the model column takes the slack); with `NO_COLOR`, only
//! bold and reverse video mark things.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, Wrap};

use runtime::control::proto::RequestEvent;
use runtime::ledger::SpendLine;

use super::state::{App, Editing, Mode, Screen, SpendPeriod};

/// Styles, or none under `NO_COLOR`.
struct Theme {
    color: bool,
}

impl Theme {
    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }
    fn bold(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    fn selected(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Cyan)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }
    fn status(&self, status: u16) -> Style {
        match status {
            200..=299 => self.fg(Color::Green),
            400..=499 => self.fg(Color::Yellow),
            _ => self.fg(Color::Red),
        }
    }
}

pub(crate) fn draw(f: &mut Frame<'_>, app: &App, now_ms: u64) {
    let t = Theme { color: app.color };
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(f.area());
    header(f, head, app, &t);
    match app.screen {
        Screen::Live => live(f, body, app, &t),
        Screen::Providers => providers(f, body, app, &t, now_ms),
        Screen::Routes => routes(f, body, app, &t),
        Screen::Spend => spend(f, body, app, &t),
        Screen::Config => config(f, body, app, &t),
    }
    footer(f, foot, app, &t);
    if app.help {
        help(f, body, &t);
    }
}

fn header(f: &mut Frame<'_>, area: Rect, app: &App, t: &Theme) {
    let mut tabs = vec![Span::styled("bitrouter ", t.bold())];
    for (i, s) in Screen::ALL.iter().enumerate() {
        let label = format!(" {} {} ", i + 1, s.title());
        let style = if *s == app.screen {
            t.selected()
        } else {
            Style::new()
        };
        tabs.push(Span::styled(label, style));
    }
    let state = match (&app.offline, &app.status) {
        (Some(why), _) => Span::styled(format!("offline: {why}"), t.fg(Color::Red)),
        (None, Some(s)) => {
            let who = match app.mode {
                Mode::Owned => "",
                Mode::Attached => "attached, ",
            };
            let drain = if s.draining { ", draining" } else { "" };
            Span::raw(format!(
                "http://{}  {who}{} models, {} requests, {} errors, {} in flight{drain}",
                s.listen, s.models, s.requests_served, s.request_errors, s.in_flight
            ))
        }
        (None, None) => Span::raw("connecting…"),
    };
    let p = Paragraph::new(vec![Line::from(tabs), Line::from(state)]);
    f.render_widget(p, area);
}

fn footer(f: &mut Frame<'_>, area: Rect, app: &App, t: &Theme) {
    let line = match app.editing {
        Some(Editing::Filter) => Line::from(vec![
            Span::styled("filter: ", t.bold()),
            Span::raw(format!("{}▏", app.filter)),
            Span::raw("  (enter keeps it, esc stops typing)"),
        ]),
        Some(Editing::Route) => Line::from(vec![
            Span::styled("model: ", t.bold()),
            Span::raw(format!("{}▏", app.route_input)),
            Span::raw("  (enter shows its chain)"),
        ]),
        None => {
            let quit = match app.mode {
                Mode::Owned => "q quit (drains)",
                Mode::Attached => "q detach",
            };
            let extra = match app.screen {
                Screen::Live => "  p pause  / filter  c clear",
                Screen::Routes => "  / type a model",
                Screen::Spend => "  u refresh",
                _ => "",
            };
            Line::from(format!("{quit}  ? keys  1-5 tab screens  r reload{extra}"))
        }
    };
    f.render_widget(Paragraph::new(line), area);
}

fn help(f: &mut Frame<'_>, area: Rect, t: &Theme) {
    let lines = [
        "1-5, tab    switch screen (live, providers, routes, spend, config)",
        "q, ctrl-c   quit (a router run here drains first)",
        "r           reload the configuration (diagnostics on the config screen)",
        "p, space    pause / resume the live list",
        "/ or f      filter the live list: model, provider or status",
        "c           clear the filter",
        "/, enter    (routes) type a model name; enter shows its chain",
        "u           (spend) refresh from the ledger",
        "?           this help; any key closes it",
    ];
    let w = area.width.min(76);
    let h = (lines.len() as u16 + 2).min(area.height);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    f.render_widget(Clear, r);
    let p = Paragraph::new(lines.iter().map(|l| Line::from(*l)).collect::<Vec<_>>())
        .block(Block::bordered().title(Span::styled(" keys ", t.bold())));
    f.render_widget(p, r);
}

/// `HH:MM:SS` (UTC) of Unix milliseconds.
pub(crate) fn clock(ms: u64) -> String {
    let s = (ms / 1000) % 86_400;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

pub(crate) fn millis(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.1}s", ms / 1000.0)
    }
}

fn short_protocol(p: &str) -> &str {
    match p {
        "chat_completions" => "chat",
        "responses" => "resp",
        "messages" => "msgs",
        "generate_content" => "gem",
        other => other,
    }
}

/// `model → provider/upstream` (just the model when nothing answered).
pub(crate) fn target(e: &RequestEvent) -> String {
    match (&e.provider, &e.upstream_model) {
        (Some(p), Some(m)) => format!("{} → {p}/{m}", e.model),
        (Some(p), None) => format!("{} → {p}", e.model),
        _ => e.model.clone(),
    }
}

fn cost(usd: Option<f64>) -> String {
    usd.map_or_else(|| "-".to_owned(), |c| format!("${c:.4}"))
}

fn live(f: &mut Frame<'_>, area: Rect, app: &App, t: &Theme) {
    let mut title = String::from(" live requests ");
    if app.paused {
        title.push_str(&format!("[PAUSED, {} new] ", app.held.len()));
    }
    if !app.filter.is_empty() {
        title.push_str(&format!("[filter: {}] ", app.filter));
    }
    if app.lagged > 0 {
        title.push_str(&format!("[{} lost: too slow] ", app.lagged));
    }
    let block = Block::new()
        .borders(Borders::TOP)
        .title(Span::styled(title, t.bold()));
    if app.events.is_empty() && app.held.is_empty() {
        let mut lines = vec![Line::from("No requests yet.")];
        if let Some(s) = &app.status {
            lines.push(Line::from(format!(
                "Send one to http://{}/v1/chat/completions (or /v1/messages, /v1/responses, /v1beta).",
                s.listen
            )));
        }
        if !app.has_providers() && app.status.is_some() {
            lines.push(Line::from(""));
            lines.push(Line::styled(
                "No providers are configured.",
                t.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            ));
            let config = app
                .status
                .as_ref()
                .map(|s| s.paths.config.display().to_string())
                .unwrap_or_default();
            lines.push(Line::from(format!(
                "Run `bitrouter init --force` in another terminal (or edit {config}), then press r to reload."
            )));
        }
        if let Some(h) = &app.hint {
            lines.push(Line::from(""));
            lines.push(Line::from(h.as_str()));
        }
        f.render_widget(
            Paragraph::new(lines)
                .block(block)
                .wrap(Wrap { trim: false }),
            area,
        );
        return;
    }
    let rows = app.live_rows().take(usize::from(area.height)).map(|e| {
        let protocols = match &e.outbound {
            Some(o) => format!("{}>{}", short_protocol(&e.inbound), short_protocol(o)),
            None => short_protocol(&e.inbound).to_owned(),
        };
        let tokens = match (e.input_tokens, e.output_tokens) {
            (None, None) => "-".to_owned(),
            (i, o) => format!("{}/{}", i.unwrap_or(0), o.unwrap_or(0)),
        };
        Row::new(vec![
            Cell::from(clock(e.time_ms)),
            Cell::from(e.key.clone().unwrap_or_else(|| "-".to_owned())),
            Cell::from(target(e)),
            Cell::from(protocols),
            Cell::from(Span::styled(e.status.to_string(), t.status(e.status))),
            Cell::from(e.first_token_ms.map_or_else(|| "-".to_owned(), millis)),
            Cell::from(millis(e.duration_ms)),
            Cell::from(tokens),
            Cell::from(cost(e.cost_usd)),
        ])
    });
    let widths = [
        Constraint::Length(8),
        Constraint::Length(7),
        Constraint::Min(14),
        Constraint::Length(9),
        Constraint::Length(3),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(8),
        Constraint::Length(7),
    ];
    let header = Row::new([
        "time",
        "key",
        "model → provider/model",
        "protocol",
        "st",
        "ttft",
        "dur",
        "tokens",
        "cost",
    ])
    .style(t.bold());
    f.render_widget(Table::new(rows, widths).header(header).block(block), area);
}

fn providers(f: &mut Frame<'_>, area: Rect, app: &App, t: &Theme, now_ms: u64) {
    let block = Block::new().borders(Borders::TOP).title(Span::styled(
        " providers (traffic: last minute, this TUI's view) ",
        t.bold(),
    ));
    let rows: Vec<Row<'_>> = app
        .provider_rows(now_ms)
        .into_iter()
        .map(|p| {
            let cred = match p.credential {
                "missing" => Span::styled("missing", t.fg(Color::Red)),
                c => Span::raw(c),
            };
            let breaker = if p.breaker == "closed" || p.breaker == "-" {
                Span::raw(p.breaker)
            } else {
                Span::styled(p.breaker, t.fg(Color::Red))
            };
            let opt = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), millis);
            Row::new(vec![
                Cell::from(p.name),
                Cell::from(cred),
                Cell::from(breaker),
                Cell::from(p.requests.to_string()),
                Cell::from(
                    p.error_rate
                        .map_or_else(|| "-".to_owned(), |r| format!("{:.0}%", r * 100.0)),
                ),
                Cell::from(opt(p.p50_ms)),
                Cell::from(opt(p.p99_ms)),
            ])
        })
        .collect();
    if rows.is_empty() {
        let text = if app.status.is_some() {
            "No providers are configured: run `bitrouter init --force`, then press r."
        } else {
            "Waiting for the router…"
        };
        f.render_widget(Paragraph::new(text).block(block), area);
        return;
    }
    let widths = [
        Constraint::Min(12),
        Constraint::Length(11),
        Constraint::Length(10),
        Constraint::Length(6),
        Constraint::Length(6),
        Constraint::Length(7),
        Constraint::Length(7),
    ];
    let header = Row::new([
        "provider",
        "credential",
        "breaker",
        "reqs",
        "errors",
        "p50",
        "p99",
    ])
    .style(t.bold());
    f.render_widget(Table::new(rows, widths).header(header).block(block), area);
}

fn routes(f: &mut Frame<'_>, area: Rect, app: &App, t: &Theme) {
    let block = Block::new().borders(Borders::TOP).title(Span::styled(
        " routes: the compiled chain, as `bitrouter route` prints it ",
        t.bold(),
    ));
    let text: Text<'_> = match &app.route {
        None => {
            Text::from("Type a model name (`smart`, `openai:gpt-4o`, `@preset`) and press enter.")
        }
        Some(Ok(out)) => Text::from(out.as_str()),
        Some(Err(fail)) => {
            let mut lines = vec![Line::styled(
                format!("error: {}", fail.error),
                t.fg(Color::Red),
            )];
            if let Some(h) = &fail.hint {
                lines.push(Line::from(format!("hint: {h}")));
            }
            Text::from(lines)
        }
    };
    f.render_widget(
        Paragraph::new(text).block(block).wrap(Wrap { trim: false }),
        area,
    );
}

fn spend(f: &mut Frame<'_>, area: Rect, app: &App, t: &Theme) {
    let block = Block::new()
        .borders(Borders::TOP)
        .title(Span::styled(" spend from the ledger (UTC) ", t.bold()));
    let view = match &app.spend {
        None => {
            f.render_widget(Paragraph::new("Reading the ledger…").block(block), area);
            return;
        }
        Some(Err(e)) => {
            let p = Paragraph::new(format!("cannot read the ledger: {e}"))
                .block(block)
                .wrap(Wrap { trim: false });
            f.render_widget(p, area);
            return;
        }
        Some(Ok(v)) => v,
    };
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [today, month] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(inner);
    period(f, today, "today", &view.today, t);
    period(f, month, "this month", &view.month, t);
}

fn period(f: &mut Frame<'_>, area: Rect, name: &str, p: &SpendPeriod, t: &Theme) {
    fn usd(l: &SpendLine) -> String {
        format!("${:.4}", l.cost_micro_usd / 1e6)
    }
    let room = usize::from(area.height.saturating_sub(4) / 2).max(1);
    let mut rows = vec![
        Row::new(vec![
            Cell::from(Span::styled(format!("{name}: total"), t.bold())),
            Cell::from(p.total.requests.to_string()),
            Cell::from(usd(&p.total)),
        ]),
        Row::new(vec![Cell::from(Span::styled("by model", t.bold()))]),
    ];
    let line = |l: &SpendLine| {
        Row::new(vec![
            Cell::from(format!("  {}", l.group)),
            Cell::from(l.requests.to_string()),
            Cell::from(usd(l)),
        ])
    };
    rows.extend(p.by_model.iter().take(room).map(line));
    rows.push(Row::new(vec![Cell::from(Span::styled("by key", t.bold()))]));
    rows.extend(p.by_key.iter().take(room).map(line));
    let widths = [
        Constraint::Min(10),
        Constraint::Length(6),
        Constraint::Length(10),
    ];
    let header = Row::new(["", "reqs", "cost"]).style(t.bold());
    f.render_widget(Table::new(rows, widths).header(header), area);
}

fn config(f: &mut Frame<'_>, area: Rect, app: &App, t: &Theme) {
    let block = Block::new()
        .borders(Borders::TOP)
        .title(Span::styled(" configuration (r reloads) ", t.bold()));
    let mut lines = Vec::new();
    if let Some(s) = &app.status {
        lines.push(Line::from(format!("file:  {}", s.paths.config.display())));
        lines.push(Line::from(format!("hash:  {}", s.config_hash)));
        lines.push(Line::from(format!(
            "serving {} models on http://{}, pid {}",
            s.models, s.listen, s.pid
        )));
    }
    lines.push(Line::from(""));
    if app.reloading {
        lines.push(Line::from("reloading…"));
    }
    match &app.reload {
        None => lines.push(Line::from("no reload yet")),
        Some(r) => {
            let head = if r.ok {
                Span::styled("last reload: ok", t.fg(Color::Green))
            } else {
                Span::styled(
                    "last reload: FAILED (the previous table keeps serving)",
                    t.fg(Color::Red).add_modifier(Modifier::BOLD),
                )
            };
            lines.push(Line::from(vec![
                head,
                Span::raw(format!(" at {} UTC via {}", clock(r.at * 1000), r.via)),
            ]));
            lines.push(Line::from(r.message.clone()));
            if let Some(h) = &r.hint {
                lines.push(Line::from(format!("hint: {h}")));
            }
            if let Some(d) = &r.diagnostics {
                lines.push(Line::from(""));
                lines.extend(d.lines().map(|l| Line::from(l.to_owned())));
            }
        }
    }
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
