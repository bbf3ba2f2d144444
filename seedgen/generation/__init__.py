"""Making seeds from any trained model: loading it (seed_model), projection for --like/--mix, the uniqueness
index, the contact sheet, and generate_seeds itself, whose options are declared once in config."""
