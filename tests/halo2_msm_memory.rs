//! The memory the patched `best_multiexp` (vendor/halo2_proofs, ZKINFER_PATCHES.md) takes on
//! top of its inputs, against the published crate's, at the sizes of a verifier's final
//! multi-exponentiation (`2^k` points with full-width scalars, plus a few).
//!
//! A counting allocator measures the peak of live heap bytes during one call, minus those live
//! before it. One test at a time: the counter is global to this test binary.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use ff::Field;
use group::{Curve, Group};
use pasta_curves::{Eq, EqAffine, Fp};
use rand::rngs::StdRng;
use rand::SeedableRng;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            if new_size >= layout.size() {
                let grow = new_size - layout.size();
                let live = LIVE.fetch_add(grow, Ordering::Relaxed) + grow;
                PEAK.fetch_max(live, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// One measurement at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// Peak heap bytes `f` holds beyond what was live when it started, and its result.
fn extra_peak<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let result = f();
    (PEAK.load(Ordering::Relaxed) - before, result)
}

/// `n` distinct bases (an arithmetic progression from a random point: cheap to make, and
/// nothing in a multi-exponentiation's memory depends on how the bases relate) and `n`
/// full-width random scalars.
fn inputs(n: usize) -> (Vec<EqAffine>, Vec<Fp>) {
    let mut rng = StdRng::seed_from_u64(n as u64);
    let step = Eq::generator() * Fp::random(&mut rng);
    let mut point = Eq::generator() * Fp::random(&mut rng);
    let projective: Vec<Eq> = (0..n)
        .map(|_| {
            point += step;
            point
        })
        .collect();
    let mut bases = vec![EqAffine::default(); n];
    Eq::batch_normalize(&projective, &mut bases);
    let scalars = (0..n).map(|_| Fp::random(&mut rng)).collect();
    (bases, scalars)
}

const MIB: f64 = (1 << 20) as f64;

/// Measures both crates at `2^log_n` points and checks the fork's extra memory.
fn measure(log_n: u32) {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let n = 1usize << log_n;
    let (bases, scalars) = inputs(n);
    let (fork, fork_sum) = extra_peak(|| halo2_proofs::arithmetic::best_multiexp(&scalars, &bases));
    let (published, published_sum) =
        extra_peak(|| halo2_published::arithmetic::best_multiexp(&scalars, &bases));
    assert_eq!(fork_sum, published_sum);
    eprintln!(
        "best_multiexp, 2^{log_n} full-width scalars: fork {:.1} MiB ({:.1} B/point), \
         published {:.1} MiB ({:.1} B/point), inputs {:.1} MiB",
        fork as f64 / MIB,
        fork as f64 / n as f64,
        published as f64 / MIB,
        published as f64 / n as f64,
        (n * (32 + 64)) as f64 / MIB,
    );
    // 96 bytes per point (each scalar's representation and its signed base), at most
    // `ENTRY_BATCH` = 2^16 digits of about 100 bytes per thread, and some slack. Before the
    // digits were batched the fork took 2.3–2.7 KiB per point (172 MiB at 2^16, 593 MiB at 2^18).
    let threads = rayon::current_num_threads();
    let bound = 128 * n + threads * (8 << 20);
    assert!(
        fork <= bound,
        "best_multiexp over 2^{log_n} points took {fork} bytes beyond its inputs (bound {bound})"
    );
}

#[test]
fn multiexp_memory_at_2_16_points() {
    measure(16);
}

#[test]
#[ignore = "a few seconds, but 2^18 points: run with --ignored"]
fn multiexp_memory_at_2_18_points() {
    measure(18);
}
