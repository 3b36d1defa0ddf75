//! The whole runtime of the binary, for x86_64 Linux: the entry point, two
//! raw system calls, the panic handler and the `mem*` functions the compiler
//! may call. Nothing here comes from libc or std.

use core::arch::global_asm;
use core::fmt::Write;
use core::panic::PanicInfo;

// The kernel enters `_start` with `rsp` 16-byte aligned and pointing at
// `argc` (which is not used). Clearing `rbp` ends frame-pointer chains;
// `call` pushes the return address, so `entry` starts with `rsp` at 8 mod 16
// as the System V ABI expects. `entry` never returns; `ud2` traps if it did.
global_asm!(
    ".globl _start",
    ".type _start, @function",
    "_start:",
    "xor ebp, ebp",
    "and rsp, -16",
    "call {entry}",
    "ud2",
    entry = sym entry,
);

/// Called from `_start`: runs [`crate::main`] and exits with its status.
extern "C" fn entry() -> ! {
    exit(crate::main())
}

#[path = "sys.rs"]
mod sys;
pub use sys::{exit, write_all};

/// Exit status of a panic, as for a Rust program with std.
pub const PANIC_EXIT: i32 = 101;

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    let mut line = crate::out::Line::<512>::new();
    // A full buffer truncates the message; it never fails.
    let _ = writeln!(line, "ensure_no_std panicked: {info}");
    write_all(2, line.as_bytes());
    exit(PANIC_EXIT)
}

/// Never called (every profile has `panic = "abort"`), but the prebuilt
/// `core` can still reference the symbol, and nothing else defines it here.
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}

// The `mem*` functions the compiler emits calls to. `#![no_builtins]` on the
// crate keeps LLVM from turning these very loops back into calls to
// themselves. Byte loops: slow, but only the link check uses them.

/// `memcpy(3)`.
///
/// # Safety
/// `dest` and `src` are valid for `n` bytes and do not overlap.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    let mut i = 0;
    while i < n {
        // SAFETY: `i < n`, and the caller guarantees `n` valid bytes at both.
        unsafe { *dest.add(i) = *src.add(i) };
        i += 1;
    }
    dest
}

/// `memmove(3)`.
///
/// # Safety
/// `dest` and `src` are valid for `n` bytes (they may overlap).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dest as usize) <= (src as usize) {
        let mut i = 0;
        while i < n {
            // SAFETY: `i < n`; copying upwards never overwrites a byte of
            // `src` before it is read when `dest <= src`.
            unsafe { *dest.add(i) = *src.add(i) };
            i += 1;
        }
    } else {
        let mut i = n;
        while i > 0 {
            i -= 1;
            // SAFETY: `i < n`; copying downwards is safe when `dest > src`.
            unsafe { *dest.add(i) = *src.add(i) };
        }
    }
    dest
}

/// `memset(3)`.
///
/// # Safety
/// `s` is valid for writing `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(s: *mut u8, c: i32, n: usize) -> *mut u8 {
    let mut i = 0;
    while i < n {
        // SAFETY: `i < n`, and the caller guarantees `n` writable bytes.
        unsafe { *s.add(i) = c as u8 };
        i += 1;
    }
    s
}

/// `memcmp(3)`.
///
/// # Safety
/// `a` and `b` are valid for reading `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: `i < n`, and the caller guarantees `n` readable bytes.
        let (x, y) = unsafe { (*a.add(i), *b.add(i)) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        i += 1;
    }
    0
}

/// `bcmp(3)`: zero if and only if the bytes are equal.
///
/// # Safety
/// `a` and `b` are valid for reading `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: the same contract as `memcmp`.
    unsafe { memcmp(a, b, n) }
}
