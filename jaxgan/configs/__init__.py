"""Named experiments: one module per experiment, each with `get_config() -> ConfigDict`.

The first line of a module's docstring is the one-line description that `--list` prints.
Modules whose names start with an underscore hold shared pieces and are not experiments.
"""

from __future__ import annotations

import difflib
import importlib
import json
import math
import pkgutil

import ml_collections


def list_experiments() -> dict[str, str]:
    """{experiment name: one-line description}, sorted by name."""
    names = sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))
    return {name: _module(name).__doc__.strip().splitlines()[0] for name in names}


def get_config(name: str) -> ml_collections.ConfigDict:
    """The default config of experiment `name`.

    Raises:
      KeyError: naming the valid experiments, if `name` is not one.
    """
    experiments = list_experiments()
    if name not in experiments:
        hint = did_you_mean(name, experiments)
        raise KeyError(f"unknown experiment {name!r}{hint}; valid experiments: {', '.join(experiments)}")
    config = _module(name).get_config()
    config.experiment = name
    return config


def did_you_mean(name: str, choices) -> str:
    """' (did you mean X?)' for the choice closest to a misspelt `name`, or '' when none is close."""
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _module(name: str):
    return importlib.import_module(f"{__name__}.{name}")


class ConfigError(ValueError):
    """A config jaxgan cannot use: an override that names no key or has a value of the wrong type
    or range, settings that do not go together, data the config names that cannot be read, a
    damaged config.json. (What a run directory's state refuses is `storage.RunStateError`.)"""


def check_seed(config: ml_collections.ConfigDict) -> None:
    """Refuse a seed that JAX's and numpy's generators cannot both take."""
    if not 0 <= config.seed < 2**32:
        raise ConfigError(f"seed must be an integer in 0 .. {2**32 - 1}, got {config.seed}")


def check_number(config: ml_collections.ConfigDict, key: str, *, zero_allowed: bool = False) -> None:
    """Refuse `config.<key>` (dotted) unless it is a finite number above 0 (or at least 0)."""
    value = _value(config, key)
    if not (math.isfinite(value) and (value >= 0 if zero_allowed else value > 0)):
        raise ConfigError(f"{key} must be a finite number {'of at least' if zero_allowed else 'above'} 0, got {value}")


def check_choice(config: ml_collections.ConfigDict, key: str, allowed) -> None:
    """Refuse `config.<key>` (dotted) unless it is one of `allowed` (None means unset)."""
    value = _value(config, key)
    if value not in allowed:
        unset = "none or " if None in allowed else ""
        raise ConfigError(
            f"{key}={value!r}: choose {unset}one of {', '.join(str(c) for c in allowed if c is not None)}"
        )


def _value(config: ml_collections.ConfigDict, key: str):
    value = config
    for part in key.split("."):
        value = value[part]
    return value


def read_json_object(path: str, remedy: str) -> dict:
    """The JSON object jaxgan wrote to `path`; one line (a ConfigError) naming the file, what is
    wrong with it and `remedy` when it is something else: truncated, garbled, a list."""
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path} is not readable JSON ({error}): it was damaged or edited; {remedy}") from None
    except PermissionError as error:
        raise ConfigError(f"{path} cannot be read ({error.strerror}): change its permissions") from None
    if not isinstance(value, dict):
        raise ConfigError(
            f"{path} holds a JSON {type(value).__name__}, not the object jaxgan writes: it was damaged or edited; {remedy}"
        )
    return value


# Values that older jaxgan versions wrote in a run's config.json, and what they mean now.
_FORMER_VALUES = {("train", "unroll_loops"): {True: "true", False: "false"}}
# Settings added since, as dotted paths (* stands for every player's optimizer); a run written
# before them takes its experiment's default, which does what that version did
# (eval.evaluators: the evaluations the run's family then gave; eval.inception_resize: legacy,
# the one resize there was; eval.dinov2_weights: none, so no scores in DINOv2's space; R3GAN's
# model settings: read only by the r3gan players, which came later; the optimizers'
# final_learning_rate 0 and decay over the whole run: the schedules' one ending; no final_b2: a
# constant β₂; no penalty_decay: constant penalty weights; no generator_ema_half_life: the
# average's β from train.generator_ema).
_ADDED_SETTINGS = (
    "eval.evaluators",
    "eval.inception_resize",
    "eval.dinov2_weights",
    "eval.dinov2_resize",
    "model.blocks_per_stage",
    "model.cardinality",
    "model.expansion",
    "optim.*.final_learning_rate",
    "optim.*.decay_iterations",
    "optim.*.final_b2",
    "game.penalty_decay",
    "game.penalty_decay_iterations",
    "train.generator_ema_half_life",
    "train.generator_ema_burn_in",
)


def _fill_added_settings(saved: dict, defaults: dict) -> None:
    """Give `saved` each of _ADDED_SETTINGS it lacks and its defaults have, as JSON reads it."""
    for path in _ADDED_SETTINGS:
        *groups, key = path.split(".")
        places = [(saved, defaults)]
        for group in groups:
            places = [
                (place[name], default[name])
                for place, default in places
                for name in (place if group == "*" else (group,))
                if isinstance(place.get(name), dict) and isinstance(default.get(name), dict)
            ]
        for place, default in places:
            if key not in place and key in default:
                place[key] = json.loads(json.dumps(default[key]))


