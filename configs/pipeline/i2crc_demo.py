# I²CRC on the embedded demo scenes, CPU only: python tools/demo.py --method i2crc. The scenes are the SSC demo's
# (configs/pipeline/demo_cpu.py, `demo_data`), plus stand-in saliency maps (mmssc/datasets/demo_saliency.py: a
# degraded copy of the true foreground, not a detector's output).
_base_ = ['./demo_cpu.py']
method = 'i2crc'
work_dir = 'work_dirs/demo_i2crc'
data_root = 'work_dirs/demo_i2crc/data'
cam_config = 'configs/i2crc/demo_cls.py'
seg_config = 'configs/demo/demo_deeplabv2.py'   # both segmentation rounds
irn_config = None                               # I²CRC has no IRN stage
stage_args = dict(_delete_=True)                # the SSC demo's random-walk settings do not apply
# Both segmentation rounds train 200 iterations: the I²CRC demo fits its 10 minutes with them (554 s on 2 cores), so it
# keeps the length the SSC demo's segmenter had before that demo was shortened to 100 to fit (demo_deeplabv2.py).
round_schedule = {'train_cfg.max_iters': 200, 'train_cfg.val_interval': 200, 'param_scheduler.0.end': 200,
                  'default_hooks.checkpoint.interval': 200}
stage_cfg_options = dict(segmentation_round1=round_schedule, segmentation=round_schedule)
