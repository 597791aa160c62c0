"""Kubeconfig parsing: what users paste, and what is refused."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import yaml

from app.errors import BadUserInput
from app.k8s.kubeconfig import ClusterConnection, parse_kubeconfig
from kubesim.kubeconfig import kubeconfig

CA = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def two_contexts() -> dict[str, Any]:
    config = kubeconfig("prod", "https://prod.example.com:6443", "tok-prod", CA)
    config["clusters"].append({"name": "dev", "cluster": {"server": "http://127.0.0.1:8080",
                                                          "insecure-skip-tls-verify": True}})
    config["users"].append({"name": "dev-user", "user": {
        "client-certificate-data": base64.b64encode(b"-----BEGIN CERTIFICATE-----\nC\n").decode(),
        "client-key-data": base64.b64encode(b"-----BEGIN EC PRIVATE KEY-----\nK\n").decode()}})
    config["contexts"].append({"name": "dev", "context": {"cluster": "dev", "user": "dev-user"}})
    return config


def problem(text: str) -> BadUserInput:
    with pytest.raises(BadUserInput) as caught:
        parse_kubeconfig(text).connection()
    assert caught.value.details[0]["field"] == "kubeconfig"
    return caught.value


def test_yaml_contexts_and_connection() -> None:
    parsed = parse_kubeconfig(yaml.safe_dump(two_contexts()))
    assert [(c.name, c.server, c.namespace, c.auth) for c in parsed.contexts] == [
        ("prod", "https://prod.example.com:6443", "default", "token"),
        ("dev", "http://127.0.0.1:8080", "default", "client-certificate"),
    ]
    assert parsed.current_context == "prod"
    prod = parsed.connection()
    assert (prod.server, prod.token, prod.ca_data, prod.insecure_skip_tls_verify) == (
        "https://prod.example.com:6443", "tok-prod", CA.decode(), False)
    dev = parsed.connection("dev")
    assert dev.token is None and dev.insecure_skip_tls_verify and dev.context == "dev"
    assert dev.client_cert_data and dev.client_cert_data.startswith("-----BEGIN CERTIFICATE-----")
    assert dev.client_key_data and "PRIVATE KEY" in dev.client_key_data


def test_base64_of_the_yaml_is_accepted() -> None:
    text = yaml.safe_dump(two_contexts())
    for encoded in (base64.b64encode(text.encode()).decode(), base64.urlsafe_b64encode(text.encode()).decode(),
                    base64.encodebytes(text.encode()).decode()):
        assert parse_kubeconfig(encoded).connection("dev").server == "http://127.0.0.1:8080"


def test_connection_round_trips_json() -> None:
    for name in ("prod", "dev"):
        connection = parse_kubeconfig(yaml.safe_dump(two_contexts())).connection(name)
        assert ClusterConnection.from_json(connection.to_json()) == connection
    assert "tok-prod" not in repr(parse_kubeconfig(yaml.safe_dump(two_contexts())).connection())


def test_bad_yaml_names_the_line() -> None:
    text = "apiVersion: v1\nclusters:\n- name: a\n  cluster: {server: http://x\nusers: []\n"
    error = problem(text)
    assert "line 5" in error.message and error.details[0]["line"] == 5


def test_exec_and_auth_provider_plugins_are_refused() -> None:
    config = two_contexts()
    config["users"][0]["user"] = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "aws"}}
    parsed = parse_kubeconfig(yaml.safe_dump(config))
    assert parsed.contexts[0].auth == "exec"
    with pytest.raises(BadUserInput, match="exec plugin"):
        parsed.connection("prod")
    assert parsed.connection("dev").server  # the other context stays usable
    config["users"][0]["user"] = {"auth-provider": {"name": "gcp"}}
    assert "auth-provider plugin" in problem(yaml.safe_dump(config)).message


def test_files_on_our_disk_are_refused() -> None:
    config = two_contexts()
    config["users"][0]["user"] = {"tokenFile": "/var/run/secrets/token"}
    assert "token file" in problem(yaml.safe_dump(config)).message
    config = two_contexts()
    config["clusters"][0]["cluster"]["certificate-authority"] = "/etc/ssl/ca.pem"
    assert "CA file" in problem(yaml.safe_dump(config)).message


@pytest.mark.parametrize(("text", "message"), [
    ("", "is empty"),
    ("just a string", "is not a kubeconfig"),
    (base64.b64encode(b"\x00\xff").decode(), "is not a kubeconfig"),
    ("- a\n- b\n", "is not a kubeconfig"),
    ("apiVersion: v1\nkind: Config\n", "has no clusters"),
    ("%%%: [", "invalid YAML"),
])
def test_malformed(text: str, message: str) -> None:
    assert message in problem(text).message


def test_dangling_references_and_unknown_context() -> None:
    config = two_contexts()
    config["contexts"][0]["context"]["cluster"] = "nowhere"
    assert "unknown cluster 'nowhere'" in problem(yaml.safe_dump(config)).message
    config = two_contexts()
    config["clusters"][0]["cluster"]["server"] = "ftp://x"
    assert "not an http(s) URL" in problem(yaml.safe_dump(config)).message
    with pytest.raises(BadUserInput, match="context 'staging' not found"):
        parse_kubeconfig(yaml.safe_dump(two_contexts())).connection("staging")
