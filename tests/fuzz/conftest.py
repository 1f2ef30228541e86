"""Response fuzzing: the fault kit's wire rows and the vendor-schema strategies are importable from here."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "faults"))
