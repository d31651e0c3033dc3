//! The arrays a matrix reads: its own (`Vec`), or an array that a caller owns and lends for
//! the matrix's lifetime (a NumPy array under a Python fit), so that large inputs are read
//! in place instead of copied. Either way the matrix sees a `&[T]`.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// An immutable array: owned, or borrowed from memory that `owner` keeps alive.
pub struct Storage<T> {
    inner: Inner<T>,
}

enum Inner<T> {
    Owned(Vec<T>),
    Borrowed {
        ptr: *const T,
        len: usize,
        /// Whatever keeps `ptr..ptr+len` alive and unchanged; dropped with the last clone.
        _owner: Arc<dyn Send + Sync>,
    },
}

// SAFETY: a Storage only hands out shared `&[T]`; the borrowed memory is kept alive by an
// owner that is itself Send + Sync, and the `borrowed` contract forbids writes to it, so
// sending or sharing a Storage is as safe as sending or sharing a `Vec<T>` of `T: Sync`.
unsafe impl<T: Send + Sync> Send for Storage<T> {}
unsafe impl<T: Send + Sync> Sync for Storage<T> {}

impl<T> Storage<T> {
    /// `len` elements at `ptr`, read in place.
    ///
    /// # Safety
    /// `ptr` must be non-null, aligned for `T` and point to `len` initialized elements that
    /// stay alive and unmodified for as long as `owner` (or a clone of this Storage) lives.
    pub unsafe fn borrowed(ptr: *const T, len: usize, owner: Arc<dyn Send + Sync>) -> Self {
        assert!(
            !ptr.is_null() && ptr.is_aligned(),
            "a borrowed array needs an aligned pointer"
        );
        Storage {
            inner: Inner::Borrowed {
                ptr,
                len,
                _owner: owner,
            },
        }
    }

    /// Whether the elements live in someone else's memory (read in place, not copied).
    pub fn is_borrowed(&self) -> bool {
        matches!(self.inner, Inner::Borrowed { .. })
    }

    /// The elements, writable: only an owned array's (a loan is read-only).
    pub(crate) fn owned_mut(&mut self) -> Option<&mut [T]> {
        match &mut self.inner {
            Inner::Owned(v) => Some(v),
            Inner::Borrowed { .. } => None,
        }
    }
}

impl<T> Deref for Storage<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match &self.inner {
            Inner::Owned(v) => v,
            // SAFETY: the `borrowed` contract: valid, aligned, alive while `_owner` is.
            Inner::Borrowed { ptr, len, .. } => unsafe { std::slice::from_raw_parts(*ptr, *len) },
        }
    }
}

impl<T> From<Vec<T>> for Storage<T> {
    fn from(v: Vec<T>) -> Self {
        Storage {
            inner: Inner::Owned(v),
        }
    }
}

