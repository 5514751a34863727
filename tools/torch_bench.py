#!/usr/bin/python3
"""PyTorch side of ganomaly_bench's fair speed comparison: one repetition, one process.

Times the same work per step as ganomaly.cpp's Ganomaly::train_step and Ganomaly::score
(anomalib recipe), on the same network (the anomalib GANomaly, as stated in
tools/reference/ganomaly_torch.py, written out here so this file stands alone):

- training step: G(x); D(x) with D trainable (its graph is kept for D's update, as ours
  keeps it); D frozen (requires_grad_(False) on its parameters) for D(G(x)) and G's
  backward, so that backward computes no weight gradient of D and does not enter the
  D(x) branch (D(x) enters G's loss detached: its gradient there was thrown away anyway);
  G's Adam step; D unfrozen; D(G(x).detach()); D's loss on D(x) and that; D's backward
  and Adam step. Gradients are set to None (freed), as ours frees them.
- scoring: G in eval mode under torch.inference_mode(), one generator pass, then the
  scores ours computes in Ganomaly::score(..., FeatureScore::skip): the latent score
  mean((z - z_hat)^2), the reconstruction score mean|x - G(x)|, and residual_max (the
  largest mean of the channel-mean residual map over a square window of
  max(2, size / 8) pixels, through an integral image), read back as Python floats.
  No discriminator pass: the feature score is not computed on either side.

Threads: OMP_NUM_THREADS, OPENBLAS_NUM_THREADS (Debian's torch runs ConvTranspose2d
through OpenBLAS, whose threads torch.set_num_threads does not control) and
MKL_NUM_THREADS must say --threads before torch is imported; when they do not, the
script sets them and re-executes itself. torch.set_num_threads and
torch.set_num_interop_threads get the same count. The process's CPU time over wall time
is measured over the timed steps (getrusage: all threads of the process).

Memory: VmRSS before torch is imported, VmRSS once torch is imported and set up but
before the model is built (the interpreter's and the library's share), and VmHWM (the
process's peak RSS) at the end.

The last line printed is "torch_bench {json}" for ganomaly_bench to read.

  /usr/bin/python3 tools/torch_bench.py --size 64 --batch 32 --steps 20 --threads 2
"""
import argparse
import json
import math
import os
import resource
import sys
import time

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
REEXEC_MARK = "GANOMALY_TORCH_BENCH_REEXEC"


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=20, help="timed steps, after the warm-up")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--nf", type=int, default=64)
    ap.add_argument("--nz", type=int, default=100)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--check", action="store_true",
                    help="instead of timing: train two copies --steps steps, one by this script's step and one by "
                         "the reference's (D not frozen), and check that they end with the same parameters")
    a = ap.parse_args(argv)
    if a.size < 8 or a.size & (a.size - 1):
        ap.error("--size: expected a power of two >= 8 (ours pads other sizes; this script does not)")
    if a.batch < 2 or a.steps < 1 or a.warmup < 0 or a.threads < 1:
        ap.error("expected --batch >= 2 (batch norm), --steps >= 1, --warmup >= 0, --threads >= 1")
    return a


def pin_thread_variables(threads):
    """Re-executes this script with every thread variable at `threads` unless they are."""
    want = str(threads)
    if all(os.environ.get(v) == want for v in THREAD_VARIABLES):
        return
    if os.environ.get(REEXEC_MARK):
        sys.exit("torch_bench: the thread variables did not survive re-executing")
    env = dict(os.environ)
    env.update({v: want for v in THREAD_VARIABLES})
    env[REEXEC_MARK] = "1"
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)


