"""PyTorch CPU reference for bench/nn_speed.sh: the same MLP and CNN as sigmax-nn
(crates/sigmax-nn/src/nets.rs), batch 128, 64-d features, a bias-free 10-class softmax
head, Adam; prints the median seconds per training step like the nn_speed example, with the
same warm-up (at least 3 steps and 1 s), at least STEPS steps and 2 s timed, and a first model
per network trained and dropped."""
import os
import statistics
import sys
import time

import torch
from torch import nn

torch.set_num_threads(int(os.environ.get("THREADS", os.cpu_count())))
torch.manual_seed(1)
BATCH, DIM, STEPS = 128, 64, int(sys.argv[1]) if len(sys.argv) > 1 else 30


def make_mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, DIM))


def make_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 256), nn.ReLU(), nn.Linear(256, DIM),
    )


x = torch.rand(BATCH, 1, 28, 28) * 2 - 1
y = torch.randint(0, 10, (BATCH,))
print("net,head,seconds_per_step,images_per_second")


def seconds_per_step(net):
    head = nn.Linear(DIM, 10, bias=False)
    opt = torch.optim.Adam(list(net.parameters()) + list(head.parameters()), lr=1e-3)

    def step():
        t = time.perf_counter()
        opt.zero_grad()
        loss = nn.functional.cross_entropy(head(net(x)), y)
        loss.backward()
        opt.step()
        return time.perf_counter() - t

    warm, done = time.perf_counter(), 0
    while done < 3 or time.perf_counter() - warm < 1.0:
        step()
        done += 1
    times, start = [], time.perf_counter()
    while len(times) < STEPS or time.perf_counter() - start < 2.0:
        times.append(step())
    return statistics.median(times)


for name, make in [("mlp", make_mlp), ("cnn", make_cnn)]:
    seconds_per_step(make())  # the first model, dropped (as in the nn_speed example)
    s = seconds_per_step(make())
    print(f"{name},Softmax,{s:.5f},{BATCH / s:.0f}")
