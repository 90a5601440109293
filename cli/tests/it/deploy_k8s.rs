//! `deploy/k8s` (plain manifests) and `deploy/helm/bitrouter` (the chart) checked for what a
//! schema cannot see: selectors that select the pods, ports that line up from the config's
//! listen address to the Service, probes on `/ready` and `/health`, a grace period that covers
//! preStop plus the drain, every `${VAR}` of the config given by the Secret. The schemas and
//! `helm lint` are checked in `tests/deploy/test_lint.py`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::deploy::{
    CONFIG_PATH, IMAGE_UID, Served, at, deploy_dir, millis, port_of, read, served, text, yaml,
};

/// The manifests of `deploy/k8s`, by kind (one object of each).
fn manifests() -> BTreeMap<String, Value> {
    let mut by_kind = BTreeMap::new();
    let mut files: Vec<_> = std::fs::read_dir(deploy_dir().join("k8s"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for doc in docs.into_iter().filter(|d| !d.is_null()) {
            let kind = doc["kind"].as_str().expect("kind").to_owned();
            assert!(
                by_kind.insert(kind.clone(), doc).is_none(),
                "two {kind} objects in deploy/k8s"
            );
        }
    }
    by_kind
}

/// The bitrouter.yaml in the ConfigMap.
pub(crate) fn configmap_config() -> String {
    let m = manifests();
    m["ConfigMap"]["data"]["bitrouter.yaml"]
        .as_str()
        .expect("the ConfigMap has data.bitrouter.yaml")
        .to_owned()
}

/// The chart's bitrouter.yaml for a release, composed as `bitrouter.config` in
/// `templates/_helpers.tpl` does: `config` with `server.listen`, `server.metrics_listen` and
/// `server.drain` from the values and the Service's names added to `server.allowed_hosts`.
/// `helm_chart_agrees_with_its_values` checks the helper still says so.
pub(crate) fn helm_config(release: &str, namespace: &str) -> String {
    let values = yaml(&read("helm/bitrouter/values.yaml"), "values.yaml");
    let mut cfg = values["config"].clone();
    let server = cfg
        .as_object_mut()
        .unwrap()
        .entry("server")
        .or_insert_with(|| json!({}));
    for owned in ["listen", "metrics_listen", "drain"] {
        assert!(
            server.get(owned).is_none(),
            "values.yaml sets config.server.{owned}"
        );
    }
    let int = |p: &str| at(&values, p).as_u64().unwrap_or_else(|| panic!("{p}"));
    server["listen"] = json!(format!("0.0.0.0:{}", int("ports.http")));
    server["metrics_listen"] = json!(format!("0.0.0.0:{}", int("ports.metrics")));
    server["drain"] = json!({
        "timeout": format!("{}s", int("drain.timeoutSeconds")),
        "accept": format!("{}s", int("drain.acceptSeconds")),
    });
    let full = if release.contains("bitrouter") {
        release.to_owned()
    } else {
        format!("{release}-bitrouter")
    };
    let domain = text(&values, "clusterDomain");
    let mut hosts: Vec<Value> = server["allowed_hosts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for h in [
        full.clone(),
        format!("{full}.{namespace}"),
        format!("{full}.{namespace}.svc"),
        format!("{full}.{namespace}.svc.{domain}"),
    ] {
        if !hosts.contains(&json!(h)) {
            hosts.push(json!(h));
        }
    }
    server["allowed_hosts"] = Value::Array(hosts);
    serde_json::to_string_pretty(&cfg).unwrap()
}

fn labels(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn selects(selector: &BTreeMap<String, String>, pod: &BTreeMap<String, String>) -> bool {
    !selector.is_empty() && selector.iter().all(|(k, v)| pod.get(k) == Some(v))
}

#[test]
fn k8s_manifests_agree() {
    let m = manifests();
    for kind in [
        "Namespace",
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
    ] {
        assert!(m.contains_key(kind), "no {kind} in deploy/k8s");
    }
    let ns = text(&m["Namespace"], "metadata.name");
    for (kind, obj) in &m {
        if kind != "Namespace" {
            assert_eq!(text(obj, "metadata.namespace"), ns, "{kind}'s namespace");
        }
    }
    let d = &m["Deployment"];
    let svc = &m["Service"];
    let s: Served = served(&configmap_config(), "the ConfigMap's bitrouter.yaml");

    // Selectors: the Deployment's, the Service's and the PDB's all select the pod template.
    let pod = labels(at(d, "spec.template.metadata.labels"));
    let sel = labels(at(d, "spec.selector.matchLabels"));
    assert!(
        selects(&sel, &pod),
        "the Deployment's selector misses its pods"
    );
    assert!(
        selects(&labels(at(svc, "spec.selector")), &pod),
        "the Service selects no pod"
    );
    let pdb = &m["PodDisruptionBudget"];
    assert_eq!(
        labels(at(pdb, "spec.selector.matchLabels")),
        sel,
        "PDB selector"
    );
    let hpa = &m["HorizontalPodAutoscaler"];
    assert_eq!(text(hpa, "spec.scaleTargetRef.kind"), "Deployment");
    assert_eq!(text(hpa, "spec.scaleTargetRef.apiVersion"), "apps/v1");
    assert_eq!(
        text(hpa, "spec.scaleTargetRef.name"),
        text(d, "metadata.name")
    );
    let min = at(hpa, "spec.minReplicas").as_u64().unwrap();
    let max_unavailable = at(pdb, "spec.maxUnavailable").as_u64().unwrap();
    assert!(
        min >= 2 && max_unavailable < min,
        "min {min}, PDB maxUnavailable {max_unavailable}"
    );

    // The container: ports from the config, probes, the drain arithmetic.
    let pod_spec = at(d, "spec.template.spec");
    let containers = pod_spec["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let ports: BTreeMap<String, u64> = c["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                text(p, "name").to_owned(),
                p["containerPort"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ports.get("http"),
        Some(&u64::from(port_of(&s.listen))),
        "{ports:?}"
    );
    assert_eq!(
        ports.get("metrics"),
        Some(&u64::from(port_of(&s.metrics_listen)))
    );
    for p in svc["spec"]["ports"].as_array().unwrap() {
        let target = text(p, "targetPort");
        assert!(
            ports.contains_key(target),
            "the Service targets unknown port {target}"
        );
    }
    assert_eq!(text(c, "readinessProbe.httpGet.path"), "/ready");
    assert_eq!(text(c, "readinessProbe.httpGet.port"), "http");
    assert_eq!(text(c, "livenessProbe.httpGet.path"), "/health");
    assert_eq!(text(c, "livenessProbe.httpGet.port"), "http");
    let pre_stop: Vec<&str> = at(c, "lifecycle.preStop.exec.command")
        .as_array()
        .expect("a preStop exec hook")
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(pre_stop[0], "sleep", "{pre_stop:?}");
    let pre_stop_ms = millis(pre_stop[1]);
    let grace_ms = pod_spec["terminationGracePeriodSeconds"].as_u64().unwrap() * 1000;
    assert!(
        grace_ms > pre_stop_ms + s.drain_timeout_ms,
        "terminationGracePeriodSeconds ({grace_ms}ms) must exceed preStop ({pre_stop_ms}ms) + \
         drain.timeout ({}ms)",
        s.drain_timeout_ms
    );
    assert_eq!(
        at(d, "spec.strategy.rollingUpdate.maxUnavailable").as_u64(),
        Some(0),
        "a rolling update starts a new pod before draining an old one"
    );

    // The config file lands where the image reads it.
    let mount = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "config")
        .expect("a config mount");
    let volume = pod_spec["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "config")
        .unwrap();
    assert_eq!(
        text(volume, "configMap.name"),
        text(&m["ConfigMap"], "metadata.name")
    );
    let item = &volume["configMap"]["items"][0];
    assert_eq!(text(item, "key"), "bitrouter.yaml");
    assert_eq!(
        format!("{}/{}", text(mount, "mountPath"), text(item, "path")),
        CONFIG_PATH
    );
    assert!(
        c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["mountPath"] == "/var/lib/bitrouter"),
        "the home needs a writable volume (the root file system is read-only)"
    );
    assert_eq!(
        at(c, "securityContext.readOnlyRootFilesystem"),
        &json!(true)
    );
    assert_eq!(
        at(pod_spec, "securityContext.runAsUser").as_u64(),
        Some(u64::from(IMAGE_UID))
    );

    // Every ${VAR} of the config comes from the Secret, which has every key asked for.
    let secret = &m["Secret"];
    let secret_keys: BTreeSet<&str> = secret["stringData"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut given = BTreeSet::new();
    for e in c["env"].as_array().unwrap() {
        let name = text(e, "name");
        given.insert(name.to_owned());
        if let Some(r) = e["valueFrom"]["secretKeyRef"].as_object() {
            assert_eq!(r["name"], secret["metadata"]["name"], "{name}");
            let key = r["key"].as_str().unwrap();
            assert!(secret_keys.contains(key), "the Secret has no {key}");
        }
    }
    for var in &s.vars {
        assert!(
            given.contains(var),
            "${{{var}}} is not in the container's environment"
        );
    }

    // Callers address the router by the Service's names; the config allows them.
    let name = text(svc, "metadata.name");
    for host in [name.to_owned(), format!("{name}.{ns}.svc")] {
        assert!(
            s.allowed_hosts.contains(&host),
            "{host} is not in server.allowed_hosts"
        );
    }

    // The image tag is this version.
    let image = text(c, "image");
    assert!(
        image.ends_with(&format!(":{}", env!("CARGO_PKG_VERSION"))),
        "{image}"
    );
}

#[test]
fn helm_chart_agrees_with_its_values() {
    let chart = yaml(&read("helm/bitrouter/Chart.yaml"), "Chart.yaml");
    assert_eq!(text(&chart, "apiVersion"), "v2");
    assert_eq!(text(&chart, "name"), "bitrouter");
    assert_eq!(text(&chart, "appVersion"), env!("CARGO_PKG_VERSION"));
    let values = yaml(&read("helm/bitrouter/values.yaml"), "values.yaml");
    let int = |p: &str| {
        at(&values, p)
            .as_u64()
            .unwrap_or_else(|| panic!("values.{p}"))
    };

    // The grace period the chart computes covers preStop and the drain, with room to spare.
    let pre_stop = int("preStopSleepSeconds");
    let timeout = int("drain.timeoutSeconds");
    let margin = int("terminationGraceMarginSeconds");
    assert!(
        margin > 0 && pre_stop > 0,
        "preStop {pre_stop}s, margin {margin}s"
    );
    assert!(int("drain.acceptSeconds") <= timeout);
    let helpers = read("helm/bitrouter/templates/_helpers.tpl");
    assert!(
        helpers.contains(
            "add (int .Values.preStopSleepSeconds) (int .Values.drain.timeoutSeconds) \
             (int .Values.terminationGraceMarginSeconds)"
        ),
        "bitrouter.terminationGracePeriodSeconds no longer adds preStop, drain and margin"
    );
    // helm_config() mirrors these lines of the `bitrouter.config` helper.
    for line in [
        r#"set $server "listen" (printf "0.0.0.0:%d" (int .Values.ports.http))"#,
        r#"set $server "metrics_listen" (printf "0.0.0.0:%d" (int .Values.ports.metrics))"#,
        r#"(dict "timeout" (printf "%ds" (int .Values.drain.timeoutSeconds)) "accept" (printf "%ds" (int .Values.drain.acceptSeconds)))"#,
        r#"(printf "%s.%s.svc.%s" $svc $ns .Values.clusterDomain)"#,
    ] {
        assert!(helpers.contains(line), "_helpers.tpl no longer has: {line}");
    }
    let s = served(
        &super::deploy_k8s::helm_config("bitrouter", "prod"),
        "helm config",
    );
    assert_eq!(s.drain_timeout_ms, timeout * 1000);
    assert!(s.allowed_hosts.contains(&"bitrouter.prod.svc".to_owned()));

    let deployment = read("helm/bitrouter/templates/deployment.yaml");
    let after = |anchor: &str, want: &str| {
        let i = deployment
            .find(anchor)
            .unwrap_or_else(|| panic!("no {anchor}"));
        let next = deployment[i..]
            .find("path:")
            .map(|j| &deployment[i + j..])
            .unwrap();
        assert!(
            next.starts_with(want),
            "{anchor} probes {}",
            next.lines().next().unwrap()
        );
    };
    after("readinessProbe:", "path: /ready");
    after("livenessProbe:", "path: /health");
    for needle in [
        r#"terminationGracePeriodSeconds: {{ include "bitrouter.terminationGracePeriodSeconds" . }}"#,
        r#"command: ["sleep", "{{ int .Values.preStopSleepSeconds }}"]"#,
        "containerPort: {{ .Values.ports.http }}",
        "containerPort: {{ .Values.ports.metrics }}",
        "mountPath: /etc/bitrouter",
        "mountPath: /var/lib/bitrouter",
        "maxUnavailable: 0",
        "checksum/config:",
    ] {
        assert!(
            deployment.contains(needle),
            "deployment.yaml lacks `{needle}`"
        );
    }
    let service = read("helm/bitrouter/templates/service.yaml");
    assert!(service.contains("targetPort: http") && service.contains("targetPort: metrics"));
    for f in ["service.yaml", "pdb.yaml", "deployment.yaml"] {
        let t = read(&format!("helm/bitrouter/templates/{f}"));
        assert!(
            t.contains(r#"include "bitrouter.selectorLabels""#),
            "{f}: selector labels"
        );
    }

    // The chart's Secret gives every variable its config names.
    let secret_keys: BTreeSet<String> = at(&values, "secrets.values")
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    for var in &s.vars {
        assert!(secret_keys.contains(var), "secrets.values has no {var}");
    }
    assert!(
        int("autoscaling.minReplicas") > int("podDisruptionBudget.maxUnavailable"),
        "the PDB would allow every replica down"
    );
}
