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

Configuration (each a command-line option; the script sets the environment before torch
is imported and re-executes itself when it has to): torch's threads (--threads: OpenMP,
torch.set_num_threads and set_num_interop_threads), the BLAS library's own threads
(--blas-threads: OPENBLAS_NUM_THREADS, BLIS_NUM_THREADS, MKL_NUM_THREADS; Debian's torch
runs ConvTranspose2d through the BLAS, whose threads torch.set_num_threads does not
control), the BLAS library itself (--blas-dir: a folder holding a libblas.so.3, put first
on LD_LIBRARY_PATH; Debian installs its BLAS implementations as alternatives in such
folders), OpenBLAS's kernels (--coretype: OPENBLAS_CORETYPE) and ATen's vector kernels
(--aten-capability: ATEN_CPU_CAPABILITY). The result records the BLAS that was loaded
(OpenBLAS's own configuration and core name when it is OpenBLAS), ATen's CPU capability
and every environment variable that changes BLAS or OpenMP behaviour. The process's CPU
time over wall time is measured over the timed steps (getrusage: all threads of the
process).

--probe tries the reasonable configurations at --threads in short runs (--probe-steps),
each in its own process, and ranks them by their fastest step (on a shared machine the
least disturbed one): every BLAS library installed, then OpenBLAS's kernels (the
environment's, its own detection, and the AVX-512 and AVX2 kernels the CPU runs), then
the BLAS on one thread under torch's N, then ATen's AVX-512 kernels; one more run with
oneDNN's verbose output names the ISA oneDNN ran and the primitives it executed. Its
last line, "torch_probe {json}", holds every candidate and the fastest for training and
for scoring.

Memory: VmRSS before torch is imported, VmRSS once torch is imported and set up but
before the model is built (the interpreter's and the library's share), and VmHWM (the
process's peak RSS) at the end.

The last line printed is "torch_bench {json}" for ganomaly_bench to read.

  /usr/bin/python3 tools/torch_bench.py --size 64 --batch 32 --steps 20 --threads 2
  /usr/bin/python3 tools/torch_bench.py --size 64 --batch 32 --threads 2 --probe
"""
import argparse
import ctypes
import glob
import json
import math
import os
import re
import resource
import subprocess
import sys
import time

BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "BLIS_NUM_THREADS", "MKL_NUM_THREADS")
REEXEC_MARK = "GANOMALY_TORCH_BENCH_REEXEC"
# Environment variables that change what BLAS, OpenMP, oneDNN or ATen do (recorded).
BEHAVIOUR_VARIABLE = re.compile(r"^(OMP_|GOMP_|KMP_|OPENBLAS_|GOTO_|BLIS_|MKL_|DNNL_|ONEDNN_|ATEN_|TORCH_|LD_PRELOAD$|"
                                r"LD_LIBRARY_PATH$)")
# Debian's BLAS alternatives: each folder holds a libblas.so.3.
BLAS_FOLDERS = ("openblas-pthread", "openblas-openmp", "openblas-serial", "blis-pthread", "blis-openmp", "blis-serial",
                "atlas")


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=20, help="timed steps, after the warm-up")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    ap.add_argument("--threads", type=int, default=2, help="torch's threads (OpenMP, intra- and inter-op)")
    ap.add_argument("--blas-threads", type=int, default=0, help="the BLAS library's threads (default: --threads)")
    ap.add_argument("--blas-dir", default="", help="a folder with the libblas.so.3 to load (default: the system's)")
    ap.add_argument("--coretype", default="env",
                    help="OPENBLAS_CORETYPE: a core name, 'auto' (unset: OpenBLAS detects) or 'env' (as it is)")
    ap.add_argument("--aten-capability", default="env",
                    help="ATEN_CPU_CAPABILITY: default, avx2, avx512, or 'env' (as it is)")
    ap.add_argument("--task", choices=("both", "train", "score"), default="both", help="what to time")
    ap.add_argument("--probe", action="store_true", help="try the configurations (module docstring)")
    ap.add_argument("--probe-steps", type=int, default=3, help="timed steps of each --probe run")
    ap.add_argument("--probe-warmup", type=int, default=1, help="warm-up steps of each --probe run")
    ap.add_argument("--extra-blas-dir", action="append", default=[],
                    help="with --probe: also try the libblas.so.3 in this folder (repeatable)")
    ap.add_argument("--nf", type=int, default=64)
    ap.add_argument("--nz", type=int, default=100)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--check", action="store_true",
                    help="instead of timing: train two copies --steps steps, one by this script's step and one by "
                         "the reference's (D not frozen), and check that they end with the same parameters")
    a = ap.parse_args(argv)
    if a.size < 8 or a.size & (a.size - 1):
        ap.error("--size: expected a power of two >= 8 (ours pads other sizes; this script does not)")
    if a.batch < 2 or a.steps < 1 or a.warmup < 0 or a.threads < 1 or a.blas_threads < 0 or a.probe_steps < 1:
        ap.error("expected --batch >= 2 (batch norm), --steps >= 1, --warmup >= 0, --threads >= 1, "
                 "--blas-threads >= 0, --probe-steps >= 1")
    if a.blas_threads == 0:
        a.blas_threads = a.threads
    for option, folder in [("--blas-dir", a.blas_dir)] + [("--extra-blas-dir", d) for d in a.extra_blas_dir]:
        if folder and not os.path.isfile(os.path.join(folder, "libblas.so.3")):
            ap.error(f"{option}: expected a folder holding libblas.so.3, got '{folder}'")
    return a


def wanted_environment(a, env):
    """`env` with the configuration of `a` applied (module docstring)."""
    env = dict(env)
    env["OMP_NUM_THREADS"] = str(a.threads)
    env.update({v: str(a.blas_threads) for v in BLAS_THREAD_VARIABLES})
    if a.blas_dir:
        path = env.get("LD_LIBRARY_PATH", "")
        if path.split(":")[0] != a.blas_dir:
            env["LD_LIBRARY_PATH"] = a.blas_dir + (":" + path if path else "")
    for variable, value in (("OPENBLAS_CORETYPE", a.coretype), ("ATEN_CPU_CAPABILITY", a.aten_capability)):
        if value in ("auto", "default"):
            env.pop(variable, None)
        elif value != "env":
            env[variable] = value
    return env


def apply_configuration(a):
    """Re-executes this script with the configuration's environment unless it has it."""
    env = wanted_environment(a, os.environ)
    env.pop(REEXEC_MARK, None)
    now = {k: v for k, v in os.environ.items() if k != REEXEC_MARK}
    if env == now:
        return
    if os.environ.get(REEXEC_MARK):
        sys.exit("torch_bench: the configuration's environment did not survive re-executing")
    env[REEXEC_MARK] = "1"
    os.execve(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:], env)


def behaviour_environment():
    """The environment variables that change BLAS, OpenMP, oneDNN or ATen behaviour."""
    return {k: v for k, v in sorted(os.environ.items()) if BEHAVIOUR_VARIABLE.match(k)}


def loaded_blas():
    """What this process loaded as BLAS (after torch is imported): the library's path,
    its kind, and for OpenBLAS its build configuration, core name and threads."""
    with open("/proc/self/maps") as f:
        paths = sorted({line.split()[-1] for line in f if line.rstrip().endswith(".so") or ".so." in line})
    info = {"kind": "none found", "path": ""}
    for pattern, kind in (("libopenblas", "OpenBLAS"), ("libblis", "BLIS"), ("libmkl", "MKL"), ("libblas.so", "")):
        hits = [p for p in paths if pattern in os.path.basename(p)]
        if not hits:
            continue
        path = os.path.realpath(hits[0])
        info = {"kind": kind, "path": path}
        if kind == "OpenBLAS":
            lib = ctypes.CDLL(path)
            for name, restype in (("openblas_get_config", ctypes.c_char_p), ("openblas_get_corename", ctypes.c_char_p),
                                  ("openblas_get_num_threads", ctypes.c_int), ("openblas_get_parallel", ctypes.c_int)):
                if hasattr(lib, name):
                    fn = getattr(lib, name)
                    fn.restype = restype
                    value = fn()
                    info[name[len("openblas_get_"):]] = value.decode() if isinstance(value, bytes) else value
        elif not kind:
            # Debian's reference BLAS (libblas3) lives in .../blas/; anything else is named by its file.
            info["kind"] = "reference BLAS (netlib)" if os.path.basename(os.path.dirname(path)) == "blas" else \
                os.path.basename(path)
        break
    return info


def blas_label(info):
    """'OpenBLAS 0.3.21 (core Haswell, 2 threads)', 'reference BLAS (netlib)', ..."""
    if info["kind"] != "OpenBLAS":
        return info["kind"]
    version = info.get("config", "").split(" ")[1] if len(info.get("config", "").split(" ")) > 1 else ""
    threads = info.get("num_threads", "?")
    return f"OpenBLAS {version} (core {info.get('corename', '?')}, {threads} thread{'' if threads == 1 else 's'})".replace(
        "OpenBLAS  (", "OpenBLAS (")


def aten_capability(torch):
    """ATen's vector kernels in use, from torch's build summary ('AVX2', 'AVX512', ...)."""
    m = re.search(r"CPU capability usage: (\S+)", torch.__config__.show())
    return m.group(1) if m else "unknown"


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


def cpu_flags():
    """The CPU's flags (/proc/cpuinfo's first 'flags' line), as a set."""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def run_child(a, config, steps, warmup, extra_env=None):
    """One run of this script in its own process with `config` (a dict of the options
    --threads, --blas-threads, --blas-dir, --coretype, --aten-capability); returns its
    result, or {"error": text}."""
    cmd = [sys.executable, os.path.abspath(__file__), "--size", str(a.size), "--batch", str(a.batch), "--steps",
           str(steps), "--warmup", str(warmup), "--nf", str(a.nf), "--nz", str(a.nz), "--seed", str(a.seed)]
    for key, value in config.items():
        cmd += ["--" + key.replace("_", "-"), str(value)]
    env = dict(os.environ)
    env.pop(REEXEC_MARK, None)
    env.update(extra_env or {})
    out = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = [line for line in out.stdout.splitlines() if line.startswith("torch_bench {")]
    if out.returncode != 0 or not lines:
        return {"error": out.stdout[-2000:], "output": out.stdout}
    result = json.loads(lines[-1][len("torch_bench "):])
    result["output"] = out.stdout
    return result


def config_label(config, result):
    """What a candidate ran: its BLAS as loaded, and the settings that were asked for."""
    parts = [blas_label(result["blas"]) if "blas" in result else "?"]
    core = config.get("coretype", "env")
    parts.append("OPENBLAS_CORETYPE " + ({"env": os.environ.get("OPENBLAS_CORETYPE", "unset") + " (environment)",
                                          "auto": "unset (detected)"}.get(core, core)))
    parts.append(f"BLAS threads {config['blas_threads']}, torch threads {config['threads']}")
    if "aten_capability" in result:
        parts.append("ATen " + result["aten_capability"])
    return ", ".join(parts)


def onednn_summary(output):
    """The ISA oneDNN reports and the primitives it executed (kind: implementations),
    from its verbose lines (oneDNN 2.x prints 'dnnl_verbose,...' or 'onednn_verbose,...')."""
    isa, executed = "", {}
    for line in output.splitlines():
        fields = line.split(",")
        if len(fields) < 2 or fields[0] not in ("dnnl_verbose", "onednn_verbose"):
            continue
        if fields[1] == "info" and len(fields) > 3 and fields[3].startswith("isa:"):
            isa = ",".join(fields[3:])[len("isa:"):].strip()
        elif fields[1] == "exec" and len(fields) > 5:
            executed.setdefault(fields[3], set()).add(fields[4])
    return {"isa": isa or "no oneDNN primitive ran",
            "primitives": {k: sorted(v) for k, v in sorted(executed.items())}}


def probe(a):
    """Tries the configurations (module docstring) and prints 'torch_probe {json}'."""
    flags = cpu_flags()
    tried = []

    def attempt(config, stage):
        result = run_child(a, config, a.probe_steps, a.probe_warmup)
        entry = {"stage": stage, "config": config}
        if "error" in result:
            entry["error"] = result["error"]
        else:
            entry.update({k: result[k] for k in ("train_img_s", "score_img_s", "train_fastest_step_img_s",
                                                  "score_fastest_step_img_s", "train_cpu_per_wall",
                                                  "score_cpu_per_wall", "blas", "aten_capability", "env")})
            entry["label"] = config_label(config, result)
        tried.append(entry)
        print(f"torch_bench --probe: {stage}: " + (entry.get("label", "") + ": fastest step: train "
              f"{entry['train_fastest_step_img_s']:.2f}, score {entry['score_fastest_step_img_s']:.1f} img/s"
              if "error" not in entry else f"{config}: failed"), file=sys.stderr, flush=True)
        return entry

    # Ranked by the fastest step: on a shared machine it is the one least disturbed.
    def best(entries, key="train_fastest_step_img_s"):
        ok = [e for e in entries if "error" not in e]
        return max(ok, key=lambda e: e[key]) if ok else None

    base = {"threads": a.threads, "blas_threads": a.threads, "blas_dir": "", "coretype": "env",
            "aten_capability": "env"}
    # Stage 1: the BLAS libraries: the system's, each other one installed, the extra folders.
    system = {os.path.realpath(p) for p in glob.glob("/usr/lib/*-linux-gnu/libblas.so.3")}
    folders = [d for d in sorted(glob.glob("/usr/lib/*-linux-gnu/*")) if os.path.basename(d) in BLAS_FOLDERS]
    folders += a.extra_blas_dir
    stage1 = [attempt(base, "the system's BLAS")]
    for folder in folders:
        library = os.path.join(folder, "libblas.so.3")
        if os.path.isfile(library) and os.path.realpath(library) not in system:
            stage1.append(attempt(dict(base, blas_dir=folder), "BLAS " + folder))
            system.add(os.path.realpath(library))
    current = best(stage1)
    if current is None:
        print("torch_probe " + json.dumps({"error": "every configuration failed", "tried": tried}), flush=True)
        return 1
    # Stage 2: OpenBLAS's kernels: its own detection, AVX-512 (SkylakeX) and AVX2 (Haswell).
    if current["blas"]["kind"] == "OpenBLAS":
        cores = ["auto"] if os.environ.get("OPENBLAS_CORETYPE") else []
        if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags:
            cores.append("SkylakeX")
        if {"avx2", "fma"} <= flags:
            cores.append("Haswell")
        cores = [c for c in cores if c != os.environ.get("OPENBLAS_CORETYPE")]
        current = best([current] + [attempt(dict(current["config"], coretype=c), "OpenBLAS kernels " + c)
                                    for c in cores])
    # Stage 3: at N threads, the BLAS on one thread (no oversubscription: torch's N OpenMP
    # threads call it from inside their parallel regions or between them).
    if a.threads > 1 and current["blas"]["kind"] in ("OpenBLAS", "BLIS"):
        current = best([current, attempt(dict(current["config"], blas_threads=1), "BLAS on 1 thread")])
    # Stage 4: ATen's AVX-512 kernels (Debian's torch 1.13 picks AVX2 by default).
    if "avx512f" in flags and current.get("aten_capability") != "AVX512":
        current = best([current, attempt(dict(current["config"], aten_capability="avx512"), "ATen avx512")])
    best_train, best_score = best(tried), best(tried, "score_fastest_step_img_s")
    verbose = run_child(a, best_train["config"], 1, 0, {"DNNL_VERBOSE": "1", "ONEDNN_VERBOSE": "1"})
    onednn = onednn_summary(verbose.get("output", ""))
    for entry in tried:
        entry.pop("output", None)
    print("torch_probe " + json.dumps({"threads": a.threads, "size": a.size, "batch": a.batch,
                                       "probe_steps": a.probe_steps, "probe_warmup": a.probe_warmup,
                                       "tried": tried, "default": tried[0], "best_train": best_train,
                                       "best_score": best_score, "onednn": onednn}), flush=True)
    return 0


def main(argv):
    a = parse_args(argv)
    if a.probe:
        return probe(a)
    apply_configuration(a)
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
        """Images per second over the timed steps, CPU over wall time, the last result, and
        the images per second of the fastest step (the least disturbed: --probe ranks by it)."""
        for _ in range(a.warmup):
            fn()
        cpu0, t0 = cpu_seconds(), time.perf_counter()
        fastest, last = float("inf"), t0
        for _ in range(a.steps):
            out = fn()
            now = time.perf_counter()
            fastest, last = min(fastest, now - last), now
        wall = last - t0
        return a.batch * a.steps / wall, (cpu_seconds() - cpu0) / wall, out, a.batch / fastest

    train_img_s = train_cpu = score_img_s = score_cpu = train_best = score_best = 0.0
    losses = ()
    if a.task in ("both", "train"):
        train_img_s, train_cpu, losses, train_best = timed(lambda: fair_train_step(G, D, og, od, x))
    if a.task in ("both", "score"):
        score_img_s, score_cpu, _, score_best = timed(lambda: score(G, x, window))
    result = {
        "torch_version": torch.__version__,
        "size": a.size,
        "batch": a.batch,
        "steps": a.steps,
        "warmup": a.warmup,
        "threads": a.threads,
        "blas_threads": a.blas_threads,
        "task": a.task,
        "torch_num_threads": torch.get_num_threads(),
        "torch_num_interop_threads": torch.get_num_interop_threads(),
        "env": behaviour_environment(),
        "blas": loaded_blas(),
        "aten_capability": aten_capability(torch),
        "onednn_available": torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled,
        "os_threads": proc_status("Threads"),
        "train_img_s": train_img_s,
        "score_img_s": score_img_s,
        "train_fastest_step_img_s": train_best,
        "score_fastest_step_img_s": score_best,
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
