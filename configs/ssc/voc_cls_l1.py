# CDR with a plain L1 pixel loss instead of the perceptual loss (paper Table VIII: L1 51.3 vs perceptual 54.5).
# Needs no VGG19 weights. For L2 use type='PixelL2Loss' (50.9).
_base_ = ['./voc_cls_drs_cdr.py']
model = dict(reconstruction_loss=dict(_delete_=True, type='PixelL1Loss', loss_weight=1.0))
