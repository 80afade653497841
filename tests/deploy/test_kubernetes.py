"""The Kubernetes manifests (deploy/kubernetes): each overlay renders with `kubectl kustomize`,
every document validates strictly against Kubernetes' schemas, and our own rules hold."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import msgspec
import pytest
import yaml
from kubernetes_validate.utils import SchemaNotFoundError, latest_version

from preau.settings import Settings
from tests.conftest import missing_service

Document = dict[str, Any]

KUBERNETES = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
OVERLAYS = ("academie", "national")
# The oldest Kubernetes the current CloudNativePG operator (1.30) supports, and the newest
# kubernetes-validate knows, so that an API removed since fails too.
KUBERNETES_VERSIONS = ("1.34", latest_version())
# kubernetes-validate knows only Kubernetes' own kinds; custom resources get a schema of ours.
CUSTOM_SCHEMAS = {
    ("postgresql.cnpg.io/v1", "Cluster"): json.loads(
        (Path(__file__).parent / "cnpg_cluster.schema.json").read_text(encoding="utf-8")
    ),
}
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")
# Préau's secret settings, and the variables the manifests splice into its URLs.
SECRET_VARIABLES = frozenset(
    "PREAU_" + field.name.upper()
    for field in msgspec.structs.fields(Settings)
    if re.search(r"(key|secret|password)$", field.name) and not isinstance(field.default, bool)
) | {"DATABASE_PASSWORD", "REDIS_PASSWORD", "REDISCLI_AUTH"}
PASSWORD_IN_URL = re.compile(r"://[^/\s:@]*:[^/\s@]+@")
REFERENCE = re.compile(r"\$\([A-Z0-9_]+\)")  # $(NAME): Kubernetes fills it in from another variable
JANUS_API_PORT, JANUS_ADMIN_PORT = 8089, 7088  # base/janus.yaml and its TLS template


def render(overlay: str) -> list[Document]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        missing_service("kubectl is not installed (make system-deps: kubernetes-client)")
    assert kubectl is not None
    result = subprocess.run(
        [kubectl, "kustomize", str(KUBERNETES / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


@pytest.fixture(scope="module", params=OVERLAYS)
def documents(request: pytest.FixtureRequest) -> list[Document]:
    return render(request.param)


# What each check finds wrong, as sentences; the tests expect none.


def name_of(document: Document) -> str:
    metadata = document["metadata"]
    return f"{document['kind']} {metadata.get('namespace', '-')}/{metadata['name']}"


def schema_problems(document: Document, version: str) -> list[str]:
    custom = CUSTOM_SCHEMAS.get((document["apiVersion"], document["kind"]))
    if custom is not None:
        validator = jsonschema.Draft202012Validator(custom)
        return [
            f"{name_of(document)}: {'.'.join(map(str, error.path))}: {error.message}"
            for error in validator.iter_errors(document)
        ]
    try:
        kubernetes_validate.validate(document, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        path = ".".join(map(str, error.path))
        return [f"{name_of(document)} (Kubernetes {version}): {path}: {error.message}"]
    except SchemaNotFoundError:
        return [f"{name_of(document)}: no schema to check it against"]
    return []


def pod_spec(document: Document) -> Document | None:
    kind = document["kind"]
    if kind in (*WORKLOADS, "Job"):
        return dict(document["spec"]["template"]["spec"])
    if kind == "CronJob":
        return dict(document["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    return None


def containers_of(spec: Document) -> Iterator[tuple[str, Document]]:
    for field in ("initContainers", "containers"):
        for container in spec.get(field, []):
            yield field, container


def container_problems(document: Document) -> list[str]:
    """Resources everywhere; probes on long-running containers (a Job's or an init
    container's end is their health); a locked-down security context."""
    spec = pod_spec(document)
    if spec is None:
        return []
    problems = []
    if spec.get("securityContext", {}).get("runAsNonRoot") is not True:
        problems.append(f"{name_of(document)}: pods must run as non-root")
    for field, container in containers_of(spec):
        where = f"{name_of(document)}, container {container['name']}"
        resources = container.get("resources", {})
        requests, limits = resources.get("requests", {}), resources.get("limits", {})
        if not {"cpu", "memory"} <= requests.keys() or "memory" not in limits:
            problems.append(f"{where}: needs cpu and memory requests and a memory limit")
        if field == "containers" and document["kind"] in WORKLOADS:
            problems.extend(
                f"{where}: has no {probe}"
                for probe in ("startupProbe", "readinessProbe", "livenessProbe")
                if probe not in container
            )
        security = container.get("securityContext", {})
        if (
            security.get("allowPrivilegeEscalation") is not False
            or security.get("readOnlyRootFilesystem") is not True
            or security.get("capabilities", {}).get("drop") != ["ALL"]
        ):
            problems.append(f"{where}: must drop all capabilities on a read-only root")
    return problems


def selects(selector: Document, labels: Document) -> bool:
    wanted = selector.get("matchLabels", {})
    return bool(wanted) and all(labels.get(key) == value for key, value in wanted.items())


def disruption_budget_problems(documents: list[Document]) -> list[str]:
    budgets = [document for document in documents if document["kind"] == "PodDisruptionBudget"]
    problems = []
    for document in documents:
        if document["kind"] not in WORKLOADS:
            continue
        labels = document["spec"]["template"]["metadata"]["labels"]
        namespace = document["metadata"]["namespace"]
        if not any(
            budget["metadata"]["namespace"] == namespace
            and selects(budget["spec"]["selector"], labels)
            for budget in budgets
        ):
            problems.append(f"{name_of(document)}: no PodDisruptionBudget selects its pods")
    return problems


def image_problems(documents: list[Document]) -> list[str]:
    images = []
    for document in documents:
        if document["kind"] == "Cluster":
            images.append((name_of(document), document["spec"].get("imageName", "")))
        spec = pod_spec(document)
        for _, container in containers_of(spec or {}):
            images.append((name_of(document), container["image"]))
    problems = []
    for where, image in images:
        last_part = image.rsplit("/", 1)[-1]
        tag = last_part.partition(":")[2]
        if "@sha256:" not in image and (not tag or tag == "latest"):
            problems.append(f"{where}: image {image!r} is not pinned to a tag")
    return problems


def secret_problems(documents: list[Document]) -> list[str]:
    """Secrets are the operator's: none in the repository, and only referenced."""
    problems = []
    for document in documents:
        if document["kind"] == "Secret" and (document.get("data") or document.get("stringData")):
            problems.append(f"{name_of(document)}: a Secret with values in the repository")
        if document["kind"] == "ConfigMap":
            for key, value in document.get("data", {}).items():
                if key in SECRET_VARIABLES or PASSWORD_IN_URL.search(value):
                    problems.append(f"{name_of(document)}: {key} belongs in a Secret")
        for _, container in containers_of(pod_spec(document) or {}):
            for variable in container.get("env", []):
                if PASSWORD_IN_URL.search(REFERENCE.sub("", variable.get("value", ""))):
                    problems.append(f"{name_of(document)}: {variable['name']} holds a password")
                secret = variable["name"] in SECRET_VARIABLES
                if secret and "secretKeyRef" not in variable.get("valueFrom", {}):
                    problems.append(
                        f"{name_of(document)}: {variable['name']} must come from a secretKeyRef"
                    )
    return problems


def find(documents: list[Document], kind: str, name: str) -> Document:
    matches = [
        document
        for document in documents
        if document["kind"] == kind and document["metadata"]["name"].startswith(name)
    ]
    assert len(matches) == 1, f"expected one {kind} {name}, found {len(matches)}"
    return matches[0]


def settings_of(documents: list[Document], name: str) -> dict[str, str]:
    return dict(find(documents, "ConfigMap", name + "-")["data"])


def janus_problems(documents: list[Document]) -> list[str]:
    """`preau janus config <pod name>` must find each Janus pod in PREAU_JANUS_NODES, at the
    ports its TLS container serves, and the app must see the same list."""
    app, janus = settings_of(documents, "preau-settings"), settings_of(documents, "janus-settings")
    problems = [
        f"{key} differs between preau-settings and janus-settings"
        for key in ("PREAU_JANUS_NODES", "PREAU_BASE_URL")
        if app[key] != janus[key]
    ]
    replicas = find(documents, "StatefulSet", "janus")["spec"]["replicas"]
    nodes = [entry.split("|") for entry in janus["PREAU_JANUS_NODES"].split(",")]
    if [node[0] for node in nodes] != [f"janus-{index}" for index in range(replicas)]:
        problems.append(f"PREAU_JANUS_NODES must list janus-0 … janus-{replicas - 1}")
    for name, janus_url, admin_url, *_ in nodes:
        if urlsplit(janus_url).scheme != "https" or urlsplit(janus_url).port != JANUS_API_PORT:
            problems.append(f"{name}: the Janus API is served over https on {JANUS_API_PORT}")
        admin = urlsplit(admin_url)
        if admin.port != JANUS_ADMIN_PORT or admin.hostname != f"{name}.janus.preau-media.svc":
            problems.append(f"{name}: the Admin API is {name}.janus.preau-media.svc:7088")
    return problems


def sizing_problems(documents: list[Document]) -> list[str]:
    """Figures that must agree across objects."""
    settings = settings_of(documents, "preau-settings")
    autoscaler = find(documents, "HorizontalPodAutoscaler", "preau-app")["spec"]
    deployment = find(documents, "Deployment", "preau-app")["spec"]
    database = find(documents, "Cluster", "preau-db")["spec"]
    problems = []
    if int(settings["PREAU_GATE_PROCESS_COUNT"]) != autoscaler["minReplicas"]:
        problems.append("PREAU_GATE_PROCESS_COUNT must be the HPA's minReplicas")
    if deployment["replicas"] != autoscaler["minReplicas"]:
        problems.append("the Deployment's replicas must start at the HPA's minReplicas")
    # SQLAlchemy's pool may open as many again as overflow (adapters/sql/engine.py); the
    # migration and the digests may run beside the app; CloudNativePG keeps a few for itself.
    per_process = 2 * int(settings["PREAU_DATABASE_POOL_SIZE"])
    needed = (autoscaler["maxReplicas"] + 2) * per_process + 10
    allowed = int(database["postgresql"]["parameters"]["max_connections"])
    if needed > allowed:
        problems.append(f"up to {needed} database connections, max_connections is {allowed}")
    host = urlsplit(settings["PREAU_BASE_URL"]).hostname
    ingress = find(documents, "Ingress", "preau")["spec"]
    if [rule["host"] for rule in ingress["rules"]] != [host]:
        problems.append("the Ingress must serve the host of PREAU_BASE_URL")
    return problems


# The tests.


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_document_validates_against_the_schemas(
    documents: list[Document], version: str
) -> None:
    problems = [problem for document in documents for problem in schema_problems(document, version)]
    assert problems == []


def test_every_container_has_resources_probes_and_a_locked_down_context(
    documents: list[Document],
) -> None:
    assert [problem for document in documents for problem in container_problems(document)] == []


def test_every_deployment_and_statefulset_has_a_disruption_budget(
    documents: list[Document],
) -> None:
    assert disruption_budget_problems(documents) == []


def test_every_image_is_pinned(documents: list[Document]) -> None:
    assert image_problems(documents) == []


def test_secrets_are_only_referenced(documents: list[Document]) -> None:
    assert secret_problems(documents) == []


def test_janus_pods_and_their_settings_agree(documents: list[Document]) -> None:
    assert janus_problems(documents) == []


def test_figures_agree_across_objects(documents: list[Document]) -> None:
    assert sizing_problems(documents) == []


def test_the_checks_find_a_broken_manifest() -> None:
    """Each check reports a manifest broken the way it guards against (so none passes by
    checking nothing)."""
    documents = render("academie")
    app = find(documents, "Deployment", "preau-app")
    container = app["spec"]["template"]["spec"]["containers"][0]

    misspelt = copy.deepcopy(app)
    misspelt["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    assert schema_problems(misspelt, KUBERNETES_VERSIONS[0])
    wrong_type = copy.deepcopy(app)
    wrong_type["spec"]["replicas"] = "three"
    assert schema_problems(wrong_type, KUBERNETES_VERSIONS[0])
    cluster = copy.deepcopy(find(documents, "Cluster", "preau-db"))
    cluster["spec"]["instance"] = 3
    assert schema_problems(cluster, KUBERNETES_VERSIONS[0])
    unknown = {"apiVersion": "example.invalid/v1", "kind": "Gadget", "metadata": {"name": "x"}}
    assert schema_problems(unknown, KUBERNETES_VERSIONS[0])

    unprobed = copy.deepcopy(app)
    del unprobed["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    assert container_problems(unprobed)
    assert disruption_budget_problems([app])
    latest = copy.deepcopy(app)
    latest["spec"]["template"]["spec"]["containers"][0]["image"] = "preau:latest"
    assert image_problems([latest])
    leaked = copy.deepcopy(app)
    leaked["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "PREAU_SECRET_KEY", "value": "x" * 48}
    ]
    assert secret_problems([leaked])
    spelt_out = copy.deepcopy(app)
    spelt_out["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "PREAU_REDIS_URL", "value": "redis://:hunter2@preau-redis:6379/0"}
    ]
    assert secret_problems([spelt_out])
    assert secret_problems([{"kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "dg=="}}])
    assert container["name"] == "app"

    janus_settings = find(documents, "ConfigMap", "janus-settings-")
    janus_settings["data"]["PREAU_JANUS_NODES"] = janus_settings["data"][
        "PREAU_JANUS_NODES"
    ].replace(":8089/", ":8088/")
    assert janus_problems(documents)
    find(documents, "HorizontalPodAutoscaler", "preau-app")["spec"]["maxReplicas"] = 10_000
    assert sizing_problems(documents)
