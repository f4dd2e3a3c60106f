"""The super-resolution network in PyTorch, its weights file, and the reference inference the C kernel
is tested and benchmarked against (the same maths as superres.c, written independently of it).

    /usr/bin/python3 sr_model.py WEIGHTS IN.f32 OUT.f32 HEIGHT WIDTH [--threads N] [--repeat N]

reads a band-sequential float32 image (4 x HEIGHT x WIDTH), writes the super-resolved one (4 x sH x sW)
and prints the inference time of the network in seconds (the best of --repeat runs).

Weights file (little-endian): "NDSR", then uint32 version (1), scale, bands, features, blocks, nconv;
then per convolution uint32 out, in, k, float32 weight[out][in][k][k], float32 bias[out]."""
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MAGIC = b"NDSR"


class Block(nn.Module):
    """EDSR's residual block without batch normalisation: x + conv(relu(conv(x)))."""

    def __init__(self, nf):
        super().__init__()
        self.c1 = nn.Conv2d(nf, nf, 3, padding=1)
        self.c2 = nn.Conv2d(nf, nf, 3, padding=1)

    def forward(self, x):
        return x + self.c2(F.relu(self.c1(x)))


class SR(nn.Module):
    """Head convolution, residual blocks, a tail convolution to bands*scale^2 channels and a pixel
    shuffle (ESPCN), added to the bicubic enlargement of the input (Keys a = -0.75, pixel centres
    aligned, border replicated): the network learns what bicubic misses, the PSF's blur above all.
    Inputs and outputs are standardised per band by the caller."""

    def __init__(self, scale, bands=4, nf=32, blocks=3):
        super().__init__()
        self.scale, self.bands, self.nf = scale, bands, nf
        self.head = nn.Conv2d(bands, nf, 3, padding=1)
        self.body = nn.ModuleList([Block(nf) for _ in range(blocks)])
        self.tail = nn.Conv2d(nf, bands * scale * scale, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # training starts from bicubic
        nn.init.zeros_(self.tail.bias)

    def convs(self):
        out = [self.head]
        for b in self.body:
            out += [b.c1, b.c2]
        return out + [self.tail]

    def forward(self, x):
        y = F.relu(self.head(x))
        for b in self.body:
            y = b(y)
        y = F.pixel_shuffle(self.tail(y), self.scale)
        return y + F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)


def save(model, path):
    convs = model.convs()
    with open(path, "wb") as f:
        f.write(MAGIC + struct.pack("<6I", 1, model.scale, model.bands, model.nf, len(model.body), len(convs)))
        for c in convs:
            w = c.weight.detach().cpu().numpy().astype("<f4")
            f.write(struct.pack("<3I", w.shape[0], w.shape[1], w.shape[2]))
            f.write(w.tobytes())
            f.write(c.bias.detach().cpu().numpy().astype("<f4").tobytes())


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != MAGIC:
        raise ValueError(f"{path}: not a nadir super-resolution weights file")
    version, scale, bands, nf, blocks, nconv = struct.unpack_from("<6I", data, 4)
    if version != 1 or nconv != 2 * blocks + 2:
        raise ValueError(f"{path}: unsupported version or layout")
    model = SR(scale, bands, nf, blocks)
    off = 28
    for c in model.convs():
        o, i, k = struct.unpack_from("<3I", data, off)
        off += 12
        n = o * i * k * k
        c.weight.data = torch.from_numpy(np.frombuffer(data, "<f4", n, off).reshape(o, i, k, k).copy())
        off += 4 * n
        c.bias.data = torch.from_numpy(np.frombuffer(data, "<f4", o, off).copy())
        off += 4 * o
    if off != len(data):
        raise ValueError(f"{path}: {len(data) - off} trailing bytes")
    return model.eval()


def standardise(x):
    """Per-band mean and standard deviation over the whole image (float64), as the C kernel does."""
    x64 = x.astype(np.float64)
    mean = x64.mean(axis=(1, 2))
    std = x64.std(axis=(1, 2))
    std[std < 1e-6] = 1.0
    return mean, std


def infer(model, x):
    """x: bands x H x W float32 -> bands x sH x sW float32, standardised as the C kernel does."""
    mean, std = standardise(x)
    xn = ((x - mean[:, None, None]) / std[:, None, None]).astype(np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(xn)[None])[0].numpy().astype(np.float64)
    return (y * std[:, None, None] + mean[:, None, None]).astype(np.float32)


def main(argv):
    threads, repeat = 1, 1
    args = []
    it = iter(argv[1:])
    for a in it:
        if a == "--threads":
            threads = int(next(it))
        elif a == "--repeat":
            repeat = int(next(it))
        else:
            args.append(a)
    if len(args) != 5:
        sys.stderr.write(__doc__)
        return 2
    torch.set_num_threads(threads)
    model = load(args[0])
    h, w = int(args[3]), int(args[4])
    x = np.fromfile(args[1], "<f4").reshape(model.bands, h, w)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        y = infer(model, x)
        best = min(best, time.perf_counter() - t0)
    y.astype("<f4").tofile(args[2])
    print(f"{best:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
