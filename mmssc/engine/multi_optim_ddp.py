"""DDP for models trained with several optimisers at once (docs/stack_fixes.md).

mmengine's ``MMDistributedDataParallel.train_step`` drives a single ``OptimWrapper`` itself and fails on an
``OptimWrapperDict``. This wrapper runs the forward through DDP (so gradients are all-reduced in the one
backward) and lets the model apply the update to all its optimisers (``update_params_all``). With a single
optimiser it behaves exactly like its parent.
"""
from mmengine.model import MMDistributedDataParallel
from mmengine.optim import OptimWrapperDict
# The Runner resolves the wrapper type with mmengine's *root* registry (runner.py wrap_model), which does not look
# into mmseg's child registry; registering at the root makes it visible there and, through the parent link, to mmseg.
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class MultiOptimDDP(MMDistributedDataParallel):

    def train_step(self, data, optim_wrapper):
        if not isinstance(optim_wrapper, OptimWrapperDict):
            return super().train_step(data, optim_wrapper)
        data = self.module.data_preprocessor(data, training=True)
        losses = self._run_forward(data, mode='loss')
        parsed_loss, log_vars = self.module.parse_losses(losses)
        self.module.update_params_all(parsed_loss, optim_wrapper)
        return log_vars
