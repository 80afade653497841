"""Putting the gate together on the stores the composition root chose (``bootstrap``): the
runtime on the admission store, the credentials, the proof of work and the middleware."""

from __future__ import annotations

from preau.adapters.shared import Shared
from preau.asgi import ASGIApp
from preau.gate.middleware import GateMiddleware
from preau.gate.passes import Credentials
from preau.gate.pow import ProofOfWork
from preau.gate.runtime import GateRuntime
from preau.gate.samples import GateSamples
from preau.gate.settings import GateSettings
from preau.ports import Clock

__all__ = ["assemble"]


def assemble(
    app: ASGIApp,
    *,
    settings: GateSettings,
    secret_key: str,
    shared: Shared,
    clock: Clock,
    samples: GateSamples | None = None,
) -> GateMiddleware:
    return GateMiddleware(
        app,
        settings=settings,
        runtime=GateRuntime(settings, shared.admission, clock=clock, samples=samples),
        credentials=Credentials(secret_key),
        pow=ProofOfWork(secret_key, shared.state),
        shared_limits=shared.gate_limits,
    )
