#!/usr/bin/env bash
# Install the test dependencies (keeping an installed CPU torch) and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import torch" 2>/dev/null || python -m pip install --quiet "torch==2.13.0"
python -m pip install --quiet -e ".[test]"
python -m pytest -q -p no:cacheprovider "$@"
