"""Registered models and model parts (one file per concept of the paper)."""
from .asm_loss import ASMLoss, erode_like_opencv
from .beco_segmentor import BECOSegmentor, BECOSettings, beco_step
from .class_agnostic_distance_loss import ClassAgnosticDistanceLoss, center_loss
from .class_specific_distance_loss import ClassSpecificDistanceLoss
from .deeplab_vgg16 import DeepLabVGG16
from .deeplabv2_head import DeepLabV2Head
from .drs import DRS, DRSHooks, drs
from .i2crc_cam_head import I2CRCCamHead
from .i2crc_vgg16 import I2CRCVGG16
from .irn import IRNet, irn_loss_terms
from .path_index import PathIndex
from .perceptual_loss import PerceptualLoss, PixelL1Loss, PixelL2Loss
from .reconstruction_head import ReconstructionHead
from .ssc_cam_classifier import SSCCAMClassifier
from .timm_backbone import TimmFeatureBackbone
from .tiny_cam_classifier import TinyCAMClassifier

__all__ = ['ASMLoss', 'erode_like_opencv', 'DeepLabVGG16', 'DeepLabV2Head', 'DRS', 'DRSHooks', 'drs', 'IRNet', 'irn_loss_terms', 'PathIndex', 'PerceptualLoss', 'PixelL1Loss',
           'PixelL2Loss', 'ReconstructionHead', 'SSCCAMClassifier', 'TimmFeatureBackbone', 'TinyCAMClassifier',
           'BECOSegmentor', 'BECOSettings', 'beco_step', 'ClassAgnosticDistanceLoss', 'center_loss',
           'ClassSpecificDistanceLoss', 'I2CRCCamHead', 'I2CRCVGG16']
