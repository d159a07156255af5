"""The deploy recipes (deploy/docker-compose.yml, deploy/kubernetes.yaml) read as a reader would run them.

Neither Docker nor a cluster runs here, so these check what can be checked without them: the files parse, every
app replica gets the same room-poll database (replicas share no disk, so SQLite would split a room between them),
health probes point at Streamlit's health route, and the secrets the manifest reads are the ones its comment makes.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


def test_compose_gives_every_app_replica_the_same_postgres():
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    apps = [name for name in services if name.startswith("app")]
    assert len(apps) >= 2
    urls = {services[name]["environment"]["RWKV_EXPLAINER_DATABASE_URL"] for name in apps}
    assert len(urls) == 1 and next(iter(urls)).startswith("postgresql+psycopg://rwkv:")
    assert "@db:5432/rwkv" in next(iter(urls))
    assert services["db"]["image"].startswith("postgres:")
    assert "pg_isready" in services["db"]["healthcheck"]["test"]
    for name in apps:
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy"
    assert "rooms" in compose["volumes"]


def test_kubernetes_reads_the_secrets_its_comment_creates():
    text = (DEPLOY / "kubernetes.yaml").read_text()
    docs = {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(text)}
    app = docs[("Deployment", "rwkv-explainer")]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in app["env"]}
    db = docs[("StatefulSet", "rwkv-explainer-db")]["spec"]["template"]["spec"]["containers"][0]
    db_env = {e["name"]: e.get("valueFrom", {}).get("secretKeyRef") for e in db["env"]}
    created = set(re.findall(r"--from-literal=([a-z-]+)=", text))
    used = {ref["key"] for ref in env.values()} | {db_env["POSTGRES_PASSWORD"]["key"]}
    assert used == created == {"cookie-secret", "database-url", "postgres-password"}
    assert "RWKV_EXPLAINER_DATABASE_URL" in env
    assert "@rwkv-explainer-db:5432/rwkv" in text  # the URL in the comment names the Service below
    assert docs[("Service", "rwkv-explainer-db")]["spec"]["ports"][0]["port"] == 5432
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert app[probe]["httpGet"]["path"] == "/_stcore/health"
