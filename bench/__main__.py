"""Run every benchmark and print one Markdown table: ``python -m bench [--quick]``."""

from __future__ import annotations

import argparse

from bench import kube_bench, markdown_table

BENCHES = (kube_bench,)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    quick = parser.parse_args().quick
    print(markdown_table([m for bench in BENCHES for m in bench.run(quick)]))


if __name__ == "__main__":
    main()
