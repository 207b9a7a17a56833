"""Monitoring assets agree with the code: Prometheus rules, their tests, example config, dashboard.

The promtool checks run when ``promtool`` is on PATH (Debian: ``apt-get install prometheus``);
without it they skip, except under ``CI=true``, where they fail. PyYAML is not a dependency,
so the YAML files are read with small line-based parsers that rely on their layout.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from within_daemon.config import MetricsConfig
from within_daemon.observability.metrics import Metrics

ROOT = Path(__file__).resolve().parents[1]
PROM_DIR = ROOT / "config" / "prometheus"
ALERTS = PROM_DIR / "alerts.yml"
ALERTS_TEST = PROM_DIR / "alerts_test.yml"
PROM_EXAMPLE = PROM_DIR / "prometheus.example.yml"
DASHBOARD = ROOT / "config" / "grafana" / "within-daemon.json"
MONITORING_DOC = ROOT / "docs" / "monitoring.md"

#: Gauges added alongside these assets; accepted even before metrics.py registers them.
NEW_GAUGES = {"within_ledger_completeness_ratio", "within_data_quality_score"}

EXPECTED_ALERTS = {
    "WithinTaskNoRecentSuccess", "WithinHighErrorRatio", "WithinCircuitOpen",
    "WithinAccountParked", "WithinQueueSaturated", "WithinConfigReloadFailed",
    "WithinDataQualityLow", "WithinLedgerIncomplete", "WithinDaemonDown",
    "WithinTokenExpiringSoon", "WithinClusterLeaseLost", "WithinClusterAccountsUnleased",
    "WithinApiVersionSunsetSoon",
    "WithinOutageBudgetSpent", "WithinEnrichWorkersFailing", "WithinPostLoadFailing",
}

#: A within_ name that is not part of a recording rule name (level:metric:operations).
_METRIC_RE = re.compile(r"(?<![\w:])within_[a-z0-9_]+(?![\w:])")
_RECORDED_RE = re.compile(r"(?<![\w:])[a-z_]+:[a-z0-9_:]+")

# -- helpers ------------------------------------------------------------------------------


def _exported() -> set[str]:
    """Series names as scraped: counters with _total, histograms as _bucket/_sum/_count."""
    names = set(NEW_GAUGES)
    families = list(Metrics().registry.collect())
    assert len(families) >= 19, "Metrics() registered fewer metrics than the catalogue has"
    for fam in families:
        if fam.type == "counter":
            names.add(fam.name + "_total")
        elif fam.type == "histogram":
            names |= {fam.name + s for s in ("_bucket", "_sum", "_count")}
        else:
            names.add(fam.name)
    return names


def _promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        msg = "promtool not installed: apt-get install prometheus"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{msg} (CI=true: the promtool checks must run)")
        pytest.skip(msg)
    return path


def _run(args: list[str], cwd: Path) -> str:
    proc = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=120,
                          check=False)
    out = f"$ {' '.join(args)}\n{proc.stdout}{proc.stderr}"
    assert proc.returncode == 0, out
    return out


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _rules(text: str) -> list[tuple[str, str, list[str]]]:
    """(kind, name, lines) of each `- alert:` / `- record:` entry of a rule file."""
    rules: list[tuple[str, str, list[str]]] = []
    for line in text.splitlines():
        m = re.match(r"\s*- (alert|record):\s*(\S+)\s*$", line)
        if m:
            rules.append((m[1], m[2], [line.replace("- ", "  ", 1)]))
        elif rules and line.strip() and not line.lstrip().startswith("#"):
            if _indent(line) <= _indent(rules[-1][2][0]) - 2:
                rules.append(("", "", [line]))  # left the rule list: stop collecting
            else:
                rules[-1][2].append(line)
    return [r for r in rules if r[0]]


def _field(lines: list[str], key: str) -> str | None:
    """Value of `key:` in a rule: inline (quotes stripped) or a block scalar (| or >)."""
    for i, line in enumerate(lines):
        m = re.match(rf"(\s*){re.escape(key)}:\s*(.*)$", line)
        if not m:
            continue
        value = m[2].strip()
        if value[:1] in ("|", ">"):
            block = []
            for nxt in lines[i + 1:]:
                if nxt.strip() and _indent(nxt) <= len(m[1]):
                    break
                block.append(nxt.strip())
            return " ".join(b for b in block if b)
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        return value
    return None


def _alert_rules() -> dict[str, list[str]]:
    return {name: lines for kind, name, lines in _rules(ALERTS.read_text("utf-8"))
            if kind == "alert"}


def _test_cases() -> Iterator[tuple[str, str]]:
    """(alertname, text of its alert_rule_test entry) in alerts_test.yml."""
    text = ALERTS_TEST.read_text("utf-8")
    parts = re.split(r"^\s*- (?=eval_time:|interval:)", text, flags=re.M)
    for part in parts:
        m = re.search(r"^\s*alertname:\s*(\S+)\s*$", part, flags=re.M)
        if m:
            yield m[1], part


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for p in panels:
        yield p
        yield from _panels(p.get("panels", []))


def _dashboard() -> dict[str, Any]:
    data = json.loads(DASHBOARD.read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def _dashboard_queries(dash: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable."""
    out = []
    for p in _panels(dash["panels"]):
        for t in p.get("targets", []):
            out.append((f"panel {p.get('title')!r} target {t.get('refId')}", t["expr"]))
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            q = v["query"]
            out.append((f"variable {v['name']}", q["query"] if isinstance(q, dict) else q))
    return out


