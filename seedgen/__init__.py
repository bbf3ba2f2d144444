"""seedgen: machine-learned, print-ready vector seed patterns for HP Mosaic."""

__version__ = "0.1.0"