def proc_status(field):
    """A field of /proc/self/status as a number (kB for the memory fields)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def cpu_seconds():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def build(size, nf, nz):
    """The anomalib GANomaly's generator and discriminator, PyTorch's initialisation (as
    the anomalib recipe of ours). Called after torch is imported."""
    from torch import nn

    def encoder(out_channels):
        layers = [nn.Conv2d(3, nf, 4, 2, 4, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        side, f = size // 2, nf
        while side > 4:
            layers += [nn.Conv2d(f, 2 * f, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * f), nn.LeakyReLU(0.2, inplace=True)]
            f, side = 2 * f, side // 2
        return layers + [nn.Conv2d(f, out_channels, 4, 1, 0, bias=False)]

    def decoder():
        f = nf * 2 ** (int(math.log2(size // 2)) - 2)
        layers = [nn.ConvTranspose2d(nz, f, 4, 1, 0, bias=False), nn.BatchNorm2d(f), nn.ReLU(True)]
        side = size // 2
        while side > 4:
            layers += [nn.ConvTranspose2d(f, f // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(f // 2), nn.ReLU(True)]
            f, side = f // 2, side // 2
        return layers + [nn.ConvTranspose2d(f, 3, 4, 2, 1, bias=False), nn.Tanh()]

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc1 = nn.Sequential(*encoder(nz))
            self.dec = nn.Sequential(*decoder())
            self.enc2 = nn.Sequential(*encoder(nz))

        def forward(self, x):
            z = self.enc1(x)
            fake = self.dec(z)
            return fake, z, self.enc2(fake)

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            layers = encoder(1)
            self.features = nn.Sequential(*layers[:-1])
            self.classifier = nn.Sequential(layers[-1], nn.Sigmoid())

        def forward(self, x):
            return self.classifier(self.features(x)).view(-1)

    return Generator(), Discriminator()


def adam(module):
    import torch

    return torch.optim.Adam(module.parameters(), lr=2e-4, betas=(0.5, 0.999))


def set_trainable(module, on):
    for p in module.parameters():
        p.requires_grad_(on)


def fair_train_step(G, D, og, od, x):
    """One training step doing ours' work (module docstring); returns the two losses."""
    from torch.nn import functional as F

    G.train()
    D.train()
    fake, z, z_hat = G(x)
    p_real = D(x)  # D trainable: this graph serves D's update below
    set_trainable(D, False)
    try:
        p_fake = D(fake)
        g_loss = F.mse_loss(p_fake, p_real.detach()) + 50 * F.l1_loss(fake, x) + F.smooth_l1_loss(z_hat, z)
        g_value = g_loss.item()
        og.zero_grad(set_to_none=True)
        g_loss.backward()
    finally:
        set_trainable(D, True)
    og.step()
    og.zero_grad(set_to_none=True)
    p_fake = D(fake.detach())
    ones, zeros = p_real.new_ones(p_real.shape), p_real.new_zeros(p_real.shape)
    d_loss = 0.5 * (F.binary_cross_entropy(p_real, ones) + F.binary_cross_entropy(p_fake, zeros))
    d_value = d_loss.item()
    od.zero_grad(set_to_none=True)
    d_loss.backward()
    od.step()
    od.zero_grad(set_to_none=True)
    return g_value, d_value


def reference_train_step(G, D, og, od, x):
    """The step as tools/reference/ganomaly_torch.py and anomalib write it: D not
    frozen, G's backward through both D branches (retain_graph), for --check only."""
    from torch.nn import functional as F

    G.train()
    D.train()
    fake, z, z_hat = G(x)
    p_real = D(x)
    p_fake = D(fake)
    g_loss = F.mse_loss(p_real, p_fake) + 50 * F.l1_loss(x, fake) + F.smooth_l1_loss(z, z_hat)
    og.zero_grad()
    g_loss.backward(retain_graph=True)
    og.step()
    p_fake = D(fake.detach())
    ones, zeros = p_real.new_ones(p_real.shape), p_real.new_zeros(p_real.shape)
    d_loss = 0.5 * (F.binary_cross_entropy(p_real, ones) + F.binary_cross_entropy(p_fake, zeros))
    od.zero_grad()
    d_loss.backward()
    od.step()
    return g_loss.item(), d_loss.item()


