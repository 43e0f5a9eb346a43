"""mmdet.core: the evaluation hooks (save_best), the YOLOX EMA hook, the check hooks, the test loops."""

import math
import os.path as osp

import mmcv
import torch
import torch.distributed as dist
from mmcv.engine import multi_gpu_test
from mmcv.parallel import is_module_wrapper
from mmcv.runner import HOOKS, Hook
from mmcv.runner import DistEvalHook as BaseDistEvalHook
from mmcv.runner import EvalHook as BaseEvalHook
from torch.nn.modules.batchnorm import _BatchNorm


def single_gpu_test(model, data_loader, show=False, out_dir=None, show_score_thr=0.3):
    model.eval()
    results = []
    prog_bar = mmcv.ProgressBar(len(data_loader.dataset))
    for data in data_loader:
        with torch.no_grad():
            result = model(return_loss=False, rescale=True, **data)
        results.extend(result)
        for _ in range(len(result)):
            prog_bar.update()
    return results


class EvalHook(BaseEvalHook):
    def _do_evaluate(self, runner):
        if not self._should_evaluate(runner):
            return
        results = single_gpu_test(runner.model, self.dataloader, show=False)
        self.latest_results = results
        runner.log_buffer.output["eval_iter_num"] = len(self.dataloader)
        key_score = self.evaluate(runner, results)
        if self.save_best and key_score:
            self._save_ckpt(runner, key_score)


class DistEvalHook(BaseDistEvalHook):
    def _do_evaluate(self, runner):
        if self.broadcast_bn_buffer:
            model = runner.model
            for _, module in model.named_modules():
                if isinstance(module, _BatchNorm) and module.track_running_stats:
                    dist.broadcast(module.running_var, 0)
                    dist.broadcast(module.running_mean, 0)
        if not self._should_evaluate(runner):
            return
        tmpdir = self.tmpdir
        if tmpdir is None:
            tmpdir = osp.join(runner.work_dir, ".eval_hook")
        results = multi_gpu_test(runner.model, self.dataloader, tmpdir=tmpdir, gpu_collect=self.gpu_collect)
        self.latest_results = results
        if runner.rank == 0:
            print("\n")
            runner.log_buffer.output["eval_iter_num"] = len(self.dataloader)
            key_score = self.evaluate(runner, results)
            if self.save_best and key_score:
                self._save_ckpt(runner, key_score)


class BaseEMAHook(Hook):
    """Keeps ``ema_*`` buffers on the model; swaps them in at each epoch's end (evaluation, checkpoints) and back."""

    def __init__(self, momentum=0.0002, interval=1, skip_buffers=False, resume_from=None, momentum_fun=None):
        assert 0 < momentum < 1
        self.momentum = momentum
        self.skip_buffers = skip_buffers
        self.interval = interval
        self.checkpoint = resume_from
        self.momentum_fun = momentum_fun

    def before_run(self, runner):
        model = runner.model
        if is_module_wrapper(model):
            model = model.module
        self.param_ema_buffers = {}
        self.model_parameters = dict(model.named_parameters()) if self.skip_buffers else model.state_dict()
        for name, value in self.model_parameters.items():
            buffer_name = f"ema_{name.replace('.', '_')}"
            self.param_ema_buffers[name] = buffer_name
            model.register_buffer(buffer_name, value.data.clone())
        self.model_buffers = dict(model.named_buffers())
        if self.checkpoint is not None:
            runner.resume(self.checkpoint)

    def get_momentum(self, runner):
        return self.momentum_fun(runner.iter) if self.momentum_fun else self.momentum

    def after_train_iter(self, runner):
        if (runner.iter + 1) % self.interval != 0:
            return
        momentum = self.get_momentum(runner)
        for name, parameter in self.model_parameters.items():
            if parameter.dtype.is_floating_point:
                buffer = self.model_buffers[self.param_ema_buffers[name]]
                buffer.mul_(1 - momentum).add_(parameter.data, alpha=momentum)

    def after_train_epoch(self, runner):
        self._swap_ema_parameters()

    def before_train_epoch(self, runner):
        self._swap_ema_parameters()

    def _swap_ema_parameters(self):
        for name, value in self.model_parameters.items():
            temp = value.data.clone()
            ema_buffer = self.model_buffers[self.param_ema_buffers[name]]
            value.data.copy_(ema_buffer.data)
            ema_buffer.data.copy_(temp)


@HOOKS.register_module()
class ExpMomentumEMAHook(BaseEMAHook):
    """YOLOX's EMA: momentum = (1 - m) * exp(-(1 + iter) / total_iter) + m."""

    def __init__(self, total_iter=2000, **kwargs):
        super().__init__(**kwargs)
        self.momentum_fun = lambda x: (1 - self.momentum) * math.exp(-(1 + x) / total_iter) + self.momentum


@HOOKS.register_module()
class CheckInvalidLossHook(Hook):
    def __init__(self, interval=50):
        self.interval = interval

    def after_train_iter(self, runner):
        if self.every_n_iters(runner, self.interval):
            assert torch.isfinite(runner.outputs["loss"]), runner.logger.info("loss become infinite or NaN!")


@HOOKS.register_module()
class NumClassCheckHook(Hook):
    def _check_head(self, runner):
        model = runner.model
        dataset = runner.data_loader.dataset
        assert type(dataset.CLASSES) is not str, "CLASSES must be a tuple of names"
        for _, module in model.named_modules():
            if hasattr(module, "num_classes"):
                assert module.num_classes == len(dataset.CLASSES), (
                    f"The `num_classes` ({module.num_classes}) in {module.__class__.__name__} of "
                    f"{model.__class__.__name__} does not matches the length of `CLASSES` {len(dataset.CLASSES)}")

    def before_train_epoch(self, runner):
        self._check_head(runner)

    def before_val_epoch(self, runner):
        self._check_head(runner)
