"""`python -m seedgen` runs the CLI (also what torchrun -m seedgen needs)."""
from seedgen.cli import main

if __name__ == "__main__":
    main()
