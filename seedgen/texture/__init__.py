"""The texture family: a periodic spatial GAN (PSGAN) that learns shapes at their own scale from crops, draws seeds
of any size in windows, tiles without a seam, morphs between textures and echoes a guide image (GANosaic).
Imports the shared pieces only, never another model family."""
