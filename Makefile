# Thin wrapper around CMake and CTest.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
PACKAGES := cmake g++ make libxsimd-dev libstb-dev libcxxopts-dev doctest-dev nlohmann-json3-dev
DEMO_DIR ?= $(BUILD)/demo

PREFIX ?= /usr/local

.PHONY: all deps build test test-asan demo bench fuzz clean install static test-arm64 test-portable test-noomp cuda test-cuda

all: build

deps:
	@missing=""; for p in $(PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; \
	else echo "missing packages:$$missing"; echo "run: sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; fi; \
	echo "installing:$$missing"; \
	$$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq$$missing

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: deps
	$(MAKE) build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: deps
	$(MAKE) build BUILD=build-asan CMAKE_FLAGS="-DGANOMALY_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo"
	cd build-asan && ctest --output-on-failure -j $(JOBS)

demo: deps
	$(MAKE) build
	$(BUILD)/ganomaly_make_data --layout mvtec --category bottle --size 128 --train 200 --test-good 20 --test-bad 40 --out $(DEMO_DIR)/data --overwrite
	$(BUILD)/ganomaly_train $(DEMO_DIR)/data/bottle --out $(DEMO_DIR)/run
	$(BUILD)/ganomaly_test $(DEMO_DIR)/run/model.gnm $(DEMO_DIR)/data/bottle
	$(BUILD)/ganomaly_infer $(DEMO_DIR)/run/model.gnm $(DEMO_DIR)/data/bottle/test/scratch

bench: deps
	$(MAKE) build
	OMP_NUM_THREADS=2 $(BUILD)/ganomaly_bench $(BENCH_FLAGS)
	OMP_NUM_THREADS=2 $(BUILD)/bench_gemm

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
# as their quick :emulated subsets (see CMakeLists.txt).
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
# reader, each run FUZZ_SECONDS from the committed seeds in tests/fuzz/corpus.
FUZZ_SECONDS ?= 60
fuzz:
	@command -v clang++ >/dev/null || { echo "make fuzz needs clang: apt-get install -y clang"; exit 1; }
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -DGANOMALY_FUZZ=ON -DGANOMALY_OPENMP=OFF -DGANOMALY_STB_FROM_SOURCE=ON -DBUILD_TESTING=OFF -DGANOMALY_EXAMPLES=OFF
	cmake --build build-fuzz -j $(JOBS) --target fuzz_image fuzz_checkpoint fuzz_visa_csv
	for f in image checkpoint visa_csv; do mkdir -p build-fuzz/corpus/$$f && \
	  build-fuzz/fuzz_$$f build-fuzz/corpus/$$f tests/fuzz/corpus/$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 || exit 1; done

clean:
	rm -rf build build-asan build-static build-arm64 build-portable build-noomp build-cuda
