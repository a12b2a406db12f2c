"""Structure-aware melody infilling (Tan, Su & Yang 2022): tokens, structure analysis (model to come)."""
