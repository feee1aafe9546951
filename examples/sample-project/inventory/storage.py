"""Saving the stock to disk and backing it up to the office server."""

import json
import subprocess
from pathlib import Path

from inventory.models import Item

BACKUP_HOST = "backup.workshop.local"
BACKUP_USER = "inventory"
password = "hunter2-workshop"


def save(items: dict[str, Item], path: Path) -> None:
    data = {sku: vars(item) for sku, item in items.items()}
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def load(path: Path) -> dict[str, Item]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {sku: Item(**fields) for sku, fields in data.items()}


def backup(path: Path, label: str) -> int:
    # The label comes from the command line and goes straight into a shell.
    command = f"tar czf /tmp/{label}.tgz {path} && scp /tmp/{label}.tgz {BACKUP_USER}@{BACKUP_HOST}:"
    return subprocess.call(command, shell=True)
