// libvmd-alloccount.so: counts a process's heap allocations for venus-bench --mirror (allocations per
// value change). Preloaded into the measured process:
//
//     LD_PRELOAD=build/libvmd-alloccount.so VMD_ALLOC_COUNT_FILE=/tmp/allocs build/venus-modbusd ...
//
// It passes malloc, calloc, realloc and free on to glibc (__libc_malloc...) and counts the calls of the
// first three, and of C++ operator new (which then calls malloc: counted in both). The counts live in
// a shared mapping of VMD_ALLOC_COUNT_FILE (struct AllocCounts below), so that a reader sees them
// without the counted process making a system call, waking up or allocating for it.

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

extern "C" {
void* __libc_malloc(std::size_t size);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void __libc_free(void* p);
}

namespace {

/// The layout of the count file (venus-bench reads it: tools/venus-bench/MirrorWatch.cpp).
struct AllocCounts {
    std::uint64_t magic;  ///< kMagic once the file is mapped
    std::uint64_t allocs; ///< malloc + calloc + realloc calls (operator new included)
    std::uint64_t news;   ///< operator new and new[] calls
};
constexpr std::uint64_t kMagic = 0x544e434f4c4c4156ULL; // "VALLOCNT" little-endian

AllocCounts early{}; ///< counts before the file is mapped (the loader, static constructors)
AllocCounts* counts = &early;

void count(std::uint64_t AllocCounts::*field) {
    __atomic_fetch_add(&(counts->*field), 1, __ATOMIC_RELAXED);
}

__attribute__((constructor)) void mapCountFile() {
    const char* path = std::getenv("VMD_ALLOC_COUNT_FILE");
    if (!path || !*path) return;
    const int fd = ::open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return;
    void* map = MAP_FAILED;
    if (::ftruncate(fd, 4096) == 0) map = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    ::close(fd);
    if (map == MAP_FAILED) return;
    auto* mapped = static_cast<AllocCounts*>(map);
    mapped->allocs = early.allocs;
    mapped->news = early.news;
    mapped->magic = kMagic;
    counts = mapped;
}

void* newOrThrow(std::size_t size) {
    count(&AllocCounts::news);
    for (;;) {
        if (void* p = std::malloc(size ? size : 1)) return p;
        auto handler = std::get_new_handler();
        if (!handler) throw std::bad_alloc();
        handler();
    }
}

} // namespace

extern "C" {
__attribute__((visibility("default"))) void* malloc(std::size_t size) {
    count(&AllocCounts::allocs);
    return __libc_malloc(size);
}
__attribute__((visibility("default"))) void* calloc(std::size_t n, std::size_t size) {
    count(&AllocCounts::allocs);
    return __libc_calloc(n, size);
}
__attribute__((visibility("default"))) void* realloc(void* p, std::size_t size) {
    count(&AllocCounts::allocs);
    return __libc_realloc(p, size);
}
__attribute__((visibility("default"))) void free(void* p) {
    __libc_free(p);
}
}

__attribute__((visibility("default"))) void* operator new(std::size_t size) {
    return newOrThrow(size);
}
__attribute__((visibility("default"))) void* operator new[](std::size_t size) {
    return newOrThrow(size);
}
__attribute__((visibility("default"))) void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
    count(&AllocCounts::news);
    return std::malloc(size ? size : 1);
}
__attribute__((visibility("default"))) void* operator new[](std::size_t size,
                                                            const std::nothrow_t&) noexcept {
    count(&AllocCounts::news);
    return std::malloc(size ? size : 1);
}