def _grafana_to_promql(expr: str) -> str:
    for var, value in (("$__rate_interval", "5m"), ("$__interval", "1m"), ("$__range", "1d"),
                       ("$platform", ".*")):
        expr = expr.replace(var, value)
    return expr


# -- promtool -----------------------------------------------------------------------------


def test_promtool_check_rules() -> None:
    """`promtool check rules alerts.yml` accepts the rule file."""
    out = _run([_promtool(), "check", "rules", ALERTS.name], PROM_DIR)
    assert "SUCCESS" in out, out


def test_promtool_test_rules() -> None:
    """`promtool test rules alerts_test.yml` passes every alert unit test."""
    out = _run([_promtool(), "test", "rules", ALERTS_TEST.name], PROM_DIR)
    assert "SUCCESS" in out, out


def test_promtool_check_config() -> None:
    """`promtool check config` accepts the example config and the rule file it loads."""
    out = _run([_promtool(), "check", "config", PROM_EXAMPLE.name], PROM_DIR)
    assert "1 rule files found" in out, out


def test_dashboard_queries_parse_with_promtool(tmp_path: Path) -> None:
    """Every dashboard PromQL, with Grafana variables filled in, parses as a recording rule."""
    promtool = _promtool()
    queries = [(w, q) for w, q in _dashboard_queries(_dashboard())
               if not q.startswith("label_values(")]
    lines = ["groups:", "  - name: dashboard", "    rules:"]
    for i, (_, q) in enumerate(queries):
        lines += [f"      - record: dashboard_check:query_{i}",
                  f"        expr: {json.dumps(_grafana_to_promql(q))}"]
    rules = tmp_path / "dashboard_rules.yml"
    rules.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = _run([promtool, "check", "rules", rules.name], tmp_path)
    assert f"{len(queries)} rules found" in out, out


# -- alerts.yml ---------------------------------------------------------------------------


def test_alerts_are_the_expected_set() -> None:
    """alerts.yml defines exactly the documented alerts, each once."""
    names = [n for k, n, _ in _rules(ALERTS.read_text("utf-8")) if k == "alert"]
    assert sorted(names) == sorted(EXPECTED_ALERTS)


def test_alerts_have_for_severity_and_templated_annotations() -> None:
    """Each alert has for:, a severity label and summary/description using label templates."""
    for name, lines in _alert_rules().items():
        assert _field(lines, "for"), f"{name}: no for:"
        assert _field(lines, "severity") in {"info", "warning", "critical"}, name
        summary, description = _field(lines, "summary"), _field(lines, "description")
        assert summary and description, f"{name}: summary and description are required"
        assert "{{ $labels." in summary + description, f"{name}: no label template"


def test_alert_exprs_use_only_exported_metrics() -> None:
    """Every within_ series in a rule expr exists; every recorded series used is defined."""
    exported = _exported()
    rules = _rules(ALERTS.read_text("utf-8"))
    recorded = {n for k, n, _ in rules if k == "record"}
    assert recorded, "expected recording rules"
    for _, name, lines in rules:
        expr = _field(lines, "expr")
        assert expr, f"{name}: no expr"
        unknown = set(_METRIC_RE.findall(expr)) - exported
        assert not unknown, f"{name} uses metrics the daemon does not export: {unknown}"
        undefined = set(_RECORDED_RE.findall(expr)) - recorded
        assert not undefined, f"{name} uses recording rules not in alerts.yml: {undefined}"


def test_every_alert_has_firing_and_quiet_test_cases() -> None:
    """alerts_test.yml has, per alert, a case with exact labels/annotations and an empty one."""
    firing: set[str] = set()
    quiet: set[str] = set()
    for alert, case in _test_cases():
        exp = re.search(r"^\s*exp_alerts:\s*(.*)$", case, flags=re.M)
        assert exp, f"{alert}: test case without exp_alerts"
        if exp[1].strip() == "[]":
            quiet.add(alert)
            continue
        for key in ("exp_labels:", "severity:", "exp_annotations:", "summary:", "description:"):
            assert key in case, f"{alert}: firing case lacks {key}"
        firing.add(alert)
    alerts = set(_alert_rules())
    assert not alerts - firing, f"alerts without a firing test case: {alerts - firing}"
    assert not alerts - quiet, f"alerts without a case where they stay quiet: {alerts - quiet}"
    assert not (firing | quiet) - alerts, "test cases name alerts that alerts.yml lacks"


