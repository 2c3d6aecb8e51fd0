"""``ember-demo``: the command-line entry point of the examples."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ember-demo", description="ember's runnable examples")
    sub = parser.add_subparsers(dest="example", required=True)
    from ember.examples import digits

    digits.add_arguments(sub.add_parser("digits", help="train a small CNN on scikit-learn's digits"))
    args = parser.parse_args(argv)
    if args.example == "digits":
        return digits.run(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
