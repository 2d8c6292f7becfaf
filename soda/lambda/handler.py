"""Tier-2 data quality in production: soda/checks.yml against Snowflake after every RunCompleted.

Deployed as a Lambda container image (soda/lambda/Dockerfile) subscribed to the SNS topic
gfn-notifications with a filter on event_type = RunCompleted. For each run it:
  1. scans soda/checks.yml with Soda Core (soda-core-snowflake 3.5.6) against Snowflake's
     TRANSFORMED schema;
  2. prints the result as a CloudWatch Embedded Metric Format record (namespace GFN/Pipeline:
     soda_checks_passed, soda_checks_failed, soda_checks_total);
  3. alerts on any failed check: SNS (GFN_ALERT_TOPIC_ARN) and Slack (SLACK_WEBHOOK_URL, or
     the secret SLACK_WEBHOOK_SECRET_ARN names), whichever are set;
  4. records the result in the run's ledger, s3://<GFN_BUCKET>/metadata/runs/<run_id>/quality/soda.json,
     which `gfnctl status` shows.

Snowflake's settings are the same as the Go services': SNOWFLAKE_ACCOUNT, _USER, _DATABASE,
_WAREHOUSE, _ROLE, _PASSWORD or _PRIVATE_KEY (PEM), or SNOWFLAKE_SECRET_ARN (a JSON secret with
account, user, database, warehouse, role, private_key, password) for what the environment
leaves empty; SNOWFLAKE_HOST/_PORT/_PROTOCOL point at an emulator (tests use fakesnow).
A scan that cannot run (Snowflake unreachable, a check erroring) counts as failed: its errors
are recorded and alerted like failed checks. A failure to record or alert raises, so Lambda
retries the event (SNS invokes asynchronously) and then hands it to its failure destination.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

log = logging.getLogger("gfn.soda")
log.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())

HERE = os.path.dirname(os.path.abspath(__file__))
# The image copies soda/checks.yml next to this file; in the repository it is one level up.
CHECKS = os.environ.get("GFN_SODA_CHECKS") or next(
    p for p in (os.path.join(HERE, "checks.yml"), os.path.join(HERE, "..", "checks.yml")) if os.path.exists(p)
)
DATA_SOURCE = "gfn_warehouse"
# The alarms' namespace (terraform's local.metrics_namespace), the same as the services' metrics.
NAMESPACE = os.environ.get("GFN_METRICS_NAMESPACE") or "GFN/Pipeline"
RUN_COMPLETED = "RunCompleted"


@dataclass
class Result:
    run_id: str
    passed: int
    failed: int
    total: int
    failed_checks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    scanned_at: str = ""
    data_source: str = "snowflake"

    @property
    def ok(self) -> bool:
        return self.failed == 0 and not self.errors


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, "") or default


def _secret(arn: str) -> str:
    import boto3

    return boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]


def snowflake_settings() -> dict[str, Any]:
    cfg = {
        "account": _env("SNOWFLAKE_ACCOUNT"),
        "username": _env("SNOWFLAKE_USER"),
        "database": _env("SNOWFLAKE_DATABASE"),
        "warehouse": _env("SNOWFLAKE_WAREHOUSE"),
        "role": _env("SNOWFLAKE_ROLE"),
        "password": _env("SNOWFLAKE_PASSWORD"),
        "private_key": _env("SNOWFLAKE_PRIVATE_KEY"),
    }
    if arn := _env("SNOWFLAKE_SECRET_ARN"):
        sec = json.loads(_secret(arn))
        for key, sec_key in (("account", "account"), ("username", "user"), ("database", "database"),
                             ("warehouse", "warehouse"), ("role", "role"), ("password", "password"),
                             ("private_key", "private_key")):
            cfg[key] = cfg[key] or sec.get(sec_key, "")
    missing = [k for k in ("account", "username", "database", "warehouse") if not cfg[k]]
    if not cfg["password"] and not cfg["private_key"]:
        missing.append("password or private_key")
    if missing:
        raise ValueError("snowflake configuration: missing " + ", ".join(missing))
    return cfg


def configuration_yaml(cfg: dict[str, Any]) -> str:
    """Soda's data source for TRANSFORMED; values are JSON strings (valid YAML scalars)."""
    lines = [f"data_source {DATA_SOURCE}:", "  type: snowflake"]
    for key in ("account", "username", "database", "warehouse", "role", "password"):
        if cfg.get(key):
            lines.append(f"  {key}: {json.dumps(cfg[key])}")
    if cfg.get("private_key"):
        lines.append(f"  private_key: {json.dumps(cfg['private_key'])}")
    lines.append("  schema: TRANSFORMED")
    # An endpoint override (an emulator, as for the Go services' SnowflakeConfig).
    if host := _env("SNOWFLAKE_HOST"):
        lines.append(f"  host: {json.dumps(host)}")
    if port := _env("SNOWFLAKE_PORT"):
        lines.append(f"  port: {int(port)}")
    return "\n".join(lines) + "\n"


def use_protocol(protocol: str) -> None:
    """SNOWFLAKE_PROTOCOL (http for an emulator): Soda's Snowflake source has no such setting,
    so the connector's connect gets it as a default keyword."""
    import functools

    import snowflake.connector

    snowflake.connector.connect = functools.partial(snowflake.connector.connect, protocol=protocol)


