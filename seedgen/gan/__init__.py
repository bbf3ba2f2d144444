"""StyleGAN2-ADA and the DCGAN baseline, split by job as NVlabs' trainer is: ops, networks, loss, ADA, the
training loop, its config, and the reader of official pickles. Imports the shared pieces (checkpoint, image
folder, device, failure), never another model family."""
