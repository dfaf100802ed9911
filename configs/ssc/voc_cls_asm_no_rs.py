# Ablation (paper Table VII, "+ ASM without RS", 57.2): full SSC, ASM target = regional CAM only.
_base_ = ['./voc_cls.py']
model = dict(asm_loss=dict(use_reliable_selection=False))
