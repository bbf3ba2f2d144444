"""The patch nearest-neighbour family (GPNN, Granot et al., CVPR 2022): no training, no networks. Its "model" is a
library of seeds, and a new seed is assembled coarse to fine from patches of a few of them."""
