#!/usr/bin/python3
"""GANomaly training and scoring speed in PyTorch on a chosen device, for comparing
ganomaly_bench --device cuda on the same GPU (tools/cuda_check.sh runs both).

The network, losses and update order are those of tools/reference/ganomaly_torch.py,
imported from it; this script adds the device, CUDA synchronisation around the clocks,
and a scoring pass shaped like Ganomaly::score (G on x, then D's features of x and of
the reconstruction), next to the reference's latent-only pass.

  python3 tools/torch_cuda_bench.py --device cuda --size 256 --batch 32 --steps 10
  python3 tools/torch_cuda_bench.py --device cuda --tf32   # PyTorch's default for convolutions

Without --tf32, convolutions and matrix products run in strict float32 (cudnn.allow_tf32
and matmul.allow_tf32 off), as ganomaly.cpp's kernels do.
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.path.join(HERE, "reference")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda", choices=["cpu", "cuda"])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--nf", type=int, default=64)
    ap.add_argument("--nz", type=int, default=100)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--tf32", action="store_true", help="allow TF32 (PyTorch's default for cuDNN convolutions)")
    ap.add_argument("--reference", default=REFERENCE, help="folder of ganomaly_torch.py")
    a = ap.parse_args()
    try:
        import torch
        from torch import nn
    except ImportError as e:
        print(f"torch_cuda_bench: PyTorch is not installed here: {e}", file=sys.stderr)
        return 3
    if a.device == "cuda" and not torch.cuda.is_available():
        print("torch_cuda_bench: PyTorch sees no CUDA device", file=sys.stderr)
        return 3
    sys.path.insert(0, a.reference)
    from ganomaly_torch import Discriminator, Generator, init_weights

    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.benchmark = False  # eager defaults: no autotuning
    device = torch.device(a.device)
    torch.manual_seed(42)
    G, D = Generator(a.size, a.nz, 3, a.nf), Discriminator(a.size, 3, a.nf)
    G.apply(init_weights)
    D.apply(init_weights)
    G.to(device)
    D.to(device)
    og = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    od = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    l1, sl1, mse, bce = nn.L1Loss(), nn.SmoothL1Loss(), nn.MSELoss(), nn.BCELoss()
    x = (torch.rand(a.batch, 3, a.size, a.size) * 2 - 1).to(device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def step():
        fake, zi, zo = G(x)
        pr, _ = D(x)
        pf, _ = D(fake)
        gl = mse(pr, pf) * 1 + l1(x, fake) * 50 + sl1(zi, zo) * 1
        og.zero_grad()
        gl.backward(retain_graph=True)
        og.step()
        pf, _ = D(fake.detach())
        dl = 0.5 * (bce(pr, torch.ones_like(pr)) + bce(pf, torch.zeros_like(pf)))
        od.zero_grad()
        dl.backward()
        od.step()
        return gl.item(), dl.item()  # host reads, as ganomaly.cpp's train_step

    def timed(fn):
        fn()  # warm-up
        sync()
        t = time.perf_counter()
        for _ in range(a.steps):
            fn()
        sync()
        return a.batch * a.steps / (time.perf_counter() - t)

    train_ips = timed(step)
    G.eval()
    D.eval()

    def latent():
        _, zi, zo = G(x)
        return ((zi - zo) ** 2).mean(dim=(1, 2, 3)).cpu()

    def score():  # Ganomaly::score's network work: G, then D's features of x and fake
        fake, zi, zo = G(x)
        _, fx = D(x)
        _, ff = D(fake)
        lat = ((zi - zo) ** 2).flatten(1).mean(1)
        feat = ((fx - ff) ** 2).flatten(1).mean(1)
        rec = (x - fake).abs().flatten(1).mean(1)
        return torch.stack([lat, feat, rec]).cpu()

    with torch.no_grad():
        latent_ips = timed(latent)
        score_ips = timed(score)
    name = torch.cuda.get_device_name(0) if device.type == "cuda" else "cpu"
    print(f"torch {torch.__version__} device={a.device} ({name}) tf32={'on' if a.tf32 else 'off'} size={a.size} "
          f"batch={a.batch} steps={a.steps} train_img_per_s={train_ips:.2f} score_img_per_s={score_ips:.2f} "
          f"latent_only_img_per_s={latent_ips:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
