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
}
