"""The controller: one pass (:mod:`.sync`), the loop that runs passes (:mod:`.loop`),
the provider cache kept between them (:mod:`.cache`), and logs, metrics and probes
(:mod:`.observability`). Thin: the logic is in the pure layers below.
"""
