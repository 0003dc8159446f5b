# LightOn-style doping at CPU scale: the default model's width with 5 layers, T F T F T (3 trainable
# transformer blocks, 2 frozen random MLPs of width 6 x 128 regenerated from seeds). Compare with
# config/frozen_small.py and the dense default, on C_train and on C_frozen_2_3 in out-doped-cpu/log.jsonl.
#   python train.py config/doped_cpu.py && python sample.py --out_dir=out-doped-cpu
out_dir = 'out-doped-cpu'
n_layer = 5
doped = True
