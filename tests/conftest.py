"""Tests run in a non-UTC zone so that naive-time mistakes show up."""

from __future__ import annotations

import os
import time

os.environ["TZ"] = "Pacific/Auckland"
time.tzset()
