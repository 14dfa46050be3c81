"""What jaxgan's command lines share: usage errors in one line."""

from __future__ import annotations

import argparse


class OneLineParser(argparse.ArgumentParser):
    """argparse whose errors are one line on stderr and exit status 2, like jaxgan's own."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")
