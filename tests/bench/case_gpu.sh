#!/usr/bin/env bash
# Case gpu: the kernels' CUDA paths against their CPU paths on the same input, when this machine has an
# NVIDIA GPU (nvidia-smi lists one and nvcc is installed); otherwise it says so and measures nothing.
# Today: super-resolution (processes/superres/superres_cuda.cu: cuBLAS sgemm + small kernels) at scales
# 2 and 4 on a BENCH_GPU_SIDE^2 4-band image: output Mpixel/s on the GPU and on 2 CPU cores, the
# speed-up, the convolutions' GFLOP/s and their fraction of the GPU's FP32 peak (BENCH_GPU_PEAK_TFLOPS,
# else looked up by name for the H100/H200/A100), and the largest GPU-CPU difference.
# Usage: case_gpu.sh NADIR_BIN   (normally through run.sh; the binary itself is not used)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ROOT=$(cd "$BENCH_DIR/../.." && pwd)
SRC=$ROOT/processes/superres
SIDE=${BENCH_GPU_SIDE:-1024}
REPEAT=${BENCH_GPU_REPEAT:-3}
NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
GPU=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
if [[ -z $GPU || ! -x $NVCC ]]; then
    bench_peer "the CPU path on 2 cores"
    bench_metric gpus_found 0 0 higher - # a row that says the case ran and found nothing to measure
    bench_note "gpu: no NVIDIA GPU on this machine (nvidia-smi lists none${GPU:+, nvcc missing}): nothing measured"
    exit 0
fi
CUDA_HOME=$(cd "$(dirname "$NVCC")/.." && pwd)
# the GPU code as the program loads it: a module (sr_device.c dlopens it)
"$NVCC" -O2 -Xcompiler -fPIC -shared -I"$SRC" "$SRC/superres_cuda.cu" -o "$BENCH_TMP/libnadir_cuda.so" \
    -L"$CUDA_HOME/lib64" -Xlinker -rpath,"$CUDA_HOME/lib64" -lcublas -lcudart || bench_die "nvcc failed"
cc -O2 -std=gnu11 -DND_HAVE_CUDA=1 -DND_CUDA_MODULE="\"$BENCH_TMP/libnadir_cuda.so\"" -I"$SRC" \
    -I/usr/include/x86_64-linux-gnu/openblas-pthread -o "$BENCH_TMP/sr_gpu" \
    "$BENCH_DIR/superres_bench.c" "$SRC/superres.c" "$SRC/sr_model.c" "$SRC/sr_device.c" -lopenblas -ldl -lpthread -lm ||
    bench_die "building the GPU driver failed"
PEAK=${BENCH_GPU_PEAK_TFLOPS:-}
case $GPU in
    *H200* | *H100*SXM* | *H100\ 80GB\ HBM3*) PEAK=${PEAK:-67} ;;
    *H100*) PEAK=${PEAK:-51} ;;
    *A100*) PEAK=${PEAK:-19.5} ;;
esac
PIN=()
command -v taskset >/dev/null && PIN=(taskset -c 0,1)
export OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2
val() { sed -n "s/^$1 //p" "$2"; }

bench_peer "the CPU path on 2 cores (OpenBLAS); GPU: $GPU"
for s in 2 4; do
    bench_run "${PIN[@]}" "$BENCH_TMP/sr_gpu" "$SRC/superres_x$s.bin" "$SIDE" 128 cpu 1 "$BENCH_TMP/in.f32" \
        "$BENCH_TMP/cpu_x$s.f32" >"$BENCH_TMP/cpu$s.txt" || bench_die "CPU x$s failed"
    bench_run "$BENCH_TMP/sr_gpu" "$SRC/superres_x$s.bin" "$SIDE" 512 cuda "$REPEAT" "$BENCH_TMP/in.f32" \
        "$BENCH_TMP/gpu_x$s.f32" >"$BENCH_TMP/gpu$s.txt" || bench_die "GPU x$s failed"
    cat "$BENCH_TMP/cpu$s.txt" "$BENCH_TMP/gpu$s.txt" >&2
    gf=$(val GFLOPS "$BENCH_TMP/gpu$s.txt")
    diff=$(/usr/bin/python3 -c 'import numpy as np, sys; a, b = (np.fromfile(p, "<f4") for p in sys.argv[1:]); print(f"{np.abs(a - b).max():.3g}")' \
        "$BENCH_TMP/cpu_x$s.f32" "$BENCH_TMP/gpu_x$s.f32")
    bench_metric "superres_x${s}_mpix_per_s" "$(val MPIX_PER_S "$BENCH_TMP/gpu$s.txt")" \
        "$(val MPIX_PER_S "$BENCH_TMP/cpu$s.txt")" higher -
    bench_note "gpu superres x$s: ${SIDE}^2 input, $gf GFLOP/s${PEAK:+ = $(awk -v g="$gf" -v p="$PEAK" 'BEGIN { printf "%.1f%%", 100 * g / (p * 1000) }') of $PEAK TFLOP/s FP32}; GPU-CPU max difference $diff"
done
