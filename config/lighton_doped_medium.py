# LightOn's "Doped medium" (Table 2 of "Is the number of trainable parameters all that actually matters?"): "Doped
# small" (lighton_doped_small.py, whose set-up it shares) at 23 layers, d_model 1024, 16 heads, Adam lr 3e-4.
#   torchrun --standalone --nproc_per_node=8 train.py config/lighton_doped_medium.py
include('config/lighton_doped_small.py')
out_dir = 'out-lighton-doped-medium'
n_layer = 23
n_embd = 1024
n_head = 16
learning_rate = 3e-4
lr_decay_iters = 499268            # 40.9G tokens
