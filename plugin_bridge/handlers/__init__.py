"""The bridge's request logic, one module a domain: :mod:`~plugin_bridge.handlers.control` (ping,
status, session defaults, cancel), :mod:`~plugin_bridge.handlers.analysis` (analyze, suggest),
:mod:`~plugin_bridge.handlers.render` (master, mix), :mod:`~plugin_bridge.handlers.daw` (apply),
on the shared :mod:`~plugin_bridge.handlers.session`; :mod:`~plugin_bridge.handlers.router` routes
addresses to them and :mod:`~plugin_bridge.handlers.kinds` lists the job kinds.

Handlers are thin: they check arguments and paths and queue a job; the job's kind runs the library
in a worker. Nothing heavy (librosa, pedalboard, the mastering pipeline) is imported here. The names
below are the ones ``plugin_bridge.handlers`` always offered (the OSC helpers now live in
:mod:`plugin_bridge.protocol`).
"""

from mixai.io.audio import BIT_DEPTHS
from mixai.predict.target import builtin_profiles
from plugin_bridge.handlers.render import mix_available
from plugin_bridge.handlers.router import Bridge
from plugin_bridge.handlers.session import (BRIDGE_OPTION_KEYS, MASTER_OPTION_FIELDS, PREDICTORS, SAMPLE_RATE_RANGE,
                                            SESSION_OPTIONS, Send)
from plugin_bridge.protocol import (MAX_ARGS, MAX_BUNDLE_DEPTH, MAX_BUNDLE_MESSAGES, MAX_ID, MAX_REPLY_BYTES,
                                    MAX_STRING, PREFIX, TYPE_TAGS, BadRequest, Reply, integer, job_id, json_object,
                                    number, parse_message, text, to_json)

__all__ = ["Bridge", "BadRequest", "to_json", "MASTER_OPTION_FIELDS", "SESSION_OPTIONS", "mix_available",
           "BRIDGE_OPTION_KEYS", "PREDICTORS", "BIT_DEPTHS", "SAMPLE_RATE_RANGE", "Send", "builtin_profiles", "PREFIX",
           "MAX_STRING", "MAX_ID", "MAX_ARGS", "MAX_BUNDLE_MESSAGES", "MAX_BUNDLE_DEPTH", "MAX_REPLY_BYTES",
           "TYPE_TAGS", "Reply", "parse_message", "job_id", "text", "integer", "number", "json_object"]