def score(G, x, window):
    """Ours' Ganomaly::score(..., FeatureScore::skip) figures for a batch (module docstring)."""
    import torch
    from torch.nn import functional as F

    G.eval()
    with torch.inference_mode():
        fake, z, z_hat = G(x)
        latent = (z - z_hat).pow(2).flatten(1).mean(1)
        residual = (x - fake).abs()
        reconstruction = residual.flatten(1).mean(1)
        integral = F.pad(residual.mean(1).double(), (1, 0, 1, 0)).cumsum(1).cumsum(2)
        w = window
        sums = integral[:, w:, w:] - integral[:, :-w, w:] - integral[:, w:, :-w] + integral[:, :-w, :-w]
        residual_max = sums.flatten(1).amax(1) / (w * w)
        return latent.tolist(), reconstruction.tolist(), residual_max.tolist()


def check(a):
    """Two models from one seed, one trained by the fair step and one by the reference
    step: every parameter and BN buffer must agree after a few steps."""
    import torch

    x = torch.rand(a.batch, 3, a.size, a.size) * 2 - 1
    models = []
    for step in (fair_train_step, reference_train_step):
        torch.manual_seed(a.seed)
        G, D = build(a.size, a.nf, a.nz)
        og, od = adam(G), adam(D)
        losses = [step(G, D, og, od, x) for _ in range(a.steps)]
        models.append((G, D, losses))
    worst = 0.0
    for m_fair, m_ref in ((models[0][0], models[1][0]), (models[0][1], models[1][1])):
        for (name, t_fair), (_, t_ref) in zip(m_fair.state_dict().items(), m_ref.state_dict().items()):
            if t_fair.is_floating_point():
                worst = max(worst, (t_fair - t_ref).abs().max().item() / (1e-3 + t_ref.abs().max().item()))
    ok = worst < 1e-4
    print(f"torch_bench --check: {a.steps} steps at {a.size} px, batch {a.batch}: losses fair {models[0][2][-1]}, "
          f"reference {models[1][2][-1]}; largest parameter difference {worst:.2e} of the tensor's scale: "
          f"{'same' if ok else 'DIFFERENT'}")
    return 0 if ok else 1


def main(argv):
    a = parse_args(argv)
    pin_thread_variables(a.threads)
    rss_start = proc_status("VmRSS")

    import torch  # only now: the thread variables are read when the libraries load

    torch.set_num_threads(a.threads)
    torch.set_num_interop_threads(a.threads)
    rss_before_model = proc_status("VmRSS")
    if a.check:
        return check(a)

    torch.manual_seed(a.seed)
    G, D = build(a.size, a.nf, a.nz)
    og, od = adam(G), adam(D)
    x = torch.rand(a.batch, 3, a.size, a.size) * 2 - 1
    window = max(2, a.size // 8)

    def timed(fn):
        for _ in range(a.warmup):
            fn()
        cpu0, t0 = cpu_seconds(), time.perf_counter()
        for _ in range(a.steps):
            out = fn()
        wall = time.perf_counter() - t0
        return a.batch * a.steps / wall, (cpu_seconds() - cpu0) / wall, out

    train_img_s, train_cpu, losses = timed(lambda: fair_train_step(G, D, og, od, x))
    score_img_s, score_cpu, _ = timed(lambda: score(G, x, window))
    result = {
        "torch_version": torch.__version__,
        "size": a.size,
        "batch": a.batch,
        "steps": a.steps,
        "warmup": a.warmup,
        "threads": a.threads,
        "torch_num_threads": torch.get_num_threads(),
        "torch_num_interop_threads": torch.get_num_interop_threads(),
        "env": {v: os.environ.get(v) for v in THREAD_VARIABLES},
        "os_threads": proc_status("Threads"),
        "train_img_s": train_img_s,
        "score_img_s": score_img_s,
        "train_cpu_per_wall": train_cpu,
        "score_cpu_per_wall": score_cpu,
        "rss_start_mib": rss_start / 1024,
        "rss_before_model_mib": rss_before_model / 1024,
        "peak_rss_mib": proc_status("VmHWM") / 1024,
        "last_losses": list(losses),
        "params": sum(p.numel() for p in G.parameters()) + sum(p.numel() for p in D.parameters()),
    }
    print("torch_bench " + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
