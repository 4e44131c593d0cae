"""Where things live and who is acting: paths, the settings file, environment variables.

Precedence, highest first: command-line options, environment variables (CRM_DB, CRM_USER,
CRM_REGION, CRM_FORMAT), the settings file, built-in defaults. CRM_HOME moves every
per-user file (settings, default database, attachments) under one folder, which is how
tests and throwaway setups keep away from a real home.
"""

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from crmcli.errors import UsageError

DEFAULT_REGION = "CN"


def config_dir() -> Path:
    home = os.environ.get("CRM_HOME")
    if home:
        return Path(home)
    import platformdirs

    return Path(platformdirs.user_config_dir("crmcli", appauthor=False))


def data_dir() -> Path:
    home = os.environ.get("CRM_HOME")
    if home:
        return Path(home)
    import platformdirs

    return Path(platformdirs.user_data_dir("crmcli", appauthor=False))


def state_dir() -> Path:
    """Where crmcli leaves what it reports about itself (the dashboard's crash reports)."""
    home = os.environ.get("CRM_HOME")
    if home:
        return Path(home)
    import platformdirs

    return Path(platformdirs.user_state_dir("crmcli", appauthor=False))


def config_path() -> Path:
    return config_dir() / "config.toml"


def load_file() -> dict:
    path = config_path()
    if not path.exists():
        return {}
    try:
        with path.open("rb") as handle:
            values = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"cannot read the settings file {path}: {error}") from None
    for key in ("db", "region"):
        if not isinstance(values.get(key, ""), str):
            raise UsageError(f"{path}: {key} must be a string")
    if not isinstance(values.get("users", {}), dict):
        raise UsageError(f"{path}: users must be a table of database path = handle")
    return values


def save_file(values: dict) -> None:
    import tomli_w

    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(tomli_w.dumps(values), encoding="utf-8")
    temporary.replace(path)


@dataclass(frozen=True)
class Settings:
    """What a command needs to know before it touches data. `user` is who acts (--as,
    CRM_USER or the settings file); `remembered` is the user `crm init` remembered for
    this database, if any (acting as someone else is an admin's, `users.check_acting_as`)."""

    db_path: Path
    user: str | None
    region: str
    remembered: str | None = None


def resolve(db: str | None = None, acting_as: str | None = None) -> Settings:
    values = load_file()
    db_text = db or os.environ.get("CRM_DB") or values.get("db")
    db_path = Path(db_text).expanduser() if db_text else data_dir() / "crm.db"
    db_path = db_path.absolute()
    remembered = values.get("users", {}).get(str(db_path)) or None
    user = acting_as or os.environ.get("CRM_USER") or remembered
    region = os.environ.get("CRM_REGION") or values.get("region") or DEFAULT_REGION
    return Settings(db_path=db_path, user=user, region=region.upper(), remembered=remembered)


def remember_user(db_path: Path, handle: str) -> None:
    """Record `handle` as the acting user for this database in the settings file."""
    values = load_file()
    values.setdefault("users", {})[str(db_path)] = handle
    save_file(values)


def count_setting(variable: str, default: int) -> int:
    """A positive whole number from the environment variable `variable` (a tuning knob, such
    as CRM_SYNC_BATCH), or `default` when it is unset. Anything else is refused, not
    ignored: a typo would otherwise run with a size the user did not ask for."""
    given = os.environ.get(variable, "").strip()
    if not given:
        return default
    if not (given.isascii() and given.isdigit() and int(given) > 0):
        raise UsageError(f"{variable} must be a positive whole number, not {given!r}")
    return int(given)
