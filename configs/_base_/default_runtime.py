# Runtime shared by every mmssc config (mmseg's default_runtime plus the settings CPU runs need).
default_scope = 'mmseg'
custom_imports = dict(imports=['mmssc'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # nccl on GPUs; mmssc.compat switches to gloo where CUDA is unavailable, so one config serves both.
    dist_cfg=dict(backend='nccl'))
# torch's DDP rejects device_ids for CPU modules (docs/stack_fixes.md). With None, DDP uses the module's own device,
# which is also right for one-GPU-per-process CUDA runs. MultiOptimDDP is mmengine's DDP wrapper that also drives
# models trained with several optimisers (cam_classifier); with one optimiser it behaves exactly like its parent.
model_wrapper_cfg = dict(type='MultiOptimDDP', device_ids=None, find_unused_parameters=False)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
tta_model = dict(type='SegTTAModel')
