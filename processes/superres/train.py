"""Trains the super-resolution networks (x2 and x4) by the Wald protocol and writes their weights beside
this script (superres_x2.bin, superres_x4.bin) and the held-out test pairs into tests/data/superres/.

    /usr/bin/python3 processes/superres/train.py [--samples var/samples] [--steps 400] [--seed 7]

Data recipe (everything below is fixed by the seed):
  * the sharpest 4-band imagery at hand: the Landsat 7 ETM+ scene that r-cran-stars ships
    (stars/tif/L7_ETMs.tif, 349 x 352 px, 30 m, UTM 25S), bands 3, 2, 1, 4 = red, green, blue, NIR;
  * rows 0-263 train, rows 264-351 (columns 0-347) are held out for testing and never seen in training;
  * the Wald protocol: the image is taken as the truth at high resolution, and the low-resolution input
    is made from it as a Sentinel-2-like sensor would see it: a Gaussian PSF whose MTF at the Nyquist
    frequency of the coarse grid is 0.3 (sigma = 0.494 coarse pixels), sampled at the centres of the
    s x s blocks (so both grids cover the same extent), border reflected;
  * per-band standardisation by the mean and standard deviation of the low-resolution input;
  * random 32 px (x2) / 24 px (x4) low-resolution patches with the 8 flips and rotations, batch 8,
    L1 loss, Adam 1e-3 with cosine decay to 1e-5, --steps steps (400), torch.manual_seed(seed), numpy seed(seed),
    --threads 2 (PyTorch's CPU sums may differ in the last bits with another thread count).
The network is sr_model.SR (3 residual blocks of 32 features). On the held-out rows it prints the PSNR
and SSIM of the network and of bicubic interpolation per band."""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from osgeo import gdal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sr_model  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
L7 = "stars/usr/lib/R/site-library/stars/tif/L7_ETMs.tif"
BANDS = (3, 2, 1, 4)  # red, green, blue, NIR of ETM+
SPLIT_ROW, TEST_COLS = 264, 348
MTF_NYQUIST = 0.3
PATCH = {2: 32, 4: 24}
BATCH = 8


def psf_sigma(scale):
    """Gaussian sigma in fine pixels whose MTF at the coarse Nyquist frequency is MTF_NYQUIST."""
    return math.sqrt(-2 * math.log(MTF_NYQUIST)) / math.pi * scale


def degrade(hr, scale):
    """bands x H x W (H, W multiples of scale) -> bands x H/s x W/s: Gaussian PSF centred on each s x s
    block, reflected border."""
    sigma = psf_sigma(scale)
    pad = int(math.ceil(3 * sigma))
    t = np.arange(2 * pad + scale) - pad - (scale - 1) / 2.0
    g = np.exp(-0.5 * (t / sigma) ** 2)
    g = torch.tensor(g / g.sum(), dtype=torch.float64)
    nb = hr.shape[0]
    x = torch.from_numpy(hr.astype(np.float64))[None]
    x = F.pad(x, (pad, pad, pad, pad), mode="reflect")
    x = F.conv2d(x, g.view(1, 1, -1, 1).repeat(nb, 1, 1, 1), stride=(scale, 1), groups=nb)
    x = F.conv2d(x, g.view(1, 1, 1, -1).repeat(nb, 1, 1, 1), stride=(1, scale), groups=nb)
    return x[0].numpy().astype(np.float32)


def bicubic(lr, scale):
    x = torch.from_numpy(lr)[None]
    return F.interpolate(x, scale_factor=scale, mode="bicubic", align_corners=False)[0].numpy()


def psnr(a, b, peak=255.0):
    return 10 * math.log10(peak * peak / float(np.mean((a.astype(np.float64) - b) ** 2)))


def ssim(a, b, peak=255.0):
    """Wang et al. 2004: 11 x 11 Gaussian window, sigma 1.5, valid part only."""
    t = np.arange(11) - 5.0
    g = np.exp(-0.5 * (t / 1.5) ** 2)
    g /= g.sum()
    w = torch.tensor(np.outer(g, g))[None, None]

    def blur(z):
        return F.conv2d(torch.from_numpy(z)[None, None], w)[0, 0].numpy()

    a, b = a.astype(np.float64), b.astype(np.float64)
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    ma, mb = blur(a), blur(b)
    va, vb, cov = blur(a * a) - ma * ma, blur(b * b) - mb * mb, blur(a * b) - ma * mb
    return float(np.mean((2 * ma * mb + c1) * (2 * cov + c2) / ((ma * ma + mb * mb + c1) * (va + vb + c2))))


