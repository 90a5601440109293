//! The guardrails the table hands the data plane: absent when there is nothing to check, the
//! compiled guard in config order, webhooks with their defaults, and the rule limit located.

use std::collections::HashMap;
use std::time::Duration;

use guardrails::{MAX_RULES, Phase};

use crate::{Code, EnvMode, SourceFile, compile};

fn table(yaml: &str) -> Result<crate::RoutingTable, Vec<crate::Diagnostic>> {
    let source = SourceFile::new("t.yaml", yaml.to_owned());
    compile(&source, &HashMap::<String, String>::new(), EnvMode::Strict).map(|c| c.table)
}

#[test]
fn no_rules_means_no_guardrails() {
    for yaml in [
        "inherit_defaults: false\n",
        "inherit_defaults: false\nplugins:\n  bitrouter-guardrails: {}\n",
        "inherit_defaults: false\nplugins:\n  bitrouter-guardrails:\n    rules: []\n",
        "inherit_defaults: false\nplugins:\n  bitrouter-guardrails:\n    enabled: false\n    rules:\n      - { name: a, detector: email }\n",
    ] {
        assert!(table(yaml).unwrap().guardrails().is_none(), "{yaml}");
    }
}

#[test]
fn rules_reach_the_table_in_config_order() {
    let t = table(
        r#"inherit_defaults: false
plugins:
  bitrouter-guardrails:
    rules:
      - { name: mail, detector: email, action: redact }
      - name: hook
        webhook: { url: "https://guard.example.com/check" }
        keys: [ci]
      - { name: ids, pattern: "ACME-[0-9]{6}", on: response }
"#,
    )
    .unwrap();
    let g = t.guardrails().unwrap();
    assert_eq!(g.guard.rule_name(0), "mail");
    assert_eq!(g.guard.rule_name(1), "ids");
    let mut text = "write to a@example.com about ACME-123456".to_owned();
    let sel = g.guard.select(Phase::Request, "any", None);
    let out = g.guard.apply(&sel, &mut text, false);
    assert_eq!(text, "write to [REDACTED:mail] about ACME-123456");
    assert!(out.blocked.is_none());
    assert_eq!(g.webhooks.len(), 1);
    let w = &g.webhooks[0];
    assert_eq!(
        (
            w.name.as_str(),
            w.url.as_str(),
            w.timeout,
            w.fail_open,
            w.block
        ),
        (
            "hook",
            "https://guard.example.com/check",
            Duration::from_secs(2),
            false,
            true
        )
    );
    assert_eq!(w.keys, ["ci"]);
}

#[test]
fn too_many_rules_are_refused_at_the_first_one_over() {
    let mut yaml =
        "inherit_defaults: false\nplugins:\n  bitrouter-guardrails:\n    rules:\n".to_owned();
    for i in 0..=MAX_RULES {
        yaml.push_str(&format!("      - {{ name: r{i}, detector: email }}\n"));
    }
    let errs = table(&yaml).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].code, Code::InvalidRule);
    assert_eq!(
        errs[0].path,
        format!("plugins.bitrouter-guardrails.rules[{MAX_RULES}].detector")
    );
}

#[cfg(feature = "schema")]
#[test]
fn the_schema_lists_every_detector() {
    let schema: serde_json::Value = serde_json::from_str(&crate::schema::json_schema()).unwrap();
    let listed = &schema["$defs"]["GuardRule"]["properties"]["detector"]["enum"];
    let names: Vec<&str> = guardrails::Detector::ALL.iter().map(|d| d.name()).collect();
    assert_eq!(listed, &serde_json::json!(names));
}
