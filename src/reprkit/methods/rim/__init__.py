"""RIM: recurrent intensity modelling for recommendation and audience targeting (Ma et al.,
ICLR 2022). In progress: constrained matching (``matching``) so far."""
