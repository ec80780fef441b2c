"""Model building blocks shared by several methods (node classifiers used as baselines)."""
