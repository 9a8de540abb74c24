"""mixai-bridge: an OSC (Open Sound Control) bridge between DAWs / patchers and mixai.

Run ``mixai-bridge --root ~/Music`` (or ``python -m plugin_bridge``); send ``/mixai/ping`` to UDP
port 9000 and the bridge answers ``/mixai/pong <version>`` on port 9001 of the sender's host. The
whole address space is documented in ``docs/osc.md``.

Modules: :mod:`plugin_bridge.server` (UDP loop, reply sending, signals), :mod:`plugin_bridge.protocol`
(OSC parsing and encoding, argument checks), :mod:`plugin_bridge.handlers` (one module a domain,
routed by :mod:`plugin_bridge.handlers.router`; pure, testable in-process), :mod:`plugin_bridge.pool`
(the worker-process pool), :mod:`plugin_bridge.worker` (the worker process), :mod:`plugin_bridge.job`
(jobs and job kinds), :mod:`plugin_bridge.paths` (root confinement) and :mod:`plugin_bridge.daw`
(Reaper, Ardour and generic adapters). Importing this package is cheap: nothing heavy (librosa,
pedalboard) is loaded into the server process.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
