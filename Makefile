# Thin wrapper around CMake and CTest.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
PACKAGES := cmake g++ make libxsimd-dev libstb-dev libcxxopts-dev doctest-dev nlohmann-json3-dev
DEMO_DIR ?= $(BUILD)/demo

PREFIX ?= /usr/local

.PHONY: all deps build test test-asan test-asan-quick test-tsan test-sanitizers demo bench bench-deps fuzz clean install static test-arm64 test-portable test-noomp cuda test-cuda test-slurm

all: build

# Installs the Debian packages of $(1) that are missing: as root, or through a sudo that
# asks no password; otherwise says "$(2)" and the command to run, and fails.
install_missing = @missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; \
	else echo "$(2):$$missing"; echo "run: sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; fi; \
	echo "installing:$$missing"; \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq$$missing

deps:
	$(call install_missing,$(PACKAGES),missing packages)

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# The suite, then the same suite under AddressSanitizer and UndefinedBehaviorSanitizer
# with test_train and test_robustness as their quick cases (test-asan-quick): together
# they fit CI's 15 minutes on two cores. SANITIZE=0 skips the second pass.
SANITIZE ?= 1
test: deps
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
ifneq ($(SANITIZE),0)
	$(MAKE) test-asan-quick
endif

# The whole suite under AddressSanitizer and UndefinedBehaviorSanitizer (GCC). Sanitized
# tests run several times slower: on a busy machine use ASAN_JOBS=1; the per-test limit
# is SANITIZER_TIMEOUT seconds.
ASAN_JOBS ?= $(JOBS)
SANITIZER_TIMEOUT ?= 3600
test-asan: deps
	$(MAKE) build BUILD=build-asan CMAKE_FLAGS="-DGANOMALY_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo"
	cd build-asan && ctest --output-on-failure -j $(ASAN_JOBS) --timeout $(SANITIZER_TIMEOUT)

# The sanitized suite that fits CI (make test runs it): every test, the two long ones as
# their :quick cases (CMakeLists.txt); test-asan runs them whole.
test-asan-quick: deps
	$(MAKE) build BUILD=build-asan CMAKE_FLAGS="-DGANOMALY_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo"
	cd build-asan && ctest --output-on-failure -j $(ASAN_JOBS) --timeout $(SANITIZER_TIMEOUT) -LE slow

# The threaded tests under ThreadSanitizer, built with clang so that OpenMP is LLVM's
# libomp: under TSan it loads the Archer tool (libarcher, Debian's libomp-dev), which
# tells TSan about OpenMP's barriers and reductions. GCC's libgomp is not instrumented
# and would show its own synchronisation as races, so no suppression file is needed or
# kept: every report is about our code. ignore_noninstrumented_modules is what Archer
# asks for (libomp, libstb and libstdc++ are not instrumented).
TSAN_TESTS ?= test_gemm test_kernels test_autograd test_ops_gradcheck test_dataset test_train test_capi
TSAN_ENV = OMP_NUM_THREADS=2 TSAN_OPTIONS="ignore_noninstrumented_modules=1 halt_on_error=1 second_deadlock_stack=1"
test-tsan: deps
	@command -v clang++ >/dev/null || { echo "make test-tsan needs clang: apt-get install -y clang libomp-dev"; exit 1; }
	@test -f build-tsan/CMakeCache.txt || CC=clang CXX=clang++ cmake -S . -B build-tsan \
	  -DGANOMALY_SANITIZE_THREAD=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build build-tsan -j $(JOBS) --target $(TSAN_TESTS) ganomaly_infer
	cd build-tsan && $(TSAN_ENV) ctest --output-on-failure -j $(ASAN_JOBS) --timeout $(SANITIZER_TIMEOUT) \
	  -R '^($(subst $() ,|,$(strip $(TSAN_TESTS))))$$'

# For CI: the ASan+UBSan suite, then TSan on the threaded tests but test_train (alone
# 19 minutes under TSan on two busy cores; make test-tsan runs it).
TSAN_CI_TESTS ?= $(filter-out test_train,$(TSAN_TESTS))
test-sanitizers: test-asan
	$(MAKE) test-tsan TSAN_TESTS="$(TSAN_CI_TESTS)"

demo: deps
	$(MAKE) build
	$(BUILD)/ganomaly_make_data --layout mvtec --category bottle --size 128 --train 200 --test-good 20 --test-bad 40 --out $(DEMO_DIR)/data --overwrite
	$(BUILD)/ganomaly_train $(DEMO_DIR)/data/bottle --out $(DEMO_DIR)/run
	$(BUILD)/ganomaly_test $(DEMO_DIR)/run/model.gnm $(DEMO_DIR)/data/bottle
	$(BUILD)/ganomaly_infer $(DEMO_DIR)/run/model.gnm $(DEMO_DIR)/data/bottle/test/scratch --maps $(DEMO_DIR)/maps

# The fair speed table against PyTorch and ONNX Runtime (README, "Speed against PyTorch and
# ONNX Runtime"): about 15 minutes on two cores (estimated); run it alone. PyTorch first
# tries its configurations (tools/torch_bench.py --probe) and is timed in its fastest;
# ONNX Runtime comes from npm into $(BUILD)/onnxruntime (tools/onnxruntime/install.sh; the
# bench notes it as skipped without node or the registry). bench-deps installs
# BENCH_PACKAGES when it can: PyTorch, and OpenBLAS, without which Debian's torch runs its
# transposed convolutions on the reference BLAS (libblas3) several times slower. The
# Markdown goes to BENCH_MARKDOWN, which tools/update_speed_table.py pastes into the
# README. BENCH_GEMM=0 skips bench_gemm.
BENCH_PACKAGES := python3-torch libopenblas0-pthread
BENCH_CONFIGS ?= 64:32:1,64:32:2,256:4:2
BENCH_FLAGS ?= --compare-torch --compare-onnxruntime --onnxruntime $(BUILD)/onnxruntime/node_modules --configs $(BENCH_CONFIGS)
BENCH_MARKDOWN ?= $(BUILD)/speed_table.md
BENCH_GEMM ?= 1
bench-deps:
	$(call install_missing,$(BENCH_PACKAGES),make bench needs)