def scan(run_id: str, configuration: str, checks: str = CHECKS) -> Result:
    """Runs checks.yml with Soda Core and counts the outcomes."""
    os.environ.setdefault("OTEL_SDK_DISABLED", "true")
    from soda.scan import Scan

    s = Scan()
    s.set_data_source_name(DATA_SOURCE)
    s.set_scan_definition_name(f"gfn-tier2-{run_id}")
    s.add_configuration_yaml_str(configuration)
    s.add_sodacl_yaml_file(checks)
    s.execute()
    res = s.get_scan_results()
    checks_run = res.get("checks", [])
    failed = [c["name"] for c in checks_run if c.get("outcome") == "fail"]
    passed = sum(1 for c in checks_run if c.get("outcome") == "pass")
    # A check without an outcome could not run; Soda's error logs say why.
    errors = [c["name"] for c in checks_run if c.get("outcome") not in ("pass", "fail")]
    errors += [entry.message for entry in s.get_error_logs()]
    return Result(run_id=run_id, passed=passed, failed=len(failed), total=len(checks_run),
                  failed_checks=failed, errors=errors,
                  scanned_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))


def emf(result: Result) -> dict[str, Any]:
    """The CloudWatch Embedded Metric Format record of a scan (Lambda ships stdout to Logs)."""
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Service"]],
                "Metrics": [{"Name": n, "Unit": "Count"} for n in ("soda_checks_passed", "soda_checks_failed", "soda_checks_total")],
            }],
        },
        "Service": "soda",
        "run_id": result.run_id,
        "soda_checks_passed": result.passed,
        "soda_checks_failed": result.failed,
        "soda_checks_total": result.total,
    }


def alert_text(result: Result) -> str:
    lines = [f"GFN pipeline run {result.run_id}: {result.failed} of {result.total} tier-2 data-quality checks failed on Snowflake"]
    lines += [f"- {name}" for name in result.failed_checks]
    lines += [f"- error: {e}" for e in result.errors]
    return "\n".join(lines)


def ledger_key(run_id: str) -> str:
    """Where the run ledger keeps the result (tools/gfnctl/status reads it)."""
    return f"metadata/runs/{run_id}/quality/soda.json"


def run_completed(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The RunCompleted messages in an SNS (or SQS raw-delivery) event."""
    out = []
    for rec in event.get("Records", []):
        if "Sns" in rec:
            attrs = {k: v.get("Value") for k, v in rec["Sns"].get("MessageAttributes", {}).items()}
            body = rec["Sns"]["Message"]
        else:
            attrs = {k: v.get("stringValue") for k, v in rec.get("messageAttributes", {}).items()}
            body = rec.get("body", "")
        if attrs.get("event_type") not in (None, RUN_COMPLETED):
            continue
        msg = json.loads(body)
        if msg.get("run_id"):
            out.append(msg)
    return out


@dataclass
class Deps:
    """What the handler talks to; tests substitute the scan's endpoint, never the steps."""
    put_ledger: Callable[[str, bytes], None]
    publish_alert: Callable[[str, str], None] | None
    post_slack: Callable[[str], None] | None
    emit: Callable[[str], None] = print


def aws_deps() -> Deps:
    import boto3

    bucket = _env("GFN_NAME_PREFIX") + _env("GFN_BUCKET", "gfn-data-lake")
    s3 = boto3.client("s3")
    topic = _env("GFN_ALERT_TOPIC_ARN")
    webhook = _env("SLACK_WEBHOOK_URL") or (_secret(a) if (a := _env("SLACK_WEBHOOK_SECRET_ARN")) else "")

    def put_ledger(key: str, body: bytes) -> None:
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json")

    def publish_alert(subject: str, text: str) -> None:
        boto3.client("sns").publish(TopicArn=topic, Subject=subject[:100], Message=text)

    def post_slack(text: str) -> None:
        req = urllib.request.Request(webhook, data=json.dumps({"text": text}).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()

    return Deps(put_ledger=put_ledger, publish_alert=publish_alert if topic else None,
                post_slack=post_slack if webhook else None)


def handle(event: dict[str, Any], deps: Deps, configuration: str) -> list[Result]:
    results = []
    for msg in run_completed(event):
        run_id = msg["run_id"]
        result = scan(run_id, configuration)
        deps.emit(json.dumps(emf(result)))
        deps.put_ledger(ledger_key(run_id), json.dumps(asdict(result), indent=2).encode())
        if not result.ok:
            text = alert_text(result)
            log.error(text)
            if deps.publish_alert:
                deps.publish_alert(f"GFN data quality: {result.failed} checks failed (run {run_id})", text)
            if deps.post_slack:
                deps.post_slack(text)
        else:
            log.info("run %s: %d/%d tier-2 checks passed", run_id, result.passed, result.total)
        results.append(result)
    return results


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    """The Lambda entry point."""
    logging.basicConfig(stream=sys.stdout, level=logging.INFO)
    if protocol := _env("SNOWFLAKE_PROTOCOL"):
        use_protocol(protocol)
    results = handle(event, aws_deps(), configuration_yaml(snowflake_settings()))
    return {"results": [asdict(r) for r in results]}


def main() -> int:
    """`python handler.py RUN_ID`: scan once from a shell (environment as for the Lambda)."""
    logging.basicConfig(stream=sys.stderr, level=logging.INFO)
    if protocol := _env("SNOWFLAKE_PROTOCOL"):
        use_protocol(protocol)
    event = {"Records": [{"Sns": {"Message": json.dumps({"run_id": sys.argv[1]}),
                                  "MessageAttributes": {"event_type": {"Value": RUN_COMPLETED}}}}]}
    results = handle(event, aws_deps(), configuration_yaml(snowflake_settings()))
    return 0 if all(r.ok for r in results) else 2


if __name__ == "__main__":
    raise SystemExit(main())
