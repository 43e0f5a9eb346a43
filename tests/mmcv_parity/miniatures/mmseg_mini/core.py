"""mmseg.apis.test + mmseg.core.evaluation: the test loops (pre_eval) and the evaluation hooks."""

import os.path as osp

import mmcv
import torch
import torch.distributed as dist
from mmcv.engine import collect_results_cpu
from mmcv.runner import DistEvalHook as _DistEvalHook
from mmcv.runner import EvalHook as _EvalHook
from torch.nn.modules.batchnorm import _BatchNorm


def single_gpu_test(model, data_loader, show=False, out_dir=None, efficient_test=False, opacity=0.5, pre_eval=False):
    model.eval()
    results = []
    dataset = data_loader.dataset
    prog_bar = mmcv.ProgressBar(len(dataset))
    loader_indices = data_loader.batch_sampler
    for batch_indices, data in zip(loader_indices, data_loader):
        with torch.no_grad():
            result = model(return_loss=False, **data)
        if pre_eval:
            result = dataset.pre_eval(result, indices=batch_indices)
        results.extend(result)
        for _ in range(len(result)):
            prog_bar.update()
    return results


def multi_gpu_test(model, data_loader, tmpdir=None, gpu_collect=False, efficient_test=False, pre_eval=False):
    model.eval()
    results = []
    dataset = data_loader.dataset
    for batch_indices, data in zip(data_loader.batch_sampler, data_loader):
        with torch.no_grad():
            result = model(return_loss=False, rescale=True, **data)
        if pre_eval:
            result = dataset.pre_eval(result, indices=batch_indices)
        results.extend(result)
    return collect_results_cpu(results, len(dataset), tmpdir)


class EvalHook(_EvalHook):
    greater_keys = ["mIoU", "mAcc", "aAcc"]  # noqa: RUF012 (as mmseg)

    def __init__(self, *args, by_epoch=False, efficient_test=False, pre_eval=False, **kwargs):
        super().__init__(*args, by_epoch=by_epoch, **kwargs)
        self.pre_eval = pre_eval
        self.latest_results = None

    def _do_evaluate(self, runner):
        if not self._should_evaluate(runner):
            return
        results = single_gpu_test(runner.model, self.dataloader, show=False, pre_eval=self.pre_eval)
        self.latest_results = results
        runner.log_buffer.clear()
        runner.log_buffer.output["eval_iter_num"] = len(self.dataloader)
        key_score = self.evaluate(runner, results)
        if self.save_best:
            self._save_ckpt(runner, key_score)


class DistEvalHook(_DistEvalHook):
    greater_keys = ["mIoU", "mAcc", "aAcc"]  # noqa: RUF012 (as mmseg)

    def __init__(self, *args, by_epoch=False, efficient_test=False, pre_eval=False, **kwargs):
        super().__init__(*args, by_epoch=by_epoch, **kwargs)
        self.pre_eval = pre_eval
        self.latest_results = None

    def _do_evaluate(self, runner):
        if self.broadcast_bn_buffer:
            for _, module in runner.model.named_modules():
                if isinstance(module, _BatchNorm) and module.track_running_stats:
                    dist.broadcast(module.running_var, 0)
                    dist.broadcast(module.running_mean, 0)
        if not self._should_evaluate(runner):
            return
        tmpdir = self.tmpdir if self.tmpdir is not None else osp.join(runner.work_dir, ".eval_hook")
        results = multi_gpu_test(runner.model, self.dataloader, tmpdir=tmpdir, gpu_collect=self.gpu_collect,
                                 pre_eval=self.pre_eval)
        self.latest_results = results
        runner.log_buffer.clear()
        if runner.rank == 0:
            print("\n")
            runner.log_buffer.output["eval_iter_num"] = len(self.dataloader)
            key_score = self.evaluate(runner, results)
            if self.save_best:
                self._save_ckpt(runner, key_score)
