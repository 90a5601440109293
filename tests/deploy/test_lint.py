"""The files under deploy/ checked by real linters, each offline once installed (requirements.txt).

- yamllint (`--strict`, deploy/.yamllint) on every YAML file but the Helm templates;
- kubernetes-validate (`--strict`: unknown fields are errors) on deploy/k8s and on the chart's
  rendered output;
- check-jsonschema with its vendored compose-spec schema on the compose file;
- hadolint on the Dockerfile;
- Helm (v4's Go SDK through helm-python-sdk): `helm lint --strict` and `helm template`.

Every linter is also fed a broken copy (in a tmp dir) and must reject it, so a linter that
checks nothing fails here. The Rust tests (cli/tests/it/deploy*.rs) check what no schema can:
that the configs compile, that ports, probes and the drain arithmetic agree.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
CHART = DEPLOY / "helm" / "bitrouter"
K8S = sorted((DEPLOY / "k8s").glob("*.yaml"))
COMPOSE = DEPLOY / "compose" / "docker-compose.yml"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
YAMLLINT_CONFIG = DEPLOY / ".yamllint"
TIMEOUT_S = 120


def tool(name: str) -> str:
    """A linter's executable from this venv (scripts/test installs them there)."""
    path = Path(sys.executable).parent / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.fail(
            f"`{name}` is not installed: pip install -r tests/deploy/requirements.txt",
            pytrace=False,
        )
    return found


def run(name: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool(name), *map(str, args)],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )


def output(p: subprocess.CompletedProcess[str]) -> str:
    return f"exit {p.returncode}\n--- stdout ---\n{p.stdout}\n--- stderr ---\n{p.stderr}"


def passes(p: subprocess.CompletedProcess[str]) -> None:
    assert p.returncode == 0, output(p)


def fails(p: subprocess.CompletedProcess[str], *expect: str) -> None:
    """The linter rejects its input, naming each of `expect` (rule ids, messages)."""
    assert p.returncode != 0, f"the linter accepted a broken file\n{output(p)}"
    both = p.stdout + p.stderr
    for e in expect:
        assert e in both, f"`{e}` not in the linter's report\n{output(p)}"


def broken_copy(src: Path, tmp_path: Path, old: str, new: str) -> Path:
    """`src` copied into `tmp_path` with `old` (which must occur) replaced by `new`."""
    text = src.read_text()
    assert old in text, f"{src}: `{old}` not found (the breakage no longer applies)"
    dst = tmp_path / src.name
    dst.write_text(text.replace(old, new, 1))
    return dst


# --------------------------------------------------------------------------------------------
# yamllint


def test_yamllint_deploy_files():
    listed = run("yamllint", "--list-files", "-c", YAMLLINT_CONFIG, "deploy")
    passes(listed)
    files = {Path(line).relative_to("deploy").as_posix() for line in listed.stdout.split()}
    # Everything YAML, the chart's values included; the Go templates left to helm.
    for want in (
        "compose/docker-compose.yml",
        "compose/bitrouter.yaml",
        "k8s/20-deployment.yaml",
        "helm/bitrouter/Chart.yaml",
        "helm/bitrouter/values.yaml",
        "prometheus/alerts.yml",
        "prometheus/alerts_test.yml",
        "prometheus/prometheus.yml",
    ):
        assert want in files, f"yamllint does not check deploy/{want}: {sorted(files)}"
    assert not [f for f in files if "/templates/" in f], sorted(files)
    passes(run("yamllint", "--strict", "-f", "parsable", "-c", YAMLLINT_CONFIG, "deploy"))


@pytest.mark.parametrize(
    ("src", "old", "new", "rule"),
    [
        # A key given twice: YAML parsers disagree on which one wins.
        (
            COMPOSE,
            "    restart: unless-stopped\n",
            "    restart: unless-stopped\n    restart: always\n",
            "key-duplicates",
        ),
        (DEPLOY / "k8s" / "30-service.yaml", "\n", "   \n", "trailing-spaces"),
        # `yes` is a boolean to YAML 1.1 parsers and a string to 1.2 ones.
        (CHART / "values.yaml", "enabled: true", "enabled: yes", "truthy"),
        # A warning only: --strict makes it fail.
        (DEPLOY / "prometheus" / "prometheus.yml", '"]  # server', '"] # server', "comments"),
    ],
    ids=["duplicate-key", "trailing-spaces", "truthy", "warning-under-strict"],
)
def test_yamllint_rejects_a_broken_copy(tmp_path, src, old, new, rule):
    broken = broken_copy(src, tmp_path, old, new)
    fails(
        run("yamllint", "--strict", "-f", "parsable", "-c", YAMLLINT_CONFIG, broken),
        f"({rule})",
    )


