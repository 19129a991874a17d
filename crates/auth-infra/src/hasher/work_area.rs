//! A thread's argon2 memory: kept while busy, returned to the OS when idle.

use argon2::Block;
use argon2::password_hash::Error as PhcError;

/// Capacity of a work area, in 1 KiB blocks: 33 MiB, while the default
/// parameters use only the first 19 MiB (19456 blocks).
///
/// Why more than needed: with glibc, the first `free` of an mmapped chunk
/// raises the dynamic mmap threshold to that chunk's size (and the trim
/// threshold to twice that), as long as it is at most
/// `DEFAULT_MMAP_THRESHOLD_MAX` (32 MiB on 64-bit; see mallopt(3),
/// `M_MMAP_THRESHOLD`). After one freed 19 MiB work area, every later one
/// comes from the thread's arena and, once freed, stays there (below the
/// trim threshold): ~19 MiB of idle RSS per thread, forever. An allocation
/// above 32 MiB is above any threshold glibc can reach, so it is always its
/// own `mmap` and freeing it `munmap`s it. Only the blocks argon2 uses are
/// ever written, so only those pages become resident.
pub(super) const WORK_AREA_CAPACITY: usize = 33 * 1024;

/// A thread's reusable argon2 memory, allocated on first use and dropped
/// after [`IDLE_RELEASE`] without work.
#[derive(Default)]
pub(super) struct WorkArea(pub(super) Option<Vec<Block>>);

impl WorkArea {
    pub(super) fn is_held(&self) -> bool {
        self.0.is_some()
    }

    pub(super) fn release(&mut self) {
        self.0 = None;
    }

    /// The first `count` blocks, allocating or growing as needed. Their
    /// contents do not matter: argon2 writes every block before reading it.
    pub(super) fn blocks(&mut self, count: usize) -> Result<&mut [Block], PhcError> {
        let blocks = self.0.get_or_insert_with(Vec::new);
        if blocks.capacity() == 0 {
            blocks
                .try_reserve_exact(count.max(WORK_AREA_CAPACITY))
                .map_err(|_| PhcError::OutOfMemory)?;
        }
        if blocks.len() < count {
            blocks
                .try_reserve_exact(count - blocks.len())
                .map_err(|_| PhcError::OutOfMemory)?;
            blocks.resize(count, Block::new());
        }
        blocks.get_mut(..count).ok_or(PhcError::OutOfMemory)
    }
}
