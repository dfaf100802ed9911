# Ablation (paper Table VII, row "baseline" = IRN's CAM, 48.3 seed mIoU): no DRS, no CDR, no ASM.
_base_ = ['./voc_cls.py']
model = dict(drs=None, reconstruction_head=None, reconstruction_loss=None, asm_loss=None)
custom_hooks = []
