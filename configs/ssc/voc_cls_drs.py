# Ablation (paper Table VII, "+ DRS", 50.2): DRS only.
_base_ = ['./voc_cls.py']
model = dict(reconstruction_head=None, reconstruction_loss=None, asm_loss=None)
custom_hooks = []
