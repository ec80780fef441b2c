"""Shapley attribution for trajectory prediction (Makansi et al., ICLR 2022)."""
