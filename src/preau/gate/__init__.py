"""The gate: a fair waiting room, rate limits, proof of work and load shedding, as plain
ASGI middleware in front of the whole application (design §4, ``docs/admission.md``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from preau.gate.settings import GateSettings

if TYPE_CHECKING:
    from preau.adapters.shared import Shared
    from preau.asgi import ASGIApp
    from preau.gate.middleware import GateMiddleware
    from preau.gate.samples import GateSamples
    from preau.ports import Clock

__all__ = ["GateSettings", "build_gate"]


def build_gate(
    app: ASGIApp,
    *,
    settings: GateSettings,
    secret_key: str,
    shared: Shared,
    clock: Clock,
    samples: GateSamples | None = None,
) -> GateMiddleware:
    """Wrap ``app`` in the gate, on the shared state and the stores beside it (memory or
    Redis) that the composition root chose; every time the gate reads comes from ``clock``."""
    # Imported here: the adapters import ``preau.gate.store``, so importing them while this
    # package initialises would be circular.
    from preau.gate.assembly import assemble  # noqa: PLC0415 - circular otherwise (above)

    return assemble(
        app, settings=settings, secret_key=secret_key, shared=shared, clock=clock, samples=samples
    )
