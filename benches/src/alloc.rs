//! A counting global allocator: `System`, plus how many allocations each thread has made.
//!
//! A test or bench binary installs it with
//! `#[global_allocator] static A: CountingAlloc = CountingAlloc;` and then measures a closure
//! with [`count`]. Counts are kept per thread, so other tests running in parallel (libtest runs
//! each `#[test]` on its own thread) do not disturb a measurement.
//!
//! This is the only module of the workspace allowed `unsafe` (see the `[lints]` comment in
//! `benches/Cargo.toml`): implementing `GlobalAlloc` requires it.

#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// `std::alloc::System` that counts `alloc`, `alloc_zeroed` and `realloc` calls.
#[derive(Clone, Copy, Debug, Default)]
pub struct CountingAlloc;

static TOTAL: AtomicU64 = AtomicU64::new(0);

thread_local! {
    // `const`-initialised and without a destructor: reading it never allocates and never
    // registers a TLS destructor, so the allocator cannot re-enter itself.
    static THREAD: Cell<u64> = const { Cell::new(0) };
}

fn record() {
    TOTAL.fetch_add(1, Ordering::Relaxed);
    // `try_with` fails only while the thread is being torn down; such allocations go uncounted.
    let _ = THREAD.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so `System`'s
// guarantees carry over. The bookkeeping touches only an atomic and a const-initialised
// thread-local `Cell`, neither of which allocates or unwinds.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record();
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        record();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from `System`, with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record();
        // SAFETY: `ptr` came from `System` with `layout`; the caller upholds the rest.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations (including reallocations) made by the current thread so far.
pub fn thread_allocations() -> u64 {
    THREAD.try_with(Cell::get).unwrap_or(0)
}

/// Allocations made by all threads so far.
pub fn total_allocations() -> u64 {
    TOTAL.load(Ordering::Relaxed)
}

/// Runs `f` and returns its result with the number of allocations the current thread made
/// meanwhile. Only meaningful in a binary that installed [`CountingAlloc`]; see [`is_installed`].
pub fn count<R>(f: impl FnOnce() -> R) -> (R, u64) {
    let before = thread_allocations();
    let r = f();
    (r, thread_allocations() - before)
}

/// Whether [`CountingAlloc`] is this binary's global allocator (an allocation is seen).
pub fn is_installed() -> bool {
    let ((), n) = count(|| drop(std::hint::black_box(Box::new(0u64))));
    n > 0
}
