"""Property-based fuzzing of every operation in the OpenAPI document (schemathesis): requests
that fit the schema and requests that do not, sent in-process as an admin with a real token to
a database holding a small demo shop and a trained model. No answer may be a 5xx, and every
4xx must be the {"error", "details"} body.

RELEVO_FUZZ_EXAMPLES sets the examples per operation and per kind (fitting, not fitting);
RELEVO_FUZZ_SEED picks other examples than the fixed ones of the suite (see DEVELOPERS.md)."""

import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass

import hypothesis
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck
from schemathesis import APIOperation, Case, GenerationMode
from starlette.types import Receive, Scope, Send

from relevo.accounts.models import Account, Role
from tests.recommend.shop import DemoShop, train

EXAMPLES = int(os.environ.get("RELEVO_FUZZ_EXAMPLES", "8"))
SEED = os.environ.get("RELEVO_FUZZ_SEED")


class WithoutLifespan:
    """The app as schemathesis calls it: its lifespan is the test client's, already running."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":  # declining the lifespan scope tells the caller it has none
            await self.app(scope, receive, send)


@dataclass
class Finding:
    operation: str
    status: int
    body: str
    reproduce: str

    def __str__(self) -> str:
        return f"{self.operation} answered {self.status}: {self.body[:300]}\n  {self.reproduce}"


def problem_with(status: int, body: object) -> str | None:
    if status >= 500:
        return "a server error"
    if status >= 400 and not (isinstance(body, dict) and {"error", "details"} <= set(body)):
        return "an error without {error, details}"
    return None


def run_examples(operation: APIOperation, mode: GenerationMode, visit: Callable[[Case], None]) -> None:
    """Calls `visit` with EXAMPLES cases of `operation` that fit its schema or not (`mode`):
    the same cases every run unless RELEVO_FUZZ_SEED says otherwise."""

    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=SEED is None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],  # findings are listed, not shrunk
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Case) -> None:
        visit(case)

    if SEED is not None:
        run = hypothesis.seed(int(SEED))(run)
    with contextlib.suppress(hypothesis.errors.Unsatisfiable):  # no parameters: nothing not to fit
        run()


def test_no_operation_answers_a_server_error_or_a_shapeless_error(
    app: FastAPI,
    client: TestClient,
    shop: DemoShop,
    make_account: Callable[..., Account],
    auth: Callable[[Account], dict[str, str]],
) -> None:
    # The only admin: the last active admin cannot be demoted or switched off, so no request the
    # fuzzer makes can lock it out; a fresh token per request outlives a password change.
    admin = make_account(Role.admin)
    train(client, auth(admin))
    schema = schemathesis.openapi.from_asgi("/openapi.json", WithoutLifespan(app))
    operations = [result.ok() for result in schema.get_all_operations()]
    findings: list[Finding] = []
    cases = 0

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            def visit(case: Case, operation: APIOperation = operation, mode: GenerationMode = mode) -> None:
                nonlocal cases
                headers = auth(admin)
                response = case.call(headers=headers)
                cases += 1
                try:
                    body = response.json()
                except ValueError:
                    body = None
                problem = problem_with(response.status_code, body)
                if problem is not None:
                    where = f"{operation.method.upper()} {operation.path} ({mode}, {problem})"
                    reproduce = case.as_curl_command(headers=headers)
                    findings.append(Finding(where, response.status_code, response.text, reproduce))

            run_examples(operation, mode, visit)

    print(f"fuzzed {len(operations)} operations with {cases} cases: {len(findings)} findings")
    assert len(operations) > 70  # every route of the app is in the document
    assert not findings, "\n".join(str(finding) for finding in findings)