# --------------------------------------------------------------------------------------------
# kubernetes-validate


def validated(p: subprocess.CompletedProcess[str]) -> list[str]:
    """The `kind/name` of each resource kubernetes-validate passed."""
    return re.findall(r"passed for resource (\S+) against", p.stdout + p.stderr)


def test_k8s_manifests_match_the_kubernetes_schema():
    assert len(K8S) >= 7, K8S
    p = run("kubernetes-validate", "--strict", *K8S)
    passes(p)
    kinds = {r.split("/")[0] for r in validated(p)}
    assert {
        "namespace",
        "configmap",
        "secret",
        "deployment",
        "service",
        "horizontalpodautoscaler",
        "poddisruptionbudget",
    } <= kinds, output(p)


@pytest.mark.parametrize(
    ("old", "new", "expect"),
    [
        # An unknown field: only strict validation sees it (Kubernetes would drop it silently).
        ("  template:\n", "  tempalte: {}\n  template:\n", "tempalte"),
        ("periodSeconds: 5", 'periodSeconds: "five"', "five"),
    ],
    ids=["unknown-field", "wrong-type"],
)
def test_kubernetes_validate_rejects_a_broken_manifest(tmp_path, old, new, expect):
    broken = broken_copy(DEPLOY / "k8s" / "20-deployment.yaml", tmp_path, old, new)
    fails(run("kubernetes-validate", "--strict", broken), expect)


# --------------------------------------------------------------------------------------------
# check-jsonschema: the compose file against the compose-spec schema it vendors


def compose_check(path: Path) -> subprocess.CompletedProcess[str]:
    return run("check-jsonschema", "--builtin-schema", "vendor.compose-spec", path)


def test_compose_file_matches_the_compose_spec():
    p = compose_check(COMPOSE)
    passes(p)
    assert "ok -- validation done" in p.stdout, output(p)


@pytest.mark.parametrize(
    ("old", "new", "expect"),
    [
        ("  stop_grace_period:", "  stop_grace_periood:", "stop_grace_periood"),
        ("condition: service_healthy", "condition: service_ready", "service_ready"),
    ],
    ids=["unknown-service-key", "bad-enum"],
)
def test_compose_schema_rejects_a_broken_copy(tmp_path, old, new, expect):
    fails(compose_check(broken_copy(COMPOSE, tmp_path, old, new)), expect)


# --------------------------------------------------------------------------------------------
# hadolint


def test_dockerfile_passes_hadolint():
    p = run("hadolint", "--no-color", "--failure-threshold", "info", DOCKERFILE)
    passes(p)


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        (
            "FROM debian:${DEBIAN_RELEASE}-slim AS runtime",
            "FROM debian:latest AS runtime",
            "DL3007",
        ),
        ("WORKDIR /var/lib/bitrouter\n", "RUN cd /var/lib/bitrouter\n", "DL3003"),
        (
            "COPY --from=build",
            "RUN apt-get update && apt-get install -y curl\nCOPY --from=build",
            "DL3008",
        ),
    ],
    ids=["latest-tag", "cd-in-run", "unpinned-apt"],
)
def test_hadolint_rejects_a_broken_dockerfile(tmp_path, old, new, rule):
    broken = broken_copy(DOCKERFILE, tmp_path, old, new)
    fails(run("hadolint", "--no-color", "--failure-threshold", "info", broken), rule)


# --------------------------------------------------------------------------------------------
# Helm: lint and template through Helm's own Go code (helm-python-sdk)


def helm():
    try:
        import helm_python
    except ImportError as e:
        pytest.fail(f"helm-python-sdk is not installed ({e}): see tests/deploy/requirements.txt")
    return helm_python


