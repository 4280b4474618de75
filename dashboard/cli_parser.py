"""The argument parser of the dashboard's command-line tools: a usage error is one ``error:`` line and exit 2."""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

EXIT_ERROR = 2


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"error: {message}", file=sys.stderr)
        sys.exit(EXIT_ERROR)
