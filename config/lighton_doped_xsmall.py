# LightOn's "Doped xsmall" (Table 2 of "Is the number of trainable parameters all that actually matters?"): "Doped
# small" (lighton_doped_small.py, whose set-up it shares) with 5 layers instead of 11.
#   torchrun --standalone --nproc_per_node=8 train.py config/lighton_doped_xsmall.py
include('config/lighton_doped_small.py')
out_dir = 'out-lighton-doped-xsmall'
n_layer = 5