/// A clone of an owned array copies it; a clone of a borrowed one shares the loan.
impl<T: Clone> Clone for Storage<T> {
    fn clone(&self) -> Self {
        match &self.inner {
            Inner::Owned(v) => v.clone().into(),
            Inner::Borrowed { ptr, len, _owner } => Storage {
                inner: Inner::Borrowed {
                    ptr: *ptr,
                    len: *len,
                    _owner: Arc::clone(_owner),
                },
            },
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Storage<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: PartialEq> PartialEq for Storage<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

/// A CSR matrix's row pointers: 64-bit, or 32-bit as SciPy keeps them for fewer than 2³¹
/// nonzeros, so that its usual matrices are read in place whole (n_rows + 1 entries that
/// would otherwise be widened into a copy).
#[derive(Clone, Debug)]
pub enum RowPointers {
    Wide(Storage<usize>),
    Narrow(Storage<u32>),
}

impl RowPointers {
    /// Entries: rows + 1.
    pub fn len(&self) -> usize {
        match self {
            RowPointers::Wide(p) => p.len(),
            RowPointers::Narrow(p) => p.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[inline]
    pub fn get(&self, i: usize) -> usize {
        match self {
            RowPointers::Wide(p) => p[i],
            RowPointers::Narrow(p) => p[i] as usize,
        }
    }

    /// Hints the CPU to load row `i`'s pointers (a hint only, no effect on results).
    #[inline(always)]
    pub fn prefetch(&self, i: usize) {
        match self {
            RowPointers::Wide(p) => prefetch(p, i),
            RowPointers::Narrow(p) => prefetch(p, i),
        }
    }

    /// Positions of row `i`'s entries.
    #[inline]
    pub fn span(&self, i: usize) -> std::ops::Range<usize> {
        match self {
            RowPointers::Wide(p) => p[i]..p[i + 1],
            RowPointers::Narrow(p) => p[i] as usize..p[i + 1] as usize,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    pub fn is_borrowed(&self) -> bool {
        match self {
            RowPointers::Wide(p) => p.is_borrowed(),
            RowPointers::Narrow(p) => p.is_borrowed(),
        }
    }

    /// Where the entries are (to test what is read in place).
    pub fn address(&self) -> usize {
        match self {
            RowPointers::Wide(p) => p.as_ptr() as usize,
            RowPointers::Narrow(p) => p.as_ptr() as usize,
        }
    }
}

impl From<Storage<usize>> for RowPointers {
    fn from(p: Storage<usize>) -> Self {
        RowPointers::Wide(p)
    }
}

impl From<Storage<u32>> for RowPointers {
    fn from(p: Storage<u32>) -> Self {
        RowPointers::Narrow(p)
    }
}

impl From<Vec<usize>> for RowPointers {
    fn from(p: Vec<usize>) -> Self {
        RowPointers::Wide(p.into())
    }
}

/// Equal entries, whatever their width.
impl PartialEq for RowPointers {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

/// Hints the CPU to start loading `v[i]` into cache (nothing if `i` is out of range). A
/// hint only, with no effect on any result: for loops that visit rows in a random order
/// (dual coordinate descent), where each row's first touch is otherwise a cache miss.
#[inline(always)]
pub fn prefetch<T>(v: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(p) = v.get(i) {
        // SAFETY: a prefetch reads nothing observable and cannot fault; `p` is valid.
        #[allow(unused_unsafe)]
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>((p as *const T).cast::<i8>());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (v, i);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_borrowed_array_is_read_in_place_and_kept_alive_by_its_owner() {
        let owner = Arc::new(vec![1.5f32, -2.0, 3.25]);
        let ptr = owner.as_ptr();
        // SAFETY: the Vec is alive (held by the Arc given as owner) and never written.
        let s = unsafe { Storage::borrowed(ptr, 3, owner.clone()) };
        assert!(s.is_borrowed());
        assert_eq!(s.as_ptr(), ptr, "not copied");
        let t = s.clone();
        drop(s);
        drop(owner);
        // The clone's share of the loan keeps the memory alive.
        assert_eq!(&*t, &[1.5, -2.0, 3.25]);
        assert_eq!(t.as_ptr(), ptr);
        assert_eq!(t, Storage::from(vec![1.5f32, -2.0, 3.25]));
        assert!(!Storage::from(vec![1u32]).is_borrowed());
    }

    #[test]
    fn row_pointers_of_either_width_read_alike() {
        let wide = RowPointers::from(vec![0usize, 2, 2, 5]);
        let narrow = RowPointers::from(Storage::from(vec![0u32, 2, 2, 5]));
        assert_eq!(wide, narrow);
        assert_eq!((narrow.len(), narrow.get(3), narrow.span(2)), (4, 5, 2..5));
        assert_eq!(wide.iter().collect::<Vec<_>>(), vec![0, 2, 2, 5]);
        assert_ne!(wide, RowPointers::from(vec![0usize, 2, 5]));
    }
}
