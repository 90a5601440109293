//! `bitrouter config validate` and `bitrouter config schema`.

use std::process::ExitCode;

use anyhow::{Result, anyhow};
use compiler::diagnostic::render;
use compiler::{EnvMode, SourceFile};

use crate::args::{Global, ValidateArgs};
use crate::{home, output};

pub(crate) fn validate(g: &Global, a: &ValidateArgs) -> Result<ExitCode> {
    let paths = home::resolve(g);
    let Some(text) = home::read_config(&paths, true).map_err(|e| {
        output::Hinted::wrap(
            e,
            "create one with `bitrouter init`, or name a file with `-c PATH`",
        )
    })?
    else {
        return Err(anyhow!("no configuration file"));
    };
    let env = home::environment(&paths)?;
    let source = SourceFile::new(paths.config.display().to_string(), text);
    let mode = if a.strict {
        EnvMode::Strict
    } else {
        EnvMode::Lenient
    };
    let (diagnostics, valid, summary) = match compiler::compile(&source, &env, mode) {
        Ok(c) => {
            let t = &c.table;
            let summary = format!(
                "{}: valid ({} providers, {} routable models, hash {})",
                source.name(),
                t.providers().len(),
                t.routable_model_count(),
                &t.content_hash()[..12]
            );
            (c.warnings, true, Some(summary))
        }
        Err(d) => (d, false, None),
    };
    if a.json {
        let report = render::render_json(&source, &diagnostics);
        output::data(&serde_json::to_string_pretty(&report)?);
    } else {
        if !diagnostics.is_empty() {
            output::message(&render::render_human(
                &source,
                &diagnostics,
                output::color(),
            ));
        }
        if let Some(s) = summary {
            output::data(&s);
        }
    }
    Ok(if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub(crate) fn schema() -> Result<ExitCode> {
    output::data(&compiler::schema::json_schema());
    Ok(ExitCode::SUCCESS)
}
