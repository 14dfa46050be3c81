"""Where a run's config goes: the jaxgan functions that receive it, and the calls back up.

    python experiments/config_walk.py [--exp dcgan_mnist] [--set KEY=VALUE ...]

Trains `--exp` for 2 tiny iterations (`train.train_and_evaluate`, written to a temporary
directory) under a profile hook and follows its config: a *stay* is a jaxgan function called
with the config, or a part of it (a ConfigDict it holds), among its arguments; a *climb back
up* is a stay called from a function whose module was itself called, further down the stack,
from the callee's module (a callback: train -> checkpoint -> train). Prints the functions by
file, then the counts: distinct functions, files, and distinct (caller, callee) climbs.
"""

from __future__ import annotations

import argparse
import collections
import inspect
import os
import sys
import tempfile

import ml_collections

from jaxgan import configs, train

TINY_IMAGES = (
    "model.generator_width=4",
    "model.critic_width=4",
    "train.batch_size=8",
    "train.steps=2",
    "train.steps_per_call=2",
    "train.checkpoint_every=2",
    "eval.every=2",
    "eval.samples=40",
    "eval.classifier_steps=5",
    "parallel.devices=1",
)
PACKAGE = os.path.dirname(os.path.abspath(train.__file__))


def config_parts(config: ml_collections.ConfigDict) -> set[int]:
    """The ids of the config and of every ConfigDict inside it."""
    parts, stack = set(), [config]
    while stack:
        node = stack.pop()
        parts.add(id(node))
        stack.extend(value for value in node.values() if isinstance(value, ml_collections.ConfigDict))
    return parts


def walk(config: ml_collections.ConfigDict, run_dir: str) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(stays, climbs): the (file, function) pairs that received the config, and the distinct
    (caller, callee) calls among them that climb back up, while `run_dir` trains."""
    parts, stays, climbs = config_parts(config), set(), set()

    def place(frame) -> tuple[str, str] | None:
        path = frame.f_code.co_filename
        if not path.startswith(PACKAGE):
            return None
        return os.path.relpath(path, os.path.dirname(PACKAGE)), frame.f_code.co_qualname

    def holds_config(frame) -> bool:
        arguments = inspect.getargvalues(frame)
        return any(id(arguments.locals.get(name)) in parts for name in arguments.args)

    def hook(frame, event, _):
        if event != "call" or (callee := place(frame)) is None or not holds_config(frame):
            return
        stays.add(callee)
        modules_below = []  # the jaxgan modules on the stack, innermost first
        caller = frame.f_back
        while caller is not None:
            if (where := place(caller)) is not None:
                modules_below.append(where)
            caller = caller.f_back
        if modules_below and modules_below[0][0] != callee[0]:
            if callee[0] in [module for module, _ in modules_below[1:]]:
                climbs.add((modules_below[0], callee))

    sys.setprofile(hook)
    try:
        train.train_and_evaluate(config, run_dir, progress=False)
    finally:
        sys.setprofile(None)
    return stays, climbs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exp", default="dcgan_mnist")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    config = configs.get_config(args.exp)
    configs.apply_overrides(config, [*TINY_IMAGES, *args.overrides])
    config.experiment = args.exp
    with tempfile.TemporaryDirectory() as run_dir:
        stays, climbs = walk(config, run_dir)
    by_file = collections.defaultdict(list)
    for path, function in sorted(stays):
        by_file[path].append(function)
    for path, functions in by_file.items():
        print(f"{path}: {', '.join(functions)}")
    for (caller_path, caller), (callee_path, callee) in sorted(climbs):
        print(f"climbs back up: {caller_path}:{caller} -> {callee_path}:{callee}")
    print(f"{args.exp}: {len(stays)} stays in {len(by_file)} files, {len(climbs)} climbs back up")


if __name__ == "__main__":
    main()
