# Ablation (paper Table VII, "+ CDR", 54.5): DRS + CAM-driven reconstruction with the perceptual loss.
_base_ = ['./voc_cls.py']
model = dict(asm_loss=None)
custom_hooks = []
