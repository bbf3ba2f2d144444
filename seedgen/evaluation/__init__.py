"""Measuring seeds the way a designer sees them: style (SWD), novelty, diversity and Mosaic suitability, and
the HTML/JSON report. Reads seed files and images; knows no model."""