def lint_findings(chart: Path) -> tuple[dict, list[dict]]:
    """`helm lint --strict`: the report, and its findings of warning level or worse."""
    report = helm().lint(chart, strict=True)
    assert report.get("total_charts_linted") == 1, report
    worse = [m for m in report.get("messages", []) if m.get("severity", 0) >= 2]
    return report, worse


def test_chart_passes_helm_lint_strict():
    report, worse = lint_findings(CHART)
    assert not worse and not report.get("errors"), report


@pytest.mark.parametrize(
    ("rel", "old", "new", "expect"),
    [
        ("Chart.yaml", "version: 0.1.0", "version: one", "SemVer"),
        ("templates/service.yaml", "{{", "{{ nosuchfunc", "nosuchfunc"),
        ("values.yaml", "replicaCount: 3", "replicaCount: [3", "values.yaml"),
    ],
    ids=["bad-version", "bad-template", "bad-values"],
)
def test_helm_lint_rejects_a_broken_chart(tmp_path, rel, old, new, expect):
    chart = tmp_path / "bitrouter"
    shutil.copytree(CHART, chart)
    broken_copy(CHART / rel, chart / Path(rel).parent, old, new)
    report, worse = lint_findings(chart)
    assert report.get("errors"), f"helm lint --strict accepted a broken chart: {report}"
    assert any(expect in m.get("error", "") for m in worse), report


# The chart rendered twice: with its defaults (autoscaling, a PodDisruptionBudget and a Secret)
# and with every optional block the templates have turned on or over.
VARIANTS = {
    "defaults": None,
    "every-option": {
        "autoscaling": {"enabled": False},
        "podDisruptionBudget": {"enabled": False},
        "secrets": {"create": False, "existingSecret": "my-bitrouter-secrets"},
        "metrics": {"podAnnotations": False},
        "imagePullSecrets": [{"name": "registry"}],
        "podLabels": {"team": "ml"},
        "podAnnotations": {"example.com/owner": "ml"},
        "extraEnv": [{"name": "RUST_LOG", "value": "info"}],
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": {
                                "matchLabels": {"app.kubernetes.io/name": "bitrouter"}
                            },
                        },
                    }
                ]
            }
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "bitrouter"}},
            }
        ],
    },
}


def render(chart: Path, values: dict | None, out: Path) -> list[Path]:
    """`helm template` (release `bitrouter` in namespace `bitrouter`): one file per manifest."""
    manifests = helm().Chart.load(chart).render(
        values, name="bitrouter", namespace="bitrouter", is_install=True
    )
    out.mkdir()
    files = []
    for name, text in sorted(manifests.items()):
        if not name.endswith((".yaml", ".yml")) or not text.strip():
            continue  # NOTES.txt, and a template whose condition is off
        f = out / name.replace("/", "_")
        f.write_text(text)
        files.append(f)
    return files


@pytest.mark.parametrize("variant", VARIANTS, ids=list(VARIANTS))
def test_rendered_chart_matches_the_kubernetes_schema(tmp_path, variant):
    files = render(CHART, VARIANTS[variant], tmp_path / "rendered")
    p = run("kubernetes-validate", "--strict", *files)
    passes(p)
    kinds = {r.split("/")[0] for r in validated(p)}
    want = {"configmap", "deployment", "service"}
    if variant == "defaults":
        want |= {"secret", "horizontalpodautoscaler", "poddisruptionbudget"}
    else:
        assert not kinds & {"secret", "horizontalpodautoscaler", "poddisruptionbudget"}, kinds
    assert want <= kinds, output(p)


def test_a_broken_template_fails_to_render_or_to_validate(tmp_path):
    chart = tmp_path / "bitrouter"
    shutil.copytree(CHART, chart)
    # Renders (helm lint does not know Kubernetes' fields), but no Service has `spec.bogus`.
    templates = chart / "templates"
    broken_copy(CHART / "templates/service.yaml", templates, "spec:\n", "spec:\n  bogus: 1\n")
    fails(run("kubernetes-validate", "--strict", *render(chart, None, tmp_path / "r1")), "bogus")
    # A template that does not parse is refused by the renderer itself.
    broken_copy(CHART / "templates/hpa.yaml", templates, "{{- if ", "{{- if nosuchfunc ")
    with pytest.raises(helm().HelmRenderError, match="nosuchfunc"):
        render(chart, None, tmp_path / "r2")
