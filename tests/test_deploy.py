"""The deploy recipes (deploy/docker-compose.yml, deploy/kubernetes.yaml) read as a reader would run them.

Neither Docker nor a cluster runs here, so these check what can be checked without them: the files parse, the
manifest is valid against the Kubernetes API's own schemas (the `kubernetes-validate` package bundles them;
strict: a misspelt field fails), every app replica gets the same room-poll database (replicas share no disk, so
SQLite would split a room between them), health probes point at Streamlit's health route, and the secrets the
manifest reads are the ones its comment makes. The compose file goes through Debian's `docker-compose` (1.29,
a Python build that checks a file against the Compose Specification's schema and resolves its variables without
a Docker daemon; `.ci/run` installs it).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
KUBERNETES_VERSION = "1.33"  # a release clusters run today; the manifest uses only long-stable (v1) APIs


def manifest_docs() -> list[dict]:
    return [d for d in yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text()) if d]


@pytest.mark.parametrize("doc", manifest_docs(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_kubernetes_manifest_is_valid_against_the_api_schemas(doc):
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_catches_a_misspelt_field():
    deployment = next(d for d in manifest_docs() if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def docker_compose_or_skip() -> str:
    found = shutil.which("docker-compose")
    if found:
        return found
    msg = "docker-compose is not installed (Debian: apt-get install docker-compose), so the compose file is not checked."
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg + " CI=true, so this is a failure, not a skip.", pytrace=False)
    pytest.skip(msg)


def compose_config(compose: dict, tmp_path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """`docker-compose config` on `compose`. Its top-level `name` (the project name) is newer than 1.29's schema
    and is left out; every service, volume and variable is checked."""
    compose = {k: v for k, v in compose.items() if k != "name"}
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(compose))
    # --project-directory: relative paths (the build context, nginx.conf) resolve in deploy/, as they would there
    return subprocess.run([docker_compose_or_skip(), *no_env_file(tmp_path), "-f", str(path), "--project-directory", str(DEPLOY),
                           "config"],
                          capture_output=True, text=True, timeout=60, env={**os.environ, **env},
                          cwd=DEPLOY)


SECRETS = {"STREAMLIT_SERVER_COOKIE_SECRET": "a-cookie-secret", "POSTGRES_PASSWORD": "a-password"}
def no_env_file(tmp_path) -> tuple[str, str]:
    """An empty env file: a developer's deploy/.env must not fill in what a test leaves out."""
    empty = tmp_path / "empty.env"
    empty.write_text("")
    return "--env-file", str(empty)


def test_compose_file_is_valid_and_its_secrets_reach_every_app(tmp_path):
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    done = compose_config(compose, tmp_path, SECRETS)
    assert done.returncode == 0, done.stderr
    resolved = yaml.safe_load(done.stdout)
    apps = [name for name in resolved["services"] if name.startswith("app")]
    for name in apps:
        env = resolved["services"][name]["environment"]
        assert env["STREAMLIT_SERVER_COOKIE_SECRET"] == "a-cookie-secret"
        assert env["RWKV_EXPLAINER_DATABASE_URL"] == "postgresql+psycopg://rwkv:a-password@db:5432/rwkv"


def test_compose_refuses_to_start_without_its_secrets(tmp_path):
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    env = {k: v for k, v in os.environ.items() if k not in SECRETS}
    done = subprocess.run([docker_compose_or_skip(), *no_env_file(tmp_path), "-f", str(DEPLOY / "docker-compose.yml"),
                           "config", "-q"],
                          capture_output=True, text=True, timeout=60, env=env, cwd=DEPLOY)
    assert done.returncode != 0 and "STREAMLIT_SERVER_COOKIE_SECRET" in done.stderr


def test_the_compose_check_catches_a_misspelt_option(tmp_path):
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    app = next(name for name in compose["services"] if name.startswith("app"))
    compose["services"][app]["depend_on"] = compose["services"][app].pop("depends_on")
    done = compose_config(compose, tmp_path, SECRETS)
    assert done.returncode != 0 and "depend_on" in done.stderr


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
