"""The layered generator: T coloured parametric masks (model), their training (GAN or reconstruction), the
decomposition of one image into fitted layers (a vectorizer with no tracing), and their export as smooth Bezier
contours. Imports the shared pieces and vectorize, never another model family."""