bench: deps bench-deps
	$(MAKE) build
	-tools/onnxruntime/install.sh $(BUILD)
	OMP_NUM_THREADS=2 $(BUILD)/ganomaly_bench $(BENCH_FLAGS) --markdown $(BENCH_MARKDOWN) --json $(BUILD)/speed_table.json
	@echo "into the README: python3 tools/update_speed_table.py $(BENCH_MARKDOWN)"
ifneq ($(BENCH_GEMM),0)
	OMP_NUM_THREADS=2 $(BUILD)/bench_gemm
endif

# The Slurm job-array recipe (tools/slurm/) end to end on a one-node Slurm started on this
# machine from Debian's packages (installed when missing; needs root): four array tasks,
# the collect job, and each task's model against a plain run's, byte for byte. Optional:
# make test does not run it. About half a minute once built.
SLURM_PACKAGES := slurmctld slurmd slurm-client munge
test-slurm: deps
	@[ "$$(id -u)" = 0 ] || { echo "make test-slurm needs root: it starts munged, slurmctld and slurmd"; exit 1; }
	$(call install_missing,$(SLURM_PACKAGES),make test-slurm needs)
	$(MAKE) $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS) --target ganomaly_categories ganomaly_make_data
	tools/slurm/test_slurm.sh $(BUILD)

install: deps
	$(MAKE) build
	cmake --install $(BUILD) --prefix $(PREFIX)

# Fully static, portable (no -march=native) apps in build-static/: libc, libgomp and libstb linked in.
static: deps
	$(MAKE) build BUILD=build-static CMAKE_FLAGS="-DGANOMALY_STATIC=ON -DGANOMALY_NATIVE=OFF -DBUILD_TESTING=OFF $(CMAKE_FLAGS)"

# The CUDA backend in build-cuda/ (nvcc from /usr/local/cuda; sm_80 and sm_90 unless
# CMAKE_FLAGS sets CMAKE_CUDA_ARCHITECTURES). Its CUDA tests skip, saying why, without a GPU.
cuda: deps
	$(MAKE) build BUILD=build-cuda CMAKE_FLAGS="-DGANOMALY_CUDA=ON $(CMAKE_FLAGS)"

test-cuda: deps
	$(MAKE) cuda
	cd build-cuda && ctest --output-on-failure -j $(JOBS)

# Cross-compiles for aarch64 (NEON) and runs the suite under qemu: needs the Debian
# packages crossbuild-essential-arm64 and qemu-user-static. The tests labelled slow run
# as their quick :quick subsets (see CMakeLists.txt).
test-arm64: deps
	$(MAKE) build BUILD=build-arm64 CMAKE_FLAGS="-DCMAKE_TOOLCHAIN_FILE=cmake/aarch64.cmake $(CMAKE_FLAGS)"
	cd build-arm64 && ctest --output-on-failure -j $(JOBS) -LE slow --timeout 1800

# Portable (no -march=native) build in build-portable/: the GEMM kernel set is chosen at
# run time, and ctest runs the kernel-sensitive tests once per set (test_gemm:sse2 ...).
test-portable: deps
	$(MAKE) build BUILD=build-portable CMAKE_FLAGS="-DGANOMALY_NATIVE=OFF $(CMAKE_FLAGS)"
	cd build-portable && ctest --output-on-failure -j $(JOBS)

# Without OpenMP (build-noomp/): the whole suite single-threaded.
test-noomp: deps
	$(MAKE) build BUILD=build-noomp CMAKE_FLAGS="-DGANOMALY_OPENMP=OFF $(CMAKE_FLAGS)"
	cd build-noomp && ctest --output-on-failure -j $(JOBS)

# libFuzzer targets (clang) for the image loader, the checkpoint reader and the VisA CSV
# reader, each run from the committed seeds in tests/fuzz/corpus for FUZZ_SECONDS, or for
# FUZZ_RUNS executions (make fuzz FUZZ_RUNS=1000000; then no time limit unless
# FUZZ_SECONDS is given too). FUZZ_TARGETS picks some of them.
FUZZ_RUNS ?=
ifeq ($(FUZZ_RUNS),)
FUZZ_SECONDS ?= 60
else
FUZZ_SECONDS ?= 0
endif
FUZZ_TARGETS ?= image checkpoint visa_csv
fuzz:
	@command -v clang++ >/dev/null || { echo "make fuzz needs clang: apt-get install -y clang"; exit 1; }
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -DGANOMALY_FUZZ=ON -DGANOMALY_OPENMP=OFF -DGANOMALY_STB_FROM_SOURCE=ON -DBUILD_TESTING=OFF -DGANOMALY_EXAMPLES=OFF
	cmake --build build-fuzz -j $(JOBS) --target fuzz_image fuzz_checkpoint fuzz_visa_csv
	for f in $(FUZZ_TARGETS); do mkdir -p build-fuzz/corpus/$$f && \
	  build-fuzz/fuzz_$$f build-fuzz/corpus/$$f tests/fuzz/corpus/$$f -max_total_time=$(FUZZ_SECONDS) \
	    $(if $(FUZZ_RUNS),-runs=$(FUZZ_RUNS)) -print_final_stats=1 || exit 1; done

clean:
	rm -rf build build-asan build-tsan build-fuzz build-static build-arm64 build-portable build-noomp build-cuda
