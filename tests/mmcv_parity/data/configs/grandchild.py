_base_ = './child.py'
data = dict(samples_per_gpu=4, train=dict(img_dir='other'))
runner = dict(max_iters=160000)
