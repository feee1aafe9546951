"""Command line: `inventory report|backup FILE`."""

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

from inventory import reports, storage


def main(argv=None):
    parser = argparse.ArgumentParser(prog="inventory")
    parser.add_argument("command", choices=["report", "backup"])
    parser.add_argument("file", type=Path)
    parser.add_argument("--label", default="nightly")
    args = parser.parse_args(argv)
    items = storage.load(args.file)
    if args.command == "report":
        print(reports.to_csv(list(items.values())))
        return 0
    status = storage.backup(args.file, args.label)
    if status != 0:
        logger.error("backup failed with status %s", status)
    return status