def test_alert_tests_load_alerts_yml() -> None:
    """alerts_test.yml loads alerts.yml (so promtool tests this very file)."""
    text = ALERTS_TEST.read_text("utf-8")
    assert re.search(r"^rule_files:\s*\n\s*- alerts\.yml\s*$", text, flags=re.M)


# -- prometheus.example.yml ---------------------------------------------------------------


def test_example_config_scrapes_default_listen_and_loads_rules() -> None:
    """The example scrapes job within-daemon at MetricsConfig's default listen and loads rules."""
    text = PROM_EXAMPLE.read_text("utf-8")
    assert re.search(r"^\s*- job_name:\s*within-daemon\s*$", text, flags=re.M)
    assert re.search(r'targets:\s*\[\s*"' + re.escape(MetricsConfig().listen) + r'"\s*\]', text)
    assert re.search(r"^rule_files:\s*\n\s*- alerts\.yml\s*$", text, flags=re.M)
    down = _field(_alert_rules()["WithinDaemonDown"], "expr")
    assert down and 'job="within-daemon"' in down, "WithinDaemonDown must match the job name"


# -- Grafana dashboard --------------------------------------------------------------------


def test_dashboard_model_and_variables() -> None:
    """Dashboard JSON has a stable uid, schemaVersion ~39, DS_PROMETHEUS and platform vars."""
    dash = _dashboard()
    assert dash["uid"] == "within-daemon" and dash["title"]
    assert 36 <= dash["schemaVersion"] <= 41
    assert dash.get("id") is None, "provisioned dashboards must not carry a database id"
    variables = {v["name"]: v for v in dash["templating"]["list"]}
    ds = variables["DS_PROMETHEUS"]
    assert (ds["type"], ds["query"]) == ("datasource", "prometheus")
    platform = variables["platform"]
    assert platform["type"] == "query"
    assert platform["datasource"]["uid"] == "${DS_PROMETHEUS}"
    query = platform["query"]
    query = query["query"] if isinstance(query, dict) else query
    assert query == "label_values(within_records_total, platform)"


def test_dashboard_panels_have_datasource_and_targets() -> None:
    """Every non-row panel uses the DS_PROMETHEUS variable and has at least one PromQL target."""
    panels = [p for p in _panels(_dashboard()["panels"]) if p["type"] != "row"]
    assert len(panels) >= 20
    for p in panels:
        title = p.get("title")
        assert p.get("datasource", {}).get("uid") == "${DS_PROMETHEUS}", title
        assert p.get("targets"), f"{title}: no targets"
        for t in p["targets"]:
            assert t.get("expr", "").strip(), f"{title}: empty expr"
            assert t.get("refId"), f"{title}: target without refId"
            assert t.get("datasource", p["datasource"])["uid"] == "${DS_PROMETHEUS}", title


def test_dashboard_layout_has_no_overlaps() -> None:
    """Panels fit the 24-column grid, ids are unique, and no two panels overlap."""
    panels = list(_panels(_dashboard()["panels"]))
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), "duplicate panel ids"
    cells: dict[tuple[int, int], str] = {}
    for p in panels:
        g = p["gridPos"]
        assert g["x"] >= 0 and g["w"] > 0 and g["x"] + g["w"] <= 24, p["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = p["title"]


def test_dashboard_covers_required_rows() -> None:
    """The dashboard has a row for each area the runbook walks through."""
    rows = {p["title"] for p in _dashboard()["panels"] if p["type"] == "row"}
    for area in ("Throughput", "Errors", "Rate limits", "Circuits", "Queues", "Freshness",
                 "Ledger completeness and data quality", "Config reloads"):
        assert area in rows, f"no {area!r} row"


def test_dashboard_exprs_use_only_exported_metrics() -> None:
    """Every within_ series in a dashboard query is one the daemon exports."""
    exported = _exported()
    queries = _dashboard_queries(_dashboard())
    used: set[str] = set()
    for where, expr in queries:
        names = set(_METRIC_RE.findall(expr))
        used |= names
        assert not names - exported, f"{where} uses unknown metrics: {names - exported}"
        assert not _RECORDED_RE.findall(expr), f"{where}: needs recording rules; use raw series"
        variables = set(re.findall(r"\$(\w+)", expr))
        assert variables <= {"platform", "__rate_interval", "__interval", "__range"}, where
    assert NEW_GAUGES <= used, "the dashboard should chart ledger completeness and quality"


# -- docs ---------------------------------------------------------------------------------


def test_monitoring_doc_explains_every_alert() -> None:
    """docs/monitoring.md has a section for each alert in alerts.yml."""
    text = MONITORING_DOC.read_text("utf-8")
    headings = set(re.findall(r"^#+\s*`?(Within\w+)`?\s*$", text, flags=re.M))
    assert set(_alert_rules()) <= headings, set(_alert_rules()) - headings
