"""S-09: schemathesis over the whole OpenAPI document, from the ASGI app, on PostgreSQL.

Every operation gets a fixed-seed batch of generated requests, sent once as user A and once as
user B (each with its own bearer token and the tenant header, so the requests reach the code
behind authentication instead of stopping at 401). For every response: no server error, the
status code is one the operation documents, the body and headers conform to the schema, and no
5xx body reveals a stack trace, SQL or a secret. Failures are collected over the whole run and
reported together, one line per operation and check, so one broken route does not hide another.

Each operation's documented examples are sent too. The PR run keeps to 25 examples per
operation; the long run sends 100, and 100 more per operation in schemathesis's negative mode
(requests that break the schema: still no server error, and only documented refusals).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import create_pg_database, drop_pg_database
from tests.e2e.api_server import GENEROUS_LIMITS, PASSWORD, TEST_SECRET, unique_identity
from walletbridge.adapters.db.migrate import upgrade
from walletbridge.bootstrap import Container, build
from walletbridge.config import Environment, Settings
from walletbridge.domain.actors import RequestContext
from walletbridge.domain.ledger import TenantId
from walletbridge.domain.money import Money
from walletbridge.domain.wallets import default_configuration
from walletbridge.entrypoints.api.app import create_app
from walletbridge.services.demo import seed_demo

SCHEMA_PATH = "/api/schema/openapi.json"
PR_EXAMPLES = 25
LONG_EXAMPLES = 100
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
LEAKS = re.compile(
    r"Traceback|File \"|line \d+, in|\bSELECT\b|\bINSERT\b|\bUPDATE\b|psycopg|sqlalchemy|"
    r"sqlite3|\$argon2|" + re.escape(TEST_SECRET),
    re.IGNORECASE,
)


@dataclass
class Identity:
    name: str
    tenant_id: str
    token: str


@dataclass
class FuzzTarget:
    app: Any
    container: Container
    schema: Any
    users: dict[str, Identity]


def settings_for_fuzz(url: str, var_dir: Path) -> Settings:
    limits = {
        key.removeprefix("WALLETBRIDGE_").lower(): int(v) for key, v in GENEROUS_LIMITS.items()
    }
    return Settings(
        environment=Environment.TEST,
        database_url=url,
        var_dir=var_dir,
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        database_pool_size=10,
        **limits,
    )


def register_and_log_in(container: Container, tenant_id: str) -> str:
    """A verified customer with a funded wallet, logged in; returns the bearer token."""
    handle, email, phone = unique_identity()
    tenant = TenantId(tenant_id)
    user = container.identity.register_verified(
        tenant,
        handle=handle,
        display_name=f"Fuzz {handle}",
        password=PASSWORD,
        email=email,
        phone=phone,
    )
    euros = Money(100_000, container.currencies.get("EUR"))
    container.wallets.fund_wallet(tenant, user.user_id, euros, f"fund-{handle}")
    result = container.identity.login(tenant, handle, PASSWORD, RequestContext())
    assert result.token is not None
    return result.token.access_token


@pytest.fixture(scope="module")
def target(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzTarget]:
    del postgres_url  # asked for so that CI fails (and elsewhere skips) without PostgreSQL
    url = create_pg_database("wb_e2e_fuzz")
    container = build(settings_for_fuzz(url, tmp_path_factory.mktemp("fuzz")))
    try:
        upgrade(container.engine)
        seed_demo(container)  # the demo routes answer 200 only once it exists
        app = create_app(container)
        schema = schemathesis.openapi.from_asgi(SCHEMA_PATH, app)
        tenant = f"t-{secrets.token_hex(6)}"
        container.tenants.create(tenant, "Fuzz bank", "EUR")
        euros = container.currencies.get("EUR")
        container.wallets.configure_tenant(TenantId(tenant), default_configuration(euros))
        # B lives in the same tenant as A: the interesting case for object-level access.
        users = {
            "A": Identity("A", tenant, register_and_log_in(container, tenant)),
            "B": Identity("B", tenant, register_and_log_in(container, tenant)),
        }
        yield FuzzTarget(app, container, schema, users)
    finally:
        asgi.shutdown_lifespans()
        container.close()
        drop_pg_database(url)


def leaks_in_server_error(response: Any) -> str | None:
    if response.status_code < 500:
        return None
    found = LEAKS.search(response.text)
    return found.group(0) if found else None


def fuzz_operation(
    operation: Any,
    identity: Identity,
    examples: int,
    failures: list[str],
    mode: GenerationMode = GenerationMode.POSITIVE,
) -> None:
    """Send ``examples`` generated requests to one operation; record every failed check."""
    overrides = {"Authorization": f"Bearer {identity.token}", "X-Tenant-ID": identity.tenant_id}
    # Generated cases, and the operation's own documented examples.
    strategies = [operation.as_strategy(generation_mode=mode)]
    if mode is GenerationMode.POSITIVE:
        strategies += operation.schema.get_strategies_from_examples(operation)

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=st.one_of(*strategies))
    def run(case: Any) -> None:
        case.headers = {**(case.headers or {}), **overrides}
        try:
            response = case.call()
        except Exception as error:  # a transport failure is an unhandled app error
            failures.append(f"{operation.label} [{identity.name}]: {type(error).__name__}: {error}")
            return
        leak = leaks_in_server_error(response)
        if leak is not None:
            failures.append(f"{operation.label} [{identity.name}]: 5xx body reveals {leak!r}")
        try:
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as error:
            lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
            kinds = sorted({line for line in lines if line.startswith("- ")})
            example = next((line for line in lines if line.startswith("`{")), "")[:300]
            failures.append(
                f"{operation.label} [{identity.name}] {response.status_code} {kinds}: {example}"
            )

    try:
        run()
    except Unsatisfiable:
        # An operation that takes nothing (GET /health) has no invalid request to make.
        if mode is GenerationMode.POSITIVE:
            raise


def fuzz_everything(
    target: FuzzTarget,
    identity: Identity,
    examples: int,
    mode: GenerationMode = GenerationMode.POSITIVE,
) -> list[str]:
    failures: list[str] = []
    operations = 0
    for result in target.schema.get_all_operations():
        operation = result.ok()
        operations += 1
        fuzz_operation(operation, identity, examples, failures, mode)
    assert operations > 0
    return sorted(set(failures))


def report(failures: list[str]) -> str:
    """One line per operation, status and failed check (with one example body)."""
    first: dict[str, str] = {}
    for failure in failures:
        first.setdefault(failure.split(": ", 1)[0], failure)
    return f"{len(failures)} failing example(s):\n" + "\n".join(sorted(first.values()))


def test_every_operation_has_a_documented_example_and_responses(target: FuzzTarget) -> None:
    document = target.schema.raw_schema
    missing = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            if not path.startswith("/api/v1") or path.startswith("/api/v1/demo"):
                continue
            label = f"{method.upper()} {path}"
            for needed in ("summary", "description", "tags"):
                if not operation.get(needed):
                    missing.append(f"{label}: no {needed}")
            if not any(
                int(code) >= 400 for code in operation.get("responses", {}) if code.isdigit()
            ):
                missing.append(f"{label}: no documented error response")
    assert missing == [], "\n".join(missing)


@pytest.mark.parametrize("who", ["A", "B"])
def test_the_schema_fuzz_finds_no_server_error_and_no_schema_violation(
    target: FuzzTarget, who: str
) -> None:
    failures = fuzz_everything(target, target.users[who], PR_EXAMPLES)

    assert failures == [], report(failures)


@pytest.mark.long
@pytest.mark.parametrize("who", ["A", "B"])
def test_the_long_schema_fuzz_finds_nothing_either(target: FuzzTarget, who: str) -> None:
    failures = fuzz_everything(target, target.users[who], LONG_EXAMPLES)

    assert failures == [], report(failures)


@pytest.mark.long
def test_invalid_requests_never_cause_a_server_error(target: FuzzTarget) -> None:
    """Negative generation: bodies, parameters and headers that break the schema, under the same
    checks (every refusal is a documented status with a documented body)."""
    failures = fuzz_everything(target, target.users["A"], LONG_EXAMPLES, GenerationMode.NEGATIVE)

    assert failures == [], report(failures)
