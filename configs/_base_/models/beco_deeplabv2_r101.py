# BECO co-training of two DeepLab-v2 ResNet-101 networks, as the official segmentation stage trains them
# (docs/method.md, 'BECO co-training'). Both networks are ./deeplabv2_r101.py's EncoderDecoder (OS 8, summed ASPP,
# ImageNet V2 init), each with its own random head init; one optimiser trains both (the schedule's SGD over
# model.parameters()). The head's loss_decode is not used: BECO's four-term loss is in the segmentor.
_base_ = ['./deeplabv2_r101.py']
model = dict(
    type='BECOSegmentor',
    # The official values (segmentation/main.py hard-codes them; its unused configs/beco.json says warm_up 1).
    beco=dict(
        warm_up_epochs=2,           # epochs 0-1: offline labels only, no boundary weight
        online_threshold=0.95,      # online label kept where the two networks' mean softmax exceeds it
        mix_prob=0.5,               # each output sample is class-mixed with this probability
        ignore_background=True,     # background is never pasted
        boundary_size=1,            # 3×3 kernel for dilate(α) − erode(α)
        boundary_weight=0.2,        # confident boundary pixels weigh 1.2 in the CE terms
        uncertain_boundary_weight=0.0,
        photometric=True,           # brightness/contrast + HSV (p 0.8), gray (p 0.2), blur (p 0.5)
        swap_channels=True),        # the official augmentation sees BGR (mmssc/models/beco_photometric.py)
    # Validation and the pipeline's test: the two networks' mean logits on the 512×512 input. The official test
    # (docs/method.md, 'BECO co-training', Test): --cfg-options model.test_cfg.mode=multi_scale_max, the pixel-wise
    # max of the mean pre-logits over the input and these rescalings.
    test_cfg=dict(mode='whole', scales=(0.5, 0.75, 1.0, 1.25, 1.5)))
# Sets the segmentor's epoch before every epoch (and after --resume): it switches the online labels on.
custom_hooks = [dict(type='BECOWarmupHook')]
