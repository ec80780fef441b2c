"""In-domain generalization benchmark (Schott et al., ICLR 2022): systematic splits, models
and R^2 readouts."""