def dihedral(x, k):
    x = torch.rot90(x, k % 4, (2, 3))
    return torch.flip(x, (3,)) if k >= 4 else x


def train(hr, scale, steps, seed):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    lr = degrade(hr, scale)
    mean, std = sr_model.standardise(lr)
    norm = lambda z: ((z - mean[:, None, None]) / std[:, None, None]).astype(np.float32)  # noqa: E731
    x_all, y_all = torch.from_numpy(norm(lr)), torch.from_numpy(norm(hr))
    model = sr_model.SR(scale)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps, eta_min=1e-5)
    p = PATCH[scale]
    t0 = time.time()
    for step in range(steps):
        xs, ys = [], []
        for _ in range(BATCH):
            i = int(rng.integers(0, lr.shape[1] - p + 1))
            j = int(rng.integers(0, lr.shape[2] - p + 1))
            k = int(rng.integers(0, 8))
            xs.append(dihedral(x_all[None, :, i:i + p, j:j + p], k))
            ys.append(dihedral(y_all[None, :, i * scale:(i + p) * scale, j * scale:(j + p) * scale], k))
        loss = F.l1_loss(model(torch.cat(xs)), torch.cat(ys))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 250 == 0 or step == steps - 1:
            print(f"x{scale} step {step:5d} loss {loss.item():.4f} ({time.time() - t0:.0f} s)", flush=True)
    return model.eval()


def write_tif(path, arr, gt, wkt, dtype):
    opts = ["COMPRESS=DEFLATE", "PREDICTOR=3" if dtype == gdal.GDT_Float32 else "PREDICTOR=2"]
    ds = gdal.GetDriverByName("GTiff").Create(path, arr.shape[2], arr.shape[1], arr.shape[0], dtype, opts)
    ds.SetGeoTransform(gt)
    ds.SetProjection(wkt)
    for b in range(arr.shape[0]):
        ds.GetRasterBand(b + 1).WriteArray(arr[b])
    ds = None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", default=os.path.join(ROOT, "var", "samples"))
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--scales", default="2,4")
    ap.add_argument("--out", default=HERE, help="folder of the weights files")
    ap.add_argument("--pairs", default=os.path.join(ROOT, "tests", "data", "superres"))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    src = gdal.Open(os.path.join(a.samples, L7))
    img = np.stack([src.GetRasterBand(b).ReadAsArray().astype(np.float32) for b in BANDS])
    gt, wkt = src.GetGeoTransform(), src.GetProjection()
    train_hr = img[:, :SPLIT_ROW, :TEST_COLS]
    test_hr = img[:, SPLIT_ROW:, :TEST_COLS]
    os.makedirs(a.pairs, exist_ok=True)
    test_gt = (gt[0], gt[1], gt[2], gt[3] + SPLIT_ROW * gt[5], gt[4], gt[5])
    write_tif(os.path.join(a.pairs, "heldout_hr.tif"), test_hr.astype(np.uint8), test_gt, wkt, gdal.GDT_Byte)
    for scale in (int(s) for s in a.scales.split(",")):
        model = train(train_hr, scale, a.steps, a.seed)
        sr_model.save(model, os.path.join(a.out, f"superres_x{scale}.bin"))
        lr = degrade(test_hr, scale)
        lgt = (test_gt[0], test_gt[1] * scale, 0, test_gt[3], 0, test_gt[5] * scale)
        write_tif(os.path.join(a.pairs, f"heldout_lr_x{scale}.tif"), lr, lgt, wkt, gdal.GDT_Float32)
        sr = sr_model.infer(sr_model.load(os.path.join(a.out, f"superres_x{scale}.bin")), lr)
        bc = bicubic(lr, scale)
        b = 2 * scale  # the border both methods guess
        for k, name in enumerate(("red", "green", "blue", "nir")):
            t, s_, c = test_hr[k, b:-b, b:-b], sr[k, b:-b, b:-b], bc[k, b:-b, b:-b]
            print(f"x{scale} {name:5s} PSNR {psnr(t, s_):6.2f} dB (bicubic {psnr(t, c):6.2f}, gain "
                  f"{psnr(t, s_) - psnr(t, c):+.2f})  SSIM {ssim(t, s_):.4f} (bicubic {ssim(t, c):.4f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
