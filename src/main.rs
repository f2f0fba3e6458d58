//! Thin binary: everything lives in the library so tests and benches reach it.
// Loading a million customers makes tens of millions of small allocations from two
// threads; mimalloc halves the time glibc's allocator spends on them (bench/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(dunwell::cmd::main());
}
