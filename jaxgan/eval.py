"""Evaluate a finished run: python -m jaxgan.eval RUN_DIR

Restores the run's latest checkpoint and computes what the end of training computes (for
image runs, the classifier-based FID, KID and inception score, or Stacked MNIST's modes; for
toy runs, modes, high-quality share and W1), then updates RUN_DIR/summary.json.
"""

from __future__ import annotations

import argparse
import json
import sys

from jaxgan import configs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jaxgan.eval", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="the directory of a run (holds config.json and checkpoints/)")
    args = parser.parse_args(argv)
    from jaxgan import train  # after argument parsing, so --help answers without loading JAX

    try:
        summary = train.evaluate_run(args.run_dir)
    except configs.ConfigError as error:
        print(f"python -m jaxgan.eval: error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
