"""Custom kernels: kernels/hadamard.py (fast Walsh-Hadamard transform, Triton + pure-torch fallback)."""
