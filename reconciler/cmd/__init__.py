"""The `edgio-ingress` commands: `run` and `plan` (:mod:`.run`), `derive` (:mod:`.derive`),
the settings they read (:mod:`.config`) and what they print.
"""
