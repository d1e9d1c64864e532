"""Settings as data: the base of every configuration dataclass, and command-line options made from
its fields.

A configuration is a frozen dataclass of ``setting`` fields, each with its help text. ``from_dict``
refuses fields it does not know (files older than a field still load: ``bilateral.compat`` fills
what they lack with what the code did then), and ``add_options``/``from_options`` turn the fields
into command-line options, so that every field is settable and nothing is declared twice.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import types
import typing
from dataclasses import field


def check_choice(name: str, value, choices) -> None:
    """A ValueError naming the setting and its choices when ``value`` is not one of them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


def setting(default, help: str, **metadata):
    """A dataclass field with its help text (shown by ``--help`` and in field listings)."""
    if isinstance(default, dict | list):
        return field(default_factory=lambda: json.loads(json.dumps(default)), metadata={"help": help, **metadata})
    return field(default=default, metadata={"help": help, **metadata})


class Settings:
    """What every configuration dataclass can do: be read from a dict strictly, listed, checked."""

    def validated(self):
        """Check the values; return ``self`` (a ValueError names the first bad setting)."""
        return self

    @classmethod
    def from_dict(cls, values: dict):
        """A configuration read from a file: unknown fields are refused; missing ones, written before
        they existed, take what the code did then (``bilateral.compat.upgrade_config``), else their
        default."""
        from bilateral.compat import upgrade_config

        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown {cls.__name__} fields {sorted(unknown)}; the fields are {sorted(known)}")
        return cls.make(upgrade_config(cls.__name__, values))

    @classmethod
    def make(cls, values: dict):
        """A configuration of ``values`` (missing fields take their default), checked."""
        return cls(
            **{k: tuple(v) if isinstance(v, list) and _is_tuple(cls, k) else v for k, v in values.items()}
        ).validated()

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def resumable(cls) -> tuple[str, ...]:
        """The fields a run may change when it resumes (marked ``resumable``): how it runs, not what
        it computes."""
        return tuple(f.name for f in dataclasses.fields(cls) if f.metadata.get("resumable"))

    def changed_from(self, saved: dict) -> list[str]:
        """The fields, other than ``resumable`` ones, in which this configuration differs from
        ``saved`` (a run's recorded one, as a dict, upgraded as ``from_dict`` does):
        what forbids resuming that run with this one."""
        current, saved = self.to_dict(), type(self).from_dict(saved).to_dict()
        return sorted(k for k in saved if saved[k] != current.get(k) and k not in self.resumable())

    def replace(self, **changes):
        return dataclasses.replace(self, **changes).validated()


def _is_tuple(cls, name: str) -> bool:
    hint = typing.get_type_hints(cls)[name]
    return typing.get_origin(hint) is tuple


# -- command-line options from the fields -------------------------------------------------------
def _boolean(text: str) -> bool:
    """A yes/no option's value: true/false, yes/no or 1/0 (anything else is refused)."""
    if text.lower() in ("1", "true", "yes"):
        return True
    if text.lower() in ("0", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


class _Null:
    """An option given as 'none' or 'null': sets its field to None, where an option left out (None in
    the parsed arguments) keeps the preset's value."""

    def __repr__(self) -> str:
        return "none"


NULL = _Null()


def _parser_type(hint):
    """The argparse ``type`` of a field's annotation (``int | None`` takes 'none' too)."""
    if typing.get_origin(hint) is tuple:
        return typing.get_args(hint)[0]
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType) and str in args:
        return str  # e.g. a budget, given by name
    optional = typing.get_origin(hint) in (typing.Union, types.UnionType) and type(None) in args
    base = next(a for a in args if a is not type(None)) if optional else hint
    if base is dict:
        return json.loads
    if base is bool:
        return _boolean
    if optional:
        return lambda text: NULL if text.lower() in ("none", "null") else base(text)
    return base


def add_options(
    parser: argparse.ArgumentParser,
    cls,
    *,
    skip: tuple[str, ...] = (),
    group: str | None = None,
    defaults: dict | None = None,
) -> None:
    """An option ``--field-name`` for every field of ``cls`` (parsed default None: the preset's or the
    dataclass's value), with the field's help and choices. ``defaults`` are the values that will be
    used when an option is left out (a preset's), shown in the help in place of the dataclass's."""
    target = parser.add_argument_group(group) if group else parser
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip or any(a.dest == f.name for a in parser._actions):
            continue
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        default = (defaults or {}).get(f.name, default)
        several = typing.get_origin(hints[f.name]) is tuple
        text = f"{f.metadata.get('help', '')} (default: {_shown(default)})"
        target.add_argument(
            f"--{f.name.replace('_', '-')}",
            dest=f.name,
            type=_parser_type(hints[f.name]),
            choices=f.metadata.get("choices"),
            nargs="+" if several else None,
            default=None,
            metavar=None
            if f.metadata.get("choices")
            else f.name.upper().removesuffix("S")
            if several
            else f.name.upper(),
            help=text.replace("%", "%%"),  # argparse formats help with %
        )


def _shown(default) -> str:
    if isinstance(default, tuple | list):
        return " ".join(map(str, default))
    if isinstance(default, Settings):
        return getattr(default, "name", type(default).__name__)
    return json.dumps(default)


def from_options(args: argparse.Namespace, cls) -> dict:
    """The fields of ``cls`` given on the command line (those left at None are not; one given as
    'none' is None)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: None if v is NULL else v for k, v in vars(args).items() if k in names and v is not None}
