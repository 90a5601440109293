//! `bitrouter config validate` and `bitrouter config schema`.

use std::process::ExitCode;

use anyhow::Result;
use compiler::EnvMode;
use compiler::diagnostic::render;
use runtime::LoadOptions;

use crate::args::{Global, ValidateArgs};
use crate::output;

pub(crate) fn validate(g: &Global, a: &ValidateArgs) -> Result<ExitCode> {
    let mode = if a.strict {
        EnvMode::Strict
    } else {
        EnvMode::Lenient
    };
    let options = LoadOptions {
        require_file: true,
        ..LoadOptions::new(mode)
    };
    let loaded = runtime::config::load(&super::paths(g), options).map_err(|e| {
        let hint = matches!(e, runtime::LoadError::Config { .. })
            .then_some("create one with `bitrouter init`, or name a file with `-c PATH`");
        match hint {
            Some(h) => output::Hinted::wrap(e, h),
            None => e.into(),
        }
    })?;
    let source = &loaded.source;
    let (diagnostics, summary) = match &loaded.compiled {
        Ok(c) => {
            let t = &c.table;
            let summary = format!(
                "{}: valid ({} providers, {} routable models, hash {})",
                source.name(),
                t.providers().len(),
                t.routable_model_count(),
                &t.content_hash()[..12]
            );
            (&c.warnings, Some(summary))
        }
        Err(d) => (d, None),
    };
    if a.json {
        let report = render::render_json(source, diagnostics);
        output::data(&serde_json::to_string_pretty(&report)?);
    } else {
        output::diagnostics(source, diagnostics);
        if let Some(s) = &summary {
            output::data(s);
        }
    }
    Ok(if summary.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub(crate) fn schema() -> Result<ExitCode> {
    output::data(&compiler::schema::json_schema());
    Ok(ExitCode::SUCCESS)
}
