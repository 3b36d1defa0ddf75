//! The whole runtime of the binary, for x86_64 Linux: the entry point (with
//! the command line), three raw system calls, the panic handler and the
//! `mem*` functions the compiler may call. Nothing here comes from libc or
//! std, and nothing here can panic.
//!
//! The `mem*` functions are string instructions in inline assembly (not
//! loops that LLVM could turn back into calls to themselves), so the crate
//! needs no `#![no_builtins]` and takes part in link-time optimisation like
//! any other.

use core::arch::{asm, global_asm};

// The kernel enters `_start` with `rsp` 16-byte aligned and pointing at
// `argc`, followed by the `argv` pointers. `rdi` (the first argument of
// `entry`) gets that address. Clearing `rbp` ends frame-pointer chains;
// `call` pushes the return address, so `entry` starts with `rsp` at 8 mod 16
// as the System V ABI expects. `entry` never returns; `ud2` traps if it did.
global_asm!(
    ".globl _start",
    ".type _start, @function",
    "_start:",
    "xor ebp, ebp",
    "mov rdi, rsp",
    "and rsp, -16",
    "call {entry}",
    "ud2",
    entry = sym entry,
);

/// The command line: at most this many arguments are looked at.
pub const MAX_ARGS: usize = 8;

/// Called from `_start` with the initial stack pointer: runs
/// [`crate::main`] with the arguments and exits with its status.
///
/// # Safety
/// `sp` is the stack pointer the kernel started the process with.
unsafe extern "C" fn entry(sp: *const usize) -> ! {
    let mut args: [&[u8]; MAX_ARGS] = [&[]; MAX_ARGS];
    // SAFETY: at `sp` the kernel put `argc` and then `argc` pointers to
    // NUL-terminated strings (then a null pointer); they live, unchanged,
    // as long as the process.
    let argc = unsafe { *sp };
    for (i, arg) in args.iter_mut().enumerate().take(argc) {
        // SAFETY: `i < argc`, so this is one of the `argv` pointers.
        let p = unsafe { *sp.add(1 + i) } as *const u8;
        let mut n = 0;
        // SAFETY: `p` points to a NUL-terminated string; reading stops at
        // the NUL. (Volatile, so that LLVM cannot make the loop `strlen`.)
        while unsafe { p.add(n).read_volatile() } != 0 {
            n += 1;
        }
        // SAFETY: the `n` bytes before the NUL are readable and never
        // written (the process does not touch its initial stack).
        *arg = unsafe { core::slice::from_raw_parts(p, n) };
    }
    let argc = argc.min(MAX_ARGS);
    exit(crate::main(args.get(..argc).unwrap_or(&[])))
}

/// `read(2)` until `buf` is full or end of file; the number of bytes read,
/// or `None` on an error.
pub fn read_all(fd: i32, buf: &mut [u8]) -> Option<usize> {
    let mut at = 0;
    loop {
        let Some(rest) = buf.get_mut(at..) else { return Some(at) };
        if rest.is_empty() {
            return Some(at);
        }
        let ret: isize;
        // SAFETY: syscall 0 is `read(fd, buf, count)`; `buf` points to
        // `count` writable bytes borrowed for the duration of the call. The
        // kernel clobbers only `rax` (the result), `rcx` and `r11`, all
        // declared, and writes at most `count` bytes into `buf`.
        unsafe {
            asm!(
                "syscall",
                inlateout("rax") 0isize => ret,
                in("rdi") fd as isize,
                in("rsi") rest.as_mut_ptr(),
                in("rdx") rest.len(),
                lateout("rcx") _,
                lateout("r11") _,
                options(nostack),
            );
        }
        match ret {
            0 => return Some(at),
            n if n < 0 => return None,
            n => at += n as usize,
        }
    }
}

#[path = "../../ensure_no_std/src/sys.rs"]
mod sys;
pub use sys::{exit, write_all};

#[cfg(not(feature = "locate"))]
unsafe extern "C" {
    /// Defined nowhere, on purpose: the panic handler calls it, so the
    /// binary links only if no panic is reachable (the optimiser removed
    /// the handler with its last caller). An "undefined reference" to this
    /// symbol means that a panic path survived: run `tools/no_panic.sh`,
    /// which then lists the panic sites.
    fn metaplasticity_panic_is_reachable() -> !;
}

/// The proof: unreachable, or the link fails.
#[cfg(not(feature = "locate"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: never runs: if a call to it survived optimisation, the link
    // fails (the function does not exist).
    unsafe { metaplasticity_panic_is_reachable() }
}

/// Exit status of a panic in the `locate` build, as for a Rust program with
/// std.
#[cfg(feature = "locate")]
pub const PANIC_EXIT: i32 = 101;

/// The `locate` build: a real handler, so that the binary links and its
/// panic sites can be listed (it says nothing more, to add no code that
/// could panic itself).
#[cfg(feature = "locate")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    write_all(2, b"no_panic (locate build) panicked\n");
    exit(PANIC_EXIT)
}

/// Never called (every profile has `panic = "abort"`), but the prebuilt
/// `core` can still reference the symbol, and nothing else defines it here.
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}

// The `mem*` functions the compiler emits calls to, as x86 string
// instructions (the direction flag is clear on entry to any function, as the
// System V ABI requires, and restored where it is set).

/// `memcpy(3)`.
///
/// # Safety
/// `dest` and `src` are valid for `n` bytes and do not overlap.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: `rep movsb` copies `rcx = n` bytes from `rsi` to `rdi`
    // upwards; the caller guarantees both ranges.
    unsafe {
        asm!(
            "rep movsb",
            inout("rcx") n => _,
            inout("rdi") dest => _,
            inout("rsi") src => _,
            options(nostack, preserves_flags),
        );
    }
    dest
}

/// `memmove(3)`.
///
/// # Safety
/// `dest` and `src` are valid for `n` bytes (they may overlap).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dest as usize) <= (src as usize) || (dest as usize) >= (src as usize).wrapping_add(n) {
        // SAFETY: copying upwards never overwrites a byte of `src` before
        // it is read when `dest <= src` or the ranges are disjoint.
        unsafe { memcpy(dest, src, n) }
    } else {
        // SAFETY: `dest > src` and they overlap: copy downwards from the
        // last byte (`std` sets the direction flag, `cld` clears it again);
        // `n >= 1` here, so the last byte is `n - 1`.
        unsafe {
            asm!(
                "std",
                "rep movsb",
                "cld",
                inout("rcx") n => _,
                inout("rdi") dest.add(n - 1) => _,
                inout("rsi") src.add(n - 1) => _,
                options(nostack),
            );
        }
        dest
    }
}

/// `memset(3)`.
///
/// # Safety
/// `s` is valid for writing `n` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn memset(s: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: `rep stosb` stores `al` into `rcx = n` bytes from `rdi`
    // upwards; the caller guarantees the range.
    unsafe {
        asm!(
            "rep stosb",
            inout("rcx") n => _,
            inout("rdi") s => _,
            in("al") c as u8,
            options(nostack, preserves_flags),
        );
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
        // (Volatile, so that LLVM cannot recognise the loop as `memcmp`.)
        let (x, y) = unsafe { (a.add(i).read_volatile(), b.add(i).read_volatile()) };
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