def read_run_config(path: str) -> ml_collections.ConfigDict:
    """A run's config.json, refused in one line when damaged: not a JSON object, or a setting
    whose type differs from its experiment's default (`"64"` for train.batch_size)."""
    remedy = "correct it, or start a new run"
    saved = read_json_object(path, remedy)
    for (group, key), former in _FORMER_VALUES.items():
        value = saved.get(group, {}).get(key) if isinstance(saved.get(group), dict) else None
        if isinstance(value, bool) and value in former:
            saved[group][key] = former[value]
    experiment = saved.get("experiment")
    if isinstance(experiment, str) and experiment in list_experiments():
        defaults = get_config(experiment).to_dict()
        _fill_added_settings(saved, defaults)
        mismatch = _type_mismatch(saved, defaults)
        if mismatch:
            name, value, expected = mismatch
            raise ConfigError(
                f"{path}: {name} is {json.dumps(value)}, {_a(_json_kind(value))}, where {experiment} has {expected}; "
                f"{remedy}"
            )
    return ml_collections.ConfigDict(saved)


def _type_mismatch(saved: dict, defaults: dict, prefix: str = "") -> tuple[str, object, str] | None:
    """(setting, its value, what its default is) for the first setting in `saved` whose JSON
    type is not its default's; an integer passes for a number."""
    for key, default in defaults.items():
        if key not in saved or default is None or saved[key] is None:
            continue
        value, name = saved[key], f"{prefix}{key}"
        if isinstance(default, dict):
            if not isinstance(value, dict):
                return name, value, "a group of settings"
            found = _type_mismatch(value, default, f"{name}.")
            if found:
                return found
        elif not _same_kind(value, default):
            return name, value, _a(_json_kind(default))
    return None


def _same_kind(value, default) -> bool:
    return _json_kind(value) == _json_kind(default) or (_json_kind(value), _json_kind(default)) == ("integer", "number")


def _a(kind: str) -> str:
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def _json_kind(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, (list, tuple)):
        return "list"
    return "string" if isinstance(value, str) else type(value).__name__


_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def apply_overrides(config: ml_collections.ConfigDict, overrides: list[str]) -> None:
    """Apply `dotted.key=value` overrides in place, parsing each value as the key's type.

    Tuples are written comma-separated (`model.critic_hidden=128,128`); `none` unsets an
    optional value. Raises ConfigError naming the key and the valid choices, or a key set twice.
    """
    seen = {}
    for override in overrides:
        key, sep, text = override.partition("=")
        if not sep or not key:
            raise ConfigError(f"override {override!r} is not of the form dotted.key=value")
        if key in seen:
            raise ConfigError(f"{key} is set twice ({key}={seen[key]}, {key}={text}); set it once")
        seen[key] = text
        parent, leaf = _parent(config, key)
        value_type = parent.get_type(leaf)
        try:
            value = _parse(text, value_type, parent[leaf])
            if value is None and not _is_optional(parent, leaf):
                raise ValueError(text)
            parent[leaf] = value
        except (TypeError, ValueError):
            raise ConfigError(
                f"{key}={text!r}: expected {_type_name(value_type, parent[leaf], _is_optional(parent, leaf))}"
            ) from None


def _parent(config: ml_collections.ConfigDict, key: str):
    node = config
    *path, leaf = key.split(".")
    for depth, part in enumerate(path):
        child = node.get(part) if part in node else None
        if not isinstance(child, ml_collections.ConfigDict):
            raise ConfigError(_unknown_key(key, node, ".".join(path[:depth])))
        node = child
    if leaf not in node or isinstance(node[leaf], ml_collections.ConfigDict):
        raise ConfigError(_unknown_key(key, node, ".".join(path)))
    return node, leaf


def _unknown_key(key: str, node: ml_collections.ConfigDict, prefix: str) -> str:
    valid = _leaf_keys(node, prefix)
    return f"unknown config key {key!r}{did_you_mean(key, valid)}; valid keys here: {', '.join(valid)}"


def _leaf_keys(node: ml_collections.ConfigDict, prefix: str = "") -> list[str]:
    keys = []
    for name in sorted(node.keys()):
        dotted = f"{prefix}.{name}" if prefix else name
        child = node[name]
        keys += _leaf_keys(child, dotted) if isinstance(child, ml_collections.ConfigDict) else [dotted]
    return keys


def _is_optional(node: ml_collections.ConfigDict, leaf: str) -> bool:
    # Optional keys are declared with config_dict.placeholder(type), a FieldReference.
    return isinstance(node._fields[leaf], ml_collections.FieldReference)  # noqa: SLF001


def _parse(text: str, value_type: type, current):
    if text.strip().lower() in ("none", "null"):
        return None
    if value_type is bool:
        if text.strip().lower() not in _BOOLEANS:
            raise ValueError(text)
        return _BOOLEANS[text.strip().lower()]
    if value_type is tuple:
        element_type = type(current[0]) if current else str
        return tuple(_parse(part, element_type, None) for part in text.split(",") if part.strip())
    if value_type is int:
        return int(text)
    if value_type is float:
        return float(text)
    return value_type(text)


def _type_name(value_type: type, current, optional: bool) -> str:
    if value_type is tuple:
        element = type(current[0]).__name__ if current else "str"
        return f"a comma-separated tuple of {element} (current: {','.join(map(str, current))})"
    article = "an" if value_type.__name__[0] in "aeiou" else "a"
    or_none = " or none" if optional else ""
    return f"{article} {value_type.__name__}{or_none} (current: {current})"
