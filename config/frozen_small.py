# The embeddings-only baseline: every matrix of the blocks frozen at its random init; only the embeddings,
# the head and the norms train. What any variant must beat to have learned something in its blocks.
#   python train.py config/frozen_small.py
out_dir = 'out-frozen-small'
linear = 'frozen'
