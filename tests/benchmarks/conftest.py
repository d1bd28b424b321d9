"""The benchmark scripts' folder on sys.path, as when a script runs: `import head_to_head`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
