"""mmcv 1.x's ``Config``, ``ConfigDict`` and ``DictAction``, reading files with runnerkit's config reader.

``Config.fromfile`` reads ``.py``, ``.json``, ``.yaml`` (and ``.toml``) configs through
:func:`runnerkit.config.read_config`: ``_base_`` (a name or a list), ``_delete_`` and
``{{_base_.a.b}}`` references work as in mmcv. ``merge_from_dict`` takes ``--cfg-options``-style
dotted keys (list indices included); ``pretty_text`` and ``dump`` write a ``.py`` config that
reads back to the same values.
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from runnerkit.compat.mmcv.utils._pretty import format_config
from runnerkit.config import BASE_KEY, DELETE_KEY, read_config

__all__ = ["BASE_KEY", "DELETE_KEY", "DEPRECATION_KEY", "Config", "ConfigDict", "DictAction", "add_args"]

DEPRECATION_KEY = "_deprecation_"

RESERVED_KEYS = ("filename", "text", "pretty_text")


def _wrap(value: Any) -> Any:
    """Dicts (also inside lists and tuples) as :class:`ConfigDict`."""
    if isinstance(value, ConfigDict):
        return value
    if isinstance(value, dict):
        return ConfigDict(value)
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(_wrap(v) for v in value)
    return value


def _unwrap(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(_unwrap(v) for v in value)
    return value


class ConfigDict(dict):  # type: ignore[type-arg]
    """A dict whose keys are also attributes (``cfg.model.type``); nested dicts are ConfigDicts.

    A missing key raises ``KeyError`` (``cfg["x"]``) or ``AttributeError`` (``cfg.x``), as mmcv.

    Example:
        >>> cfg = ConfigDict(model=dict(type="ResNet", depth=50))
        >>> cfg.model.depth
        50
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        for key, value in dict(*args, **kwargs).items():
            self[key] = value

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, _wrap(value))

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'") from None

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *(k for k in self if isinstance(k, str))]

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (type(self), (dict(self),))

    def copy(self) -> ConfigDict:
        """A shallow copy (still a ConfigDict)."""
        return type(self)(dict(self))

    def update(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Merge recursively: a dict value updates the dict already there (addict's rule, which mmcv uses)."""
        for key, value in dict(*args, **kwargs).items():
            current = self.get(key)
            if isinstance(current, ConfigDict) and isinstance(value, Mapping):
                current.update(value)
            else:
                self[key] = value

    def to_dict(self) -> dict[str, Any]:
        """A plain-dict deep copy."""
        return _unwrap(self)  # type: ignore[no-any-return]


def add_args(parser: argparse.ArgumentParser, cfg: Mapping[str, Any], prefix: str = "") -> argparse.ArgumentParser:
    """Add a ``--<prefix><key>`` option to ``parser`` for each value of ``cfg`` (nested dicts recursively)."""
    for key, value in cfg.items():
        option = f"--{prefix}{key}"
        if isinstance(value, str):
            parser.add_argument(option)
        elif isinstance(value, bool):
            parser.add_argument(option, action="store_true")
        elif isinstance(value, (int, float)):
            parser.add_argument(option, type=type(value))
        elif isinstance(value, dict):
            add_args(parser, value, f"{prefix}{key}.")
        elif isinstance(value, (list, tuple)) and value:
            parser.add_argument(option, type=type(value[0]), nargs="+")
        else:
            print(f"cannot parse key {prefix}{key} of type {type(value)}")
    return parser


class Config:
    """An mmcv 1.x config: a :class:`ConfigDict` with the file it came from.

    Args:
        cfg_dict: the values (default: none).
        cfg_text: the source text (``Config.text``).
        filename: the file read.

    Example:
        >>> cfg = Config(dict(model=dict(type="ResNet")))
        >>> cfg.merge_from_dict({"model.depth": 50})
        >>> cfg.model
        {'type': 'ResNet', 'depth': 50}
    """

    def __init__(self, cfg_dict: Mapping[str, Any] | None = None, cfg_text: str | None = None,
                 filename: str | Path | None = None) -> None:
        if cfg_dict is None:
            cfg_dict = {}
        elif not isinstance(cfg_dict, Mapping):
            raise TypeError(f"cfg_dict must be a dict, but got {type(cfg_dict).__name__}")
        for key in cfg_dict:
            if key in RESERVED_KEYS:
                raise KeyError(f"{key} is reserved for config file")
        object.__setattr__(self, "_cfg_dict", ConfigDict(cfg_dict))
        object.__setattr__(self, "_filename", None if filename is None else str(filename))
        if cfg_text is None:
            cfg_text = Path(filename).read_text(encoding="utf-8") if filename is not None else ""
        object.__setattr__(self, "_text", cfg_text)

    @staticmethod
    def fromfile(filename: str | Path, use_predefined_variables: bool = True,
                 import_custom_modules: bool = True) -> Config:
        """Read ``filename`` (``_base_`` files merged in); import ``custom_imports`` when it names any.

        Raises:
            runnerkit.ConfigError: the file or one of its bases is missing or unusable.
        """
        loaded = read_config(Path(filename).expanduser())
        texts = [f"{src}\n{src.read_text(encoding='utf-8')}" for src in reversed(loaded.sources)]
        cfg = Config(loaded.data, cfg_text="\n".join(texts), filename=str(Path(filename).expanduser().resolve()))
        custom = loaded.data.get("custom_imports")
        if import_custom_modules and custom:
            from runnerkit.compat.mmcv.utils.misc import import_modules_from_strings

            import_modules_from_strings(**custom)
        return cfg

    @staticmethod
    def _file2dict(filename: str | Path, use_predefined_variables: bool = True) -> tuple[ConfigDict, str]:
        """``(values, text)`` of a config file, ``_base_`` files merged in (mmcv's private helper, used downstream)."""
        cfg = Config.fromfile(filename, import_custom_modules=False)
        return cfg._cfg_dict, cfg.text

    @staticmethod
    def auto_argparser(description: str = "") -> tuple[argparse.ArgumentParser, Config]:
        """A parser with the positional ``config`` and one option per value of that config (:func:`add_args`)."""
        partial = argparse.ArgumentParser(description=description)
        partial.add_argument("config", help="config file path")
        cfg = Config.fromfile(partial.parse_known_args()[0].config)
        parser = argparse.ArgumentParser(description=description)
        parser.add_argument("config", help="config file path")
        add_args(parser, cfg._cfg_dict)
        return parser, cfg

    @staticmethod
    def fromstring(cfg_str: str, file_format: str) -> Config:
        """A config from the text of a ``.py``/``.json``/``.yaml``/``.toml`` file."""
        import tempfile

        if file_format not in (".py", ".json", ".yaml", ".yml", ".toml"):
            raise OSError(f"Only py/yml/yaml/json/toml type are supported now, but got {file_format!r}")
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"config{file_format}"
            path.write_text(cfg_str, encoding="utf-8")
            return Config.fromfile(path)

    @staticmethod
    def _merge_a_into_b(a: Mapping[str, Any], b: Any, allow_list_keys: bool = False) -> Any:
        """``a`` merged into a copy of ``b`` as mmcv merges: dicts recursively, ``_delete_`` replaces,
        a digit key indexes a list of ``b`` when ``allow_list_keys``."""
        b = copy.copy(b)
        for key, value in a.items():
            if allow_list_keys and isinstance(b, list) and isinstance(key, str) and key.isdigit():
                index = int(key)
                if index >= len(b):
                    raise KeyError(f"Index {index} exceeds the length of list {b}")
                b[index] = Config._merge_a_into_b(value, b[index], allow_list_keys) if isinstance(value, dict) else value
            elif isinstance(value, dict):
                value = dict(value)
                if key in b and not value.pop(DELETE_KEY, False):
                    allowed = (dict, list) if allow_list_keys else dict
                    if not isinstance(b[key], allowed):
                        raise TypeError(
                            f"{key}={value} in child config cannot inherit from base because {key} is a dict in the "
                            f"child config but is of type {type(b[key])} in base config. You may set "
                            f"`{DELETE_KEY}=True` to ignore the base config."
                        )
                    b[key] = Config._merge_a_into_b(value, b[key], allow_list_keys)
                else:
                    b[key] = ConfigDict(value)
            else:
                b[key] = value
        return b

    def merge_from_dict(self, options: Mapping[str, Any], allow_list_keys: bool = True) -> None:
        """Merge ``{"model.backbone.depth": 101, "data.train.pipeline.0.type": "X"}`` into this config.

        A dict value is merged into the dict at its key (not replacing it); with ``allow_list_keys``
        a number indexes into a list.

        Raises:
            KeyError: a list index past the end of the list.
            TypeError: a dict value where the config holds something else than a dict (or list).
        """
        nested: dict[str, Any] = {}
        for dotted, value in options.items():
            node = nested
            *parents, last = dotted.split(".")
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = value
        merged = Config._merge_a_into_b(nested, self._cfg_dict, allow_list_keys=allow_list_keys)
        object.__setattr__(self, "_cfg_dict", ConfigDict(merged))

    @property
    def filename(self) -> str | None:
        return self._filename  # type: ignore[no-any-return]

    @property
    def text(self) -> str:
        return self._text  # type: ignore[no-any-return]

    @property
    def pretty_text(self) -> str:
        """The values as a ``.py`` config (``key = value`` lines) that reads back to the same values."""
        return format_config(self._cfg_dict.to_dict())

    def dump(self, file: str | Path | None = None) -> str | None:
        """Write the config to ``file`` (``.py``: :attr:`pretty_text`; ``.json``/``.yaml``/``.pkl`` as data).

        Without ``file``, return the text instead (as ``.py`` when the config came from a ``.py`` file,
        else as JSON/YAML after the file it came from).
        """
        from runnerkit.compat.mmcv.fileio import dump

        data = self._cfg_dict.to_dict()
        if file is None:
            suffix = Path(self.filename).suffix if self.filename else ".py"
            if suffix == ".py":
                return self.pretty_text
            return dump(data, file_format=suffix[1:])  # type: ignore[no-any-return]
        if str(file).endswith(".py"):
            Path(file).write_text(self.pretty_text, encoding="utf-8")
        else:
            dump(data, file)
        return None

    def __repr__(self) -> str:
        return f"Config (path: {self.filename}): {self._cfg_dict!r}"

    def __len__(self) -> int:
        return len(self._cfg_dict)

    def __iter__(self) -> Iterator[str]:
        return iter(self._cfg_dict)

    def __contains__(self, key: object) -> bool:
        return key in self._cfg_dict

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or name in ("_cfg_dict", "_filename", "_text"):
            raise AttributeError(name)
        return getattr(self._cfg_dict, name)

    def __getitem__(self, name: str) -> Any:
        return self._cfg_dict[name]

    def __setattr__(self, name: str, value: Any) -> None:
        self._cfg_dict[name] = value

    def __setitem__(self, name: str, value: Any) -> None:
        self._cfg_dict[name] = value

    def __delattr__(self, name: str) -> None:
        delattr(self._cfg_dict, name)

    def __delitem__(self, name: str) -> None:
        del self._cfg_dict[name]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Config) and self._cfg_dict == other._cfg_dict

    __hash__ = None  # type: ignore[assignment]

    def __getstate__(self) -> tuple[Any, str | None, str]:
        return (self._cfg_dict, self._filename, self._text)

    def __setstate__(self, state: tuple[Any, str | None, str]) -> None:
        cfg_dict, filename, text = state
        object.__setattr__(self, "_cfg_dict", cfg_dict)
        object.__setattr__(self, "_filename", filename)
        object.__setattr__(self, "_text", text)

    def __copy__(self) -> Config:
        other = Config.__new__(Config)
        other.__setstate__((self._cfg_dict, self._filename, self._text))
        return other

    def __deepcopy__(self, memo: dict[int, Any]) -> Config:
        other = Config.__new__(Config)
        memo[id(self)] = other
        other.__setstate__(copy.deepcopy((self._cfg_dict, self._filename, self._text), memo))
        return other


class DictAction(argparse.Action):
    """argparse action: ``--cfg-options KEY=VALUE ...`` into a dict, values parsed as mmcv parses them.

    ``1`` is an int, ``0.5`` a float, ``true``/``false`` (any case) a bool, ``None`` None,
    ``a,b`` and ``[a,b]`` lists, ``(a,b)`` tuples (nested brackets allowed), anything else a string.
    Spaces inside a value are dropped.

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> _ = parser.add_argument("--cfg-options", nargs="+", action=DictAction)
        >>> parser.parse_args(["--cfg-options", "a=1", "b=[1,(2,x)]"]).cfg_options
        {'a': 1, 'b': [1, (2, 'x')]}
    """

    @staticmethod
    def _parse_int_float_bool(val: str) -> Any:
        for convert in (int, float):
            try:
                return convert(val)
            except ValueError:
                pass
        if val.lower() in ("true", "false"):
            return val.lower() == "true"
        if val == "None":
            return None
        return val

    @staticmethod
    def _parse_iterable(val: str) -> Any:
        """``"1,2"`` -> ``[1, 2]``; ``"[(1,2),[a,b]],c"`` -> ``[[(1, 2), ['a', 'b']], 'c']``."""
        val = val.strip("'\"").replace(" ", "")
        is_tuple = False
        if val.startswith("(") and val.endswith(")"):
            is_tuple, val = True, val[1:-1]
        elif val.startswith("[") and val.endswith("]"):
            val = val[1:-1]
        elif "," not in val:
            return DictAction._parse_int_float_bool(val)
        items = [DictAction._parse_iterable(part) for part in _split_top_level(val)] if val else []
        return tuple(items) if is_tuple else items

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[Any] | None, option_string: str | None = None) -> None:
        options = {}
        for item in [values] if isinstance(values, str) else (values or []):
            key, sep, val = str(item).partition("=")
            if not sep:
                parser.error(f"{option_string or self.dest}: expected KEY=VALUE such as `model.depth=50`, got `{item}`")
            options[key] = self._parse_iterable(val)
        setattr(namespace, self.dest, options)


def _split_top_level(text: str) -> list[str]:
    """``text`` split at the commas outside brackets (an empty last part is dropped)."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if start < len(text):
        parts.append(text[start:])
    return parts
